//! Dumps one free-running trajectory of a classic-control env through the plugin API, for
//! `bench/check_classic.py` (the torch twins of `bench/torch_classic.py` must reproduce it).
//!
//!     cargo run --release -p rlhost-plugin-classic-control --example trajectory -- \
//!         ENV NUM_ENVS STEPS SEED OUT.npz [ENV_CONFIG_JSON]
//!
//! Actions are `1.5·N(0, 1)` from libtorch's generator seeded with SEED plus `2·sign` of the last
//! observation column (a velocity in every env), so they reach far beyond [−1, 1] (the clamps)
//! and pump energy in (episodes that reach the goal). The `.npz` holds `actions` (T, N, A) float32, `obs0` and
//! `obs` (T, N, ·) float32 (after each step, auto-reset included), `states0`/`states` when the
//! env emits them, `rewards` (T, N) float32 and `terminated`, `truncated` (T, N) uint8.
use rlhost_classic_control::build_env;
use rlhost_sdk::api::{ActionSpace, DlDevice, EnvArgs};
use rlhost_sdk::EnvHandle;
use tch::{Kind, Tensor};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: trajectory ENV NUM_ENVS STEPS SEED OUT.npz [ENV_CONFIG_JSON]");
        std::process::exit(2);
    }
    let (name, out_path) = (&args[1], &args[5]);
    let parse = |i: usize| args[i].parse::<u64>().unwrap_or_else(|e| panic!("argument {i} ({}): {e}", args[i]));
    let (num_envs, steps, seed) = (parse(2) as u32, parse(3) as i64, parse(4));
    let config = args.get(6).cloned().unwrap_or_else(|| "{}".into());
    let env_args = EnvArgs {
        config_json: config.into(),
        num_envs,
        seed,
        device: DlDevice::CPU,
        config_dir: Default::default(),
        verbose: false,
    };
    let _guard = tch::no_grad_guard();
    let mut env = EnvHandle::new(build_env(name, &env_args).unwrap_or_else(|e| panic!("{}", e.message))).unwrap();
    let buffers = env.step_buffers().unwrap();
    env.reset(buffers.observations()).unwrap();
    let groups = buffers.observations().len();
    let initial: Vec<Tensor> = buffers.observations().iter().map(|t| t.copy()).collect();
    tch::manual_seed(seed as i64);
    let action_dim = match env.info().action_space() {
        Some(ActionSpace::Box { low, .. }) => low.len() as i64,
        _ => panic!("{name}: expected a Box action space"),
    };
    let (mut actions, mut obs, mut states) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rewards, mut terminated, mut truncated) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..steps {
        // Noise plus a push along the last observation (a velocity in every env): it pumps
        // energy in, so episodes also end at the goal (MountainCar, Acrobot) or fall (CartPole).
        let noise = Tensor::randn([num_envs as i64, action_dim], (Kind::Float, tch::Device::Cpu)) * 1.5;
        let a = noise + buffers.obs(0).narrow(1, -1, 1).sign() * 2.0;
        env.step(&a, &buffers).unwrap();
        actions.push(a);
        obs.push(buffers.obs(0).copy());
        if groups > 1 {
            states.push(buffers.obs(1).copy());
        }
        rewards.push(buffers.rewards().copy());
        terminated.push(buffers.terminated().to_kind(Kind::Uint8));
        truncated.push(buffers.truncated().to_kind(Kind::Uint8));
    }
    let mut named = vec![
        ("actions".to_string(), Tensor::stack(&actions, 0)),
        ("obs0".to_string(), initial[0].shallow_clone()),
        ("obs".to_string(), Tensor::stack(&obs, 0)),
        ("rewards".to_string(), Tensor::stack(&rewards, 0)),
        ("terminated".to_string(), Tensor::stack(&terminated, 0)),
        ("truncated".to_string(), Tensor::stack(&truncated, 0)),
    ];
    if groups > 1 {
        named.push(("states0".into(), initial[1].shallow_clone()));
        named.push(("states".into(), Tensor::stack(&states, 0)));
    }
    Tensor::write_npz(&named, out_path).unwrap();
}
