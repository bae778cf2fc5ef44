//! Helpers shared by the integration tests.
#![allow(dead_code)]
use rlhost_mujoco::{make_env, MujocoEnv};
use rlhost_sdk::api::{DlDevice, EnvArgs};
use std::collections::HashMap;
use tch::{Kind, Tensor};

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

/// `n` CPU environments of `name`.
pub fn env(name: &str, n: u32, seed: u64, config: &str) -> MujocoEnv {
    make_env(name, &args(n, seed, config)).unwrap_or_else(|e| panic!("{name}: {}", e.message))
}

/// The arrays of `reference/<name>.npz` (written by bench/mujoco/make_reference.py).
pub fn reference(name: &str) -> HashMap<String, Tensor> {
    let path = format!("{}/reference/{name}.npz", env!("CARGO_MANIFEST_DIR"));
    Tensor::read_npz(&path).unwrap_or_else(|e| panic!("{path}: {e}")).into_iter().collect()
}

/// The values of a tensor as float64, row-major.
pub fn f64s(t: &Tensor) -> Vec<f64> {
    Vec::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

/// The values of a tensor as float32, row-major.
pub fn f32s(t: &Tensor) -> Vec<f32> {
    Vec::try_from(t.to_kind(Kind::Float).flatten(0, -1)).unwrap()
}

/// The largest absolute difference of two equally long slices.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// A deterministic action in [-1, 1] for environment `i`, step `t`, actuator `k`.
pub fn action(i: usize, t: usize, k: usize) -> f32 {
    ((i as f64) * 1.7 + (t as f64) * 0.61 + (k as f64) * 2.3).sin() as f32
}

/// Flat (n, nu) actions from [`action`].
pub fn actions(n: usize, nu: usize, t: usize) -> Vec<f32> {
    (0..n).flat_map(|i| (0..nu).map(move |k| action(i, t, k))).collect()
}
