//! Helpers shared by the integration tests.
#![allow(dead_code)]
use rlhost_classic_control::{ClassicEnv, Dynamics, EnvConfig};
use rlhost_sdk::api::{DlDevice, EnvArgs};
use rlhost_sdk::{NativeVecEnv, StepBuffers};
use tch::{Device, Kind, Tensor};

/// Builder arguments for `n` CPU environments.
pub fn args(n: u32, seed: u64, config: &str) -> EnvArgs {
    EnvArgs {
        config_json: config.into(),
        num_envs: n,
        seed,
        device: DlDevice::CPU,
        config_dir: Default::default(),
        verbose: false,
    }
}

/// A CPU environment batch with an optional step-limit override.
pub fn env<D: Dynamics>(n: u32, seed: u64, max_steps: Option<u32>) -> ClassicEnv<D> {
    let config =
        EnvConfig { max_episode_steps: max_steps, init_at_random_ep_len: false, states: false, channels_first: false };
    ClassicEnv::<D>::new(n, seed, Device::Cpu, &config).unwrap()
}

/// Step buffers for `env`.
pub fn buffers<D: Dynamics>(env: &ClassicEnv<D>) -> StepBuffers {
    StepBuffers::new(&env.info(), Device::Cpu).unwrap()
}

/// A deterministic action for environment `i` at step `t`, independent of N, in [-1.5, 1.5].
pub fn action(i: i64, t: i64) -> f32 {
    (1.5 * ((i as f64) * 1.7 + (t as f64) * 0.61).sin()) as f32
}

/// (n, 1) actions from [`action`].
pub fn actions(n: i64, t: i64) -> Tensor {
    let v: Vec<f32> = (0..n).map(|i| action(i, t)).collect();
    Tensor::from_slice(&v).view([n, 1])
}

/// Largest absolute difference, as float64.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double)).abs().max().double_value(&[])
}

/// Converts a bool or int tensor to a `Vec<bool>`.
pub fn bools(t: &Tensor) -> Vec<bool> {
    Vec::<i64>::try_from(t.to_kind(Kind::Int64)).unwrap().into_iter().map(|v| v != 0).collect()
}
