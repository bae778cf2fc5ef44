//! Third parties: plugins built out of tree against the SDK alone, loaded by the unchanged host.
mod common;

use common::*;
use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds an example crate from `examples/<name>` (its own Cargo workspace) into the same
/// target folder, and returns its library.
fn build_example(name: &str) -> PathBuf {
    let root = workspace_root();
    let target_root = target_dir().parent().expect("target root").to_path_buf();
    let release = target_dir().file_name().is_some_and(|n| n == "release");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root.join("examples").join(name))
        .args(["build", "--quiet", "--locked"])
        .env("CARGO_TARGET_DIR", &target_root);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building examples/{name} failed");
    let lib = target_dir().join(format!("librlhost_example_{name}.so"));
    assert!(lib.is_file(), "{} missing", lib.display());
    lib
}

/// A hash of a file's bytes, to show the host binary is untouched.
fn file_hash(path: &Path) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(&std::fs::read(path).expect("readable"));
    h.finish()
}

/// The classic-control plugin, built from the workspace.
fn classic_control() -> PathBuf {
    built_library("rlhost-plugin-classic-control", "rlhost_classic_control")
}

const REINFORCE_CONFIG: &str = r#"
params:
  seed: 1
  algo: {name: reinforce}
  config:
    name: reinforce_pendulum
    env_name: Pendulum-v1
    env_config: {init_at_random_ep_len: true}
    num_actors: 128
    device: cpu
    horizon_length: 32
    gamma: 0.95
    learning_rate: 1e-3
    reward_shaper: {scale_value: 0.1}
    max_epochs: 100
"#;

#[test]
fn an_out_of_tree_algorithm_learns_pendulum_with_the_unchanged_host() {
    let host_before = file_hash(&rlhost_bin());
    let plugin = build_example("reinforce");
    let dir = plugin_dir(&[plugin, classic_control()]);
    std::fs::write(dir.path().join("reinforce.yaml"), REINFORCE_CONFIG).unwrap();
    let out = run_rlhost(dir.path(), &["train", "--plugin-dir", ".", "--config", "reinforce.yaml"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let returns: Vec<f64> = stdout
        .lines()
        .filter(|l| l.starts_with("reinforce epoch "))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(returns.len(), 100, "{stdout}");
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    // Epochs 11-20 see full episodes of the barely trained policy; compare the last ten with them.
    let (early, late) = (mean(&returns[10..20]), mean(&returns[90..]));
    assert!(late > early + 50.0, "mean return went from {early:.1} to {late:.1}");
    assert!(dir.path().join("runs").read_dir().unwrap().count() == 1);
    assert_eq!(file_hash(&rlhost_bin()), host_before, "the host binary was not rebuilt");

    // Its checkpoint is not an a2c_continuous one: the PPO player says so in one line.
    std::fs::copy(
        built_library("rlhost-plugin-ppo-player", "rlhost_ppo_player"),
        dir.path().join("librlhost_ppo_player.so"),
    )
    .unwrap();
    let ckpt = dir
        .path()
        .join("runs")
        .read_dir()
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path()
        .join("nn/reinforce_pendulum.safetensors");
    let out = run_rlhost(
        dir.path(),
        &[
            "play",
            "--plugin-dir",
            ".",
            "--config",
            "reinforce.yaml",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "params.algo.name=a2c_continuous",
        ],
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr.lines().last().unwrap();
    assert!(line.contains("reinforce_pendulum.safetensors") && line.contains("not an rlhost checkpoint"), "{line}");
}

/// A short Pendulum run of the real PPO plugin, returning the folder with its checkpoint.
fn pendulum_checkpoint(dir: &Path) -> PathBuf {
    let config = workspace_root().join("configs/pendulum_ppo.yaml");
    let out = run_rlhost(
        dir,
        &[
            "train",
            "--plugin-dir",
            ".",
            "--config",
            config.to_str().unwrap(),
            "--max-iterations",
            "2",
            "--num-envs",
            "64",
            "--experiment",
            "ckpt",
            "params.config.minibatch_size=1024",
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let nn = dir.join("runs/ckpt/nn");
    let ckpt = std::fs::read_dir(&nn).unwrap().flatten().map(|e| e.path()).next().expect("a checkpoint");
    assert!(ckpt.extension().is_some_and(|e| e == "safetensors"), "{}", ckpt.display());
    ckpt
}

#[test]
fn players_are_swapped_by_dropping_a_library_in_the_folder() {
    let host_before = file_hash(&rlhost_bin());
    let workspace_plugins = [
        classic_control(),
        built_library("rlhost-plugin-a2c-continuous", "rlhost_a2c_continuous"),
        built_library("rlhost-plugin-ppo-player", "rlhost_ppo_player"),
    ];
    let dir = plugin_dir(&workspace_plugins);
    let ckpt = pendulum_checkpoint(dir.path());
    let config = workspace_root().join("configs/pendulum_ppo.yaml");
    let play = |extra: &[&str]| {
        let mut args = vec!["play", "--plugin-dir", ".", "--config", config.to_str().unwrap(), "--checkpoint"];
        args.push(ckpt.to_str().unwrap());
        args.extend_from_slice(&["--games", "4", "--num-envs", "4"]);
        args.extend_from_slice(extra);
        let out = run_rlhost(dir.path(), &args);
        let (stdout, stderr) = texts(&out);
        (out.status.code(), stdout, stderr)
    };

    let (code, stdout, stderr) = play(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("av reward: ") && !stdout.contains("zero player"), "{stdout}");

    // A second player, built out of tree, dropped into the folder: the name is now ambiguous.
    std::fs::copy(build_example("zero_player"), dir.path().join("librlhost_example_zero_player.so")).unwrap();
    let (code, _, stderr) = play(&[]);
    assert_eq!(code, Some(1));
    let line = stderr.lines().last().unwrap();
    assert!(line.contains("player 'a2c_continuous' is offered by 2 plugins"), "{line}");
    assert!(line.contains("librlhost_ppo_player.so") && line.contains("librlhost_example_zero_player.so"), "{line}");

    let (code, stdout, stderr) = play(&["--plugin-id", "org.example.zero_player"]);
    assert_eq!(code, Some(0), "{stderr}");
    let zero_line = stdout.lines().find(|l| l.starts_with("zero player: av reward: ")).expect("the zero player ran");
    assert!(zero_line.ends_with("av steps: 200"), "full Pendulum episodes: {zero_line}");

    let (code, stdout, _) = play(&["--plugin-id", "org.rlhost.ppo_player"]);
    assert_eq!(code, Some(0));
    assert!(!stdout.contains("zero player"), "{stdout}");
    assert_eq!(file_hash(&rlhost_bin()), host_before, "the host binary was not rebuilt");
}
