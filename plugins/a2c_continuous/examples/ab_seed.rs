//! Same seed, same randomness as rl_games 1.6.5: builds the model after `manual_seed(seed)` and
//! plays the first rollout with rlhost's own sampling, then compares the initial weights and the
//! rollout (observations, actions, μ, values, neg-log-probs, returns) with rl_games'
//! (bench/ab/dump_rlgames.py, epoch 1, env rng rlhost), and names the first step that differs.
//!
//! `cargo run --release -p rlhost-plugin-a2c-continuous --example ab_seed -- /tmp/ab/params.json /tmp/ab/ep1.npz 42`
use abi_stable::std_types::RString;
use rlhost_a2c_continuous::config::Params;
use rlhost_a2c_continuous::rollout::Rollout;
use rlhost_model::policy::Model;
use rlhost_sdk::api::{DlDevice, EnvArgs};
use rlhost_sdk::EnvHandle;
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    let b = b.to_kind(Kind::Double).reshape(a.size());
    (a.to_kind(Kind::Double) - b).abs().max().double_value(&[])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let params_json = std::fs::read_to_string(&args[1]).unwrap();
    let d: HashMap<String, Tensor> = Tensor::read_npz(&args[2]).unwrap().into_iter().collect();
    let seed: u64 = args[3].parse().unwrap();
    let g = |k: &str| d.get(k).unwrap_or_else(|| panic!("missing {k}")).shallow_clone();
    // The A/B replays rl_games' own ops: its arithmetic, whatever the file says.
    let mut raw: serde_json::Value = serde_json::from_str(&params_json).unwrap();
    raw["config"]["arithmetic"] = "rl_games".into();
    let params = Params::parse(&raw.to_string(), &mut |_| {}).unwrap();
    let cfg = params.config.clone();
    let (n, h) = (cfg.num_actors, cfg.horizon_length);
    tch::set_num_threads(2);
    tch::manual_seed(seed as i64);
    let model = Model::new(&params.network, &[3], 1, true, true, Device::Cpu);
    for (name, p) in model.net.named_parameters() {
        println!("{name:36} max |rlhost - rl_games| {:.3e}", max_abs(&p, &g(&format!("pre.{name}"))));
    }
    let env_cfg = serde_json::to_string(&params.raw["config"]["env_config"]).unwrap();
    let env = rlhost_classic_control::build_env(
        "Pendulum-v1",
        &EnvArgs {
            config_json: RString::from(env_cfg),
            num_envs: n as u32,
            seed,
            device: DlDevice::CPU,
            config_dir: Default::default(),
            verbose: false,
        },
    )
    .unwrap();
    let mut env = EnvHandle::new(env).unwrap();
    let mut rollout = Rollout::new(&env, h, Device::Cpu, false).unwrap();
    rollout.reset(&mut env).unwrap();
    rollout.play(&mut env, &model, None, &cfg).unwrap();
    // rl_games rows are env-major (row = env·H + t); rlhost's buffers are (H, N, ..).
    let rg_actions = g("raw.actions").reshape([n, h, -1]).transpose(0, 1);
    let rg_values = g("raw.values").reshape([n, h]).transpose(0, 1);
    for t in [0, 1, 15, 31] {
        println!("actions t={t:2} max |diff| {:.3e}", max_abs(&rollout.buf.actions.get(t), &rg_actions.get(t)));
    }
    println!("actions all   max |diff| {:.3e}", max_abs(&rollout.buf.actions, &rg_actions));
    println!("values  all   max |diff| {:.3e}", max_abs(&rollout.buf.values, &rg_values));
    let rg = |k: &str| {
        let t = g(k);
        let tail: Vec<i64> = t.size()[1..].to_vec();
        let mut shape = vec![n, h];
        shape.extend(&tail);
        t.reshape(shape.as_slice()).transpose(0, 1)
    };
    println!("obs     all   max |diff| {:.3e}", max_abs(&rollout.buf.obs, &rg("raw.obses")));
    println!("mus     all   max |diff| {:.3e}", max_abs(&rollout.buf.mus, &rg("raw.mus")));
    println!("neglogp all   max |diff| {:.3e}", max_abs(&rollout.buf.neglogp, &rg("raw.neglogpacs")));
    let returns = &rollout.advantages + &rollout.buf.values;
    println!("returns all   max |diff| {:.3e}", max_abs(&returns, &rg("raw.returns").squeeze_dim(-1)));
    for t in 0..h {
        let d = max_abs(&rollout.buf.obs.get(t), &rg("raw.obses").get(t));
        let a = max_abs(&rollout.buf.actions.get(t), &rg_actions.get(t));
        if d > 0.0 || a > 0.0 {
            println!("first difference at step {t}: obs {d:.3e} actions {a:.3e}");
            break;
        }
    }
}
