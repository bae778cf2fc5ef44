//! Bad input through the ABI-stable objects: `build_env` boxes the env with `vec_env_box` and
//! the tests drive it through `rlhost_sdk::EnvHandle`, as the host and algorithms do.
mod common;

use common::{actions, args};
use rlhost_classic_control::{build_env, KNOWN_ENVS};
use rlhost_sdk::{EnvHandle, ErrorKind, PluginError};
use tch::{Device, Kind, Tensor};

fn handle(name: &str, n: u32, config: &str) -> Result<EnvHandle, PluginError> {
    EnvHandle::new(build_env(name, &args(n, 1, config))?)
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let err = handle("Pendulum-v0", 4, "{}").err().unwrap();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message.contains("'Pendulum-v0'"), "{}", err.message);
    for known in KNOWN_ENVS {
        assert!(err.message.contains(known), "{} should list {known}", err.message);
    }
}

#[test]
fn unknown_env_config_keys_are_left_to_the_hosts_warning() {
    // Isaac Lab writes num_envs into env_config; typos are the host's to warn about (it knows
    // every builder's declared keys), so the environment builds.
    let env =
        handle("CartPoleContinuous", 4, r#"{"max_episode_steps": 9, "num_envs": 4096, "episode_length": 3}"#).unwrap();
    assert_eq!(env.info().max_episode_steps, 9);
    let err = handle("CartPoleContinuous", 4, r#"{"max_episode_steps": "nine"}"#).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message.contains("max_episode_steps"), "{}", err.message);
}

#[test]
fn every_known_environment_builds_and_steps_through_the_abi() {
    for name in KNOWN_ENVS {
        let mut env = handle(name, 5, "{}").unwrap();
        let out = env.step_buffers().unwrap();
        env.reset(out.observations()).unwrap();
        for t in 0..3 {
            env.step(&actions(5, t), &out).unwrap();
        }
        let expected: Vec<i64> = std::iter::once(5).chain(env.info().observations[0].shape.iter().copied()).collect();
        assert_eq!(out.obs(0).size(), expected, "{name}");
        assert_eq!(out.rewards().isfinite().all().int64_value(&[]), 1, "{name}");
    }
}

#[test]
fn wrong_action_shape_and_dtype_name_expected_and_received() {
    let mut env = handle("Pendulum-v1", 4, "{}").unwrap();
    let out = env.step_buffers().unwrap();
    let err = env.step(&Tensor::zeros([4, 2], (Kind::Float, Device::Cpu)), &out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert!(err.message.contains("expected shape [4, 1], got [4, 2]"), "{}", err.message);
    let err = env.step(&Tensor::zeros([4, 1], (Kind::Double, Device::Cpu)), &out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert!(err.message.contains("expected dtype float32, got float64"), "{}", err.message);
    if tch::Cuda::is_available() {
        let err = env.step(&Tensor::zeros([4, 1], (Kind::Float, Device::Cuda(0))), &out).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Device);
        assert!(err.message.contains("expected device cpu, got cuda:0"), "{}", err.message);
    }
}

#[test]
fn nan_action_is_refused_naming_the_env_and_leaves_the_state_alone() {
    let mut env = handle("MountainCarContinuous-v0", 4, "{}").unwrap();
    let mut twin = handle("MountainCarContinuous-v0", 4, "{}").unwrap();
    let (out, twin_out) = (env.step_buffers().unwrap(), twin.step_buffers().unwrap());
    env.reset(out.observations()).unwrap();
    twin.reset(twin_out.observations()).unwrap();
    let bad = actions(4, 0);
    let _ = bad.get(2).fill_(f64::NAN);
    let err = env.step(&bad, &out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NonFinite);
    assert!(err.message.contains("NaN") && err.message.contains("env 2"), "{}", err.message);
    let _ = bad.get(2).fill_(f64::INFINITY);
    let err = env.step(&bad, &out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NonFinite);
    assert!(err.message.contains("env 2"), "{}", err.message);
    // Nothing was stepped: both batches continue identically.
    for t in 1..20 {
        env.step(&actions(4, t), &out).unwrap();
        twin.step(&actions(4, t), &twin_out).unwrap();
        assert!(out.obs(0).equal(twin_out.obs(0)), "step {t}");
    }
}

#[test]
fn missing_cuda_device_is_a_device_error() {
    if tch::Cuda::device_count() > 3 {
        return;
    }
    let mut a = args(2, 0, "{}");
    a.device = rlhost_sdk::api::DlDevice::cuda(3);
    let err = build_env("Pendulum-v1", &a).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Device);
    assert!(err.message.contains("cuda:3"), "{}", err.message);
}
