//! Gymnasium's `Pendulum-v1` through `gym:Pendulum-v1` against rlhost's built-in `Pendulum-v1`:
//! from the same start states and for the same actions, the same observations and rewards.
use rlhost_classic_control::{EnvConfig, PendulumEnv};
use rlhost_python_bridge::pyo3::prelude::*;
use rlhost_python_bridge::tensor_from_py;
use rlhost_python_env::GymEnv;
use rlhost_sdk::api::EnvArgs;
use rlhost_sdk::tensor::dl_device;
use rlhost_sdk::{NativeVecEnv, StepBuffers};
use tch::{Device, Kind, Tensor};

const N: i64 = 8;

fn gym_args() -> EnvArgs {
    EnvArgs {
        config_json: "{}".into(),
        num_envs: N as u32,
        seed: 3,
        device: dl_device(Device::Cpu),
        config_dir: "".into(),
        verbose: false,
    }
}

/// The (N, 2) float64 `[theta, theta_dot]` of every Gymnasium sub-environment.
fn gym_states(env: &GymEnv) -> Tensor {
    Python::attach(|py| {
        let states = env.vector_env().bind(py).call_method1("get_attr", ("state",)).unwrap();
        let stacked = py.import("numpy").unwrap().call_method1("stack", (states,)).unwrap();
        tensor_from_py(&stacked).unwrap().copy()
    })
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double)).abs().max().double_value(&[])
}

#[test]
fn gym_pendulum_matches_the_builtin_for_the_same_states_and_actions() {
    tch::manual_seed(11);
    let mut gym = GymEnv::new("gym:Pendulum-v1", &gym_args()).unwrap();
    let info = gym.info();
    assert_eq!(info.max_episode_steps, 200);
    assert_eq!(info.box_bounds(), Some((&[-2.0f32][..], &[2.0f32][..])));
    let mut builtin = PendulumEnv::new(N as u32, 0, Device::Cpu, &EnvConfig::default()).unwrap();

    let mut gym_obs = vec![Tensor::zeros([N, 3], (Kind::Float, Device::Cpu))];
    let mut builtin_obs = vec![Tensor::zeros([N, 3], (Kind::Float, Device::Cpu))];
    gym.reset(&mut gym_obs).unwrap();
    builtin.reset(&mut builtin_obs).unwrap();
    builtin.set_state_f64(&gym_states(&gym)).unwrap();
    assert!(max_diff(&gym_obs[0], &builtin.observation()) < 1e-6);

    let mut gym_out = StepBuffers::new(&info, Device::Cpu).unwrap();
    let mut builtin_out = StepBuffers::new(&builtin.info(), Device::Cpu).unwrap();
    let (mut worst_obs, mut worst_reward) = (0f64, 0f64);
    for step in 1..=200 {
        // Actions beyond the bounds too: both clip them to ±2.
        let actions = Tensor::rand([N, 1], (Kind::Float, Device::Cpu)) * 6.0 - 3.0;
        gym.step(&actions, &mut gym_out).unwrap();
        builtin.step(&actions, &mut builtin_out).unwrap();
        let truncated = step == 200;
        for out in [&gym_out, &builtin_out] {
            assert_eq!(out.truncated().all().int64_value(&[]) == 1, truncated, "step {step}");
            assert_eq!(out.terminated().any().int64_value(&[]), 0, "step {step}");
        }
        worst_reward = worst_reward.max(max_diff(gym_out.rewards(), builtin_out.rewards()));
        if !truncated {
            worst_obs = worst_obs.max(max_diff(gym_out.obs(0), builtin_out.obs(0)));
        }
    }
    println!("gym:Pendulum-v1 vs built-in over 200 steps x {N} envs: max |obs diff| {worst_obs:.3e}, max |reward diff| {worst_reward:.3e}");
    assert!(worst_obs < 1e-5, "observations differ by {worst_obs}");
    assert!(worst_reward < 1e-4, "rewards differ by {worst_reward}");
}

#[test]
fn gym_envs_reset_with_their_own_seeds_and_refuse_cuda() {
    let mut a = GymEnv::new("gym:Pendulum-v1", &gym_args()).unwrap();
    let mut b = GymEnv::new("gym:Pendulum-v1", &gym_args()).unwrap();
    let mut obs = [
        vec![Tensor::zeros([N, 3], (Kind::Float, Device::Cpu))],
        vec![Tensor::zeros([N, 3], (Kind::Float, Device::Cpu))],
    ];
    a.reset(&mut obs[0]).unwrap();
    b.reset(&mut obs[1]).unwrap();
    assert_eq!(max_diff(&obs[0][0], &obs[1][0]), 0.0, "the same seed gives the same start");
    let distinct = obs[0][0].select(0, 0).ne_tensor(&obs[0][0].select(0, 1)).any().int64_value(&[]);
    assert_eq!(distinct, 1, "env i is seeded with seed + i");

    let mut cuda = gym_args();
    cuda.device = dl_device(Device::Cuda(0));
    let err = GymEnv::new("gym:Pendulum-v1", &cuda).err().unwrap();
    assert!(err.message.contains("numpy arrays on the CPU"), "{}", err.message);
    let err = GymEnv::new("gym:NoSuchEnv-v0", &gym_args()).err().unwrap();
    assert!(err.message.starts_with("env 'gym:NoSuchEnv-v0' gymnasium.make_vec: NameNotFound"), "{}", err.message);
}
