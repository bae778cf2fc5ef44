//! Issue 18's algorithm-side findings through the real `rlhost` binary and the shipped plugins:
//! nonsense PPO values (finding 5), a tampered epoch count (finding 3), NaN rewards in `play` and
//! non-finite checkpoint weights (finding 6). Each ends with an exit code (never a signal) and one
//! line naming the thing at fault.
mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A folder with the shipped plugins and the toy fixture (whose `ToyEnv` pays the action as reward).
fn plugins() -> tempfile::TempDir {
    let dir = plugin_dir(&[
        built_library("rlhost-plugin-classic-control", "rlhost_classic_control"),
        built_library("rlhost-plugin-a2c-continuous", "rlhost_a2c_continuous"),
        built_library("rlhost-plugin-ppo-player", "rlhost_ppo_player"),
        fixture("toy"),
    ]);
    std::fs::write(dir.path().join("toy_ppo.yaml"), TOY_PPO).unwrap();
    dir
}

/// a2c_continuous on the toy fixture's `ToyEnv` (3 envs, obs = step count, reward = action).
const TOY_PPO: &str = r#"
params:
  seed: 7
  algo: {name: a2c_continuous}
  model: {name: continuous_a2c_logstd}
  network:
    name: actor_critic
    separate: False
    space: {continuous: {mu_activation: None, sigma_activation: None, fixed_sigma: True,
            mu_init: {name: default}, sigma_init: {name: const_initializer, val: 0}}}
    mlp: {units: [2], activation: elu, initializer: {name: default}}
  config:
    name: toy
    env_name: ToyEnv
    device: cpu
    reward_shaper: {}
    normalize_advantage: True
    normalize_input: False
    gamma: 0.99
    tau: 0.95
    learning_rate: 3e-4
    lr_schedule: null
    grad_norm: 1.0
    entropy_coef: 0.0
    e_clip: 0.2
    clip_value: False
    num_actors: 3
    horizon_length: 4
    minibatch_size: 12
    mini_epochs: 1
    critic_coef: 1
    max_epochs: 1
    player: {games_num: 2}
"#;

fn pendulum() -> String {
    workspace_root().join("configs/pendulum_ppo.yaml").to_string_lossy().into_owned()
}

/// Runs `rlhost` in `dir` with a scan cache of its own (see [`rlhost_in`]).
fn rlhost(dir: &Path, args: &[&str]) -> (i32, String, String) {
    rlhost_in(dir, args)
}

/// The only `last_*` checkpoint in `runs/<experiment>/nn`.
fn checkpoint(dir: &Path, experiment: &str) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("runs").join(experiment).join("nn"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("last_"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// A safetensors file as (header JSON, tensor data), edited in place and written back.
struct Safetensors {
    header: serde_json::Map<String, Value>,
    data: Vec<u8>,
}

impl Safetensors {
    fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        Safetensors { header: header.as_object().unwrap().clone(), data: bytes[8 + n..].to_vec() }
    }

    fn set_meta(&mut self, key: &str, value: &str) {
        self.header["__metadata__"][key] = value.into();
    }

    /// Overwrites float32 tensor `name` with `values`.
    fn set_f32(&mut self, name: &str, values: &[f32]) {
        let offsets = &self.header[name]["data_offsets"];
        let (start, end) = (offsets[0].as_u64().unwrap() as usize, offsets[1].as_u64().unwrap() as usize);
        assert_eq!(end - start, 4 * values.len(), "{name}");
        for (i, v) in values.iter().enumerate() {
            self.data[start + 4 * i..start + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
    }

    fn write(&self, path: &Path) {
        let mut header = serde_json::to_vec(&self.header).unwrap();
        while !header.len().is_multiple_of(8) {
            header.push(b' ');
        }
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&self.data);
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn nonsense_ppo_values_are_one_config_line_and_leave_no_run_folder() {
    let dir = plugins();
    let d = dir.path();
    let cases = [
        ("params.config.gamma=2", "params.config.gamma: must be in (0, 1], got 2"),
        ("params.config.learning_rate=-0.001", "params.config.learning_rate: must be in (0, inf), got -0.001"),
        ("params.config.grad_norm=-1", "params.config.grad_norm: must be in (0, inf), got -1"),
        ("params.config.e_clip=-0.2", "params.config.e_clip: must be in (0, inf), got -0.2"),
    ];
    for (over, want) in cases {
        let p = pendulum();
        let (code, _, stderr) = rlhost(d, &["train", "--plugin-dir", ".", "-f", &p, "--experiment", "v", over]);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(
            last_line(&stderr),
            format!("error: algo 'a2c_continuous' from plugin org.rlhost.a2c_continuous: {want}")
        );
        assert!(!d.join("runs").exists(), "{over}: no run folder left");
    }
}

#[test]
fn a_tampered_huge_epoch_resumes_promptly_and_continues_the_count() {
    let dir = plugins();
    let d = dir.path();
    let p = pendulum();
    let small = ["--num-envs", "32", "params.config.minibatch_size=1024"];
    let mut args = vec!["train", "--plugin-dir", ".", "-f", &p, "--experiment", "x", "--max-iterations", "1"];
    args.extend(small);
    let (code, _, stderr) = rlhost(d, &args);
    assert_eq!(code, 0, "{stderr}");
    let ckpt = checkpoint(d, "x");
    let mut st = Safetensors::read(&ckpt);
    assert!(st.header.contains_key("rng.generator_state"), "the checkpoint stores the generator state");
    let huge = 1_000_000_000_000_000u64;
    st.set_meta("epoch", &huge.to_string());
    let tampered = d.join("tampered.safetensors");
    st.write(&tampered);

    let started = Instant::now();
    let until = (huge + 1).to_string();
    let mut args = vec!["train", "--plugin-dir", ".", "-f", &p, "--experiment", "y", "-c", "tampered.safetensors"];
    args.extend(["--max-iterations", &until]);
    args.extend(small);
    let (code, stdout, stderr) = rlhost(d, &args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(started.elapsed() < Duration::from_secs(120), "resume took {:?}", started.elapsed());
    let name = checkpoint(d, "y").file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("last_pendulum_ep_{}_rew_", huge + 1)), "{name}");
    assert!(!stdout.contains("replaying") && !stderr.contains("replaying"), "{stdout}");
}

#[test]
fn play_with_nan_rewards_exits_non_zero_naming_the_rewards() {
    let dir = plugins();
    let d = dir.path();
    let (code, stdout, stderr) = rlhost(d, &["train", "--plugin-dir", ".", "-f", "toy_ppo.yaml", "--experiment", "t"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // Finite weights whose forward pass overflows: h = elu(3e38·obs) = inf, μ = inf − inf = NaN,
    // so the toy env pays NaN rewards.
    let mut st = Safetensors::read(&checkpoint(d, "t"));
    st.set_f32("a2c_network.actor_mlp.0.weight", &[3e38; 6]);
    st.set_f32("a2c_network.mu.weight", &[1.0, -1.0]);
    st.write(&d.join("overflow.safetensors"));
    let (code, stdout, stderr) =
        rlhost(d, &["play", "--plugin-dir", ".", "-f", "toy_ppo.yaml", "-c", "overflow.safetensors"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(
        last_line(&stderr),
        "error: the environment returned a non-finite reward: game 1 (env 0) has return NaN after 5 steps; play stopped"
    );
    assert!(!stdout.to_lowercase().contains("av reward"), "{stdout}");

    // A checkpoint whose weights are NaN is refused at restore, naming the tensor, by both.
    let mut st = Safetensors::read(&checkpoint(d, "t"));
    st.set_f32("a2c_network.mu.bias", &[f32::NAN]);
    st.write(&d.join("nan.safetensors"));
    let (code, _, stderr) = rlhost(d, &["play", "--plugin-dir", ".", "-f", "toy_ppo.yaml", "-c", "nan.safetensors"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        last_line(&stderr).ends_with(
            "checkpoint 'nan.safetensors': tensor 'a2c_network.mu.bias' holds a non-finite value (NaN at flat index 0)"
        ),
        "{stderr}"
    );
    let (code, _, stderr) =
        rlhost(d, &["train", "--plugin-dir", ".", "-f", "toy_ppo.yaml", "--experiment", "r", "-c", "nan.safetensors"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        last_line(&stderr).ends_with(
            "checkpoint 'nan.safetensors': tensor 'a2c_network.mu.bias' holds a non-finite value (NaN at flat index 0)"
        ),
        "{stderr}"
    );
}
