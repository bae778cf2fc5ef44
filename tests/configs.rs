//! rl_games and Isaac Lab configs as they are: YAML and JSON, overrides, and their errors.
mod common;

use common::*;
use std::path::PathBuf;

fn real_plugins() -> Vec<PathBuf> {
    vec![
        built_library("rlhost-plugin-classic-control", "rlhost_classic_control"),
        built_library("rlhost-plugin-a2c-continuous", "rlhost_a2c_continuous"),
        built_library("rlhost-plugin-ppo-player", "rlhost_ppo_player"),
    ]
}

/// An Isaac Lab `rl_games_ppo_cfg.yaml` as Isaac Lab writes them, pointed at Pendulum.
const ISAAC_LAB_YAML: &str = r#"
params:
  seed: 42
  env:
    clip_observations: 5.0
    clip_actions: 1.0
  algo:
    name: a2c_continuous
  model:
    name: continuous_a2c_logstd
  network:
    name: actor_critic
    separate: False
    space:
      continuous:
        mu_activation: None
        sigma_activation: None
        mu_init:
          name: default
        sigma_init:
          name: const_initializer
          val: 0
        fixed_sigma: True
    mlp:
      units: [256, 128, 64]
      activation: elu
      d2rl: False
      initializer:
        name: default
      regularizer:
        name: None
  load_checkpoint: False
  load_path: ''
  config:
    name: pendulum_isaac
    env_name: Pendulum-v1
    device: 'cpu'
    device_name: 'cpu'
    multi_gpu: False
    ppo: True
    mixed_precision: False
    normalize_input: True
    normalize_value: True
    value_bootstrap: True
    num_actors: -1
    reward_shaper:
      scale_value: 0.1
    normalize_advantage: True
    gamma: 0.99
    tau: 0.95
    learning_rate: 3e-4
    lr_schedule: adaptive
    schedule_type: legacy
    kl_threshold: 0.008
    score_to_win: 20000
    max_epochs: 1
    save_best_after: 100
    save_frequency: 50
    grad_norm: 1.0
    entropy_coef: 0.0
    truncate_grads: True
    e_clip: 0.2
    horizon_length: 16
    minibatch_size: 512
    mini_epochs: 4
    critic_coef: 2
    clip_value: True
    seq_length: 4
    bounds_loss_coef: 0.0001
"#;

/// rl_games' own `ppo_pendulum_torch.yaml` layout.
const RL_GAMES_YAML: &str = r#"
params:
  seed: 5
  algo:
    name: a2c_continuous
  model:
    name: continuous_a2c_logstd
  network:
    name: actor_critic
    separate: True
    space:
      continuous:
        mu_activation: None
        sigma_activation: None
        mu_init:
          name: glorot_normal_initializer
          gain: 0.01
        sigma_init:
          name: const_initializer
          val: 0
        fixed_sigma: True
    mlp:
      units: [32, 32]
      activation: elu
      initializer:
        name: glorot_normal_initializer
        gain: 2
      regularizer:
        name: None
  config:
    name: pendulum_rl_games
    env_name: Pendulum-v1
    score_to_win: 300
    normalize_input: False
    normalize_value: False
    normalize_advantage: True
    reward_shaper:
      scale_value: 0.01
    gamma: 0.99
    tau: 0.9
    learning_rate: 1e-3
    lr_schedule: adaptive
    kl_threshold: 0.016
    grad_norm: 0.5
    entropy_coef: 0.0
    truncate_grads: True
    e_clip: 0.2
    clip_value: False
    num_actors: 16
    horizon_length: 128
    minibatch_size: 1024
    mini_epochs: 4
    critic_coef: 1
    bounds_loss_coef: 0
    max_epochs: 1
    env_config:
      seed: 5
    player:
      render: True
      games_num: 2
"#;

fn setup(yaml: &str) -> tempfile::TempDir {
    let dir = plugin_dir(&real_plugins());
    std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
    dir
}

fn train(dir: &tempfile::TempDir, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["train", "--plugin-dir", ".", "--config", "config.yaml", "--experiment", "run"];
    args.extend_from_slice(extra);
    let out = run_rlhost(dir.path(), &args);
    let (stdout, stderr) = texts(&out);
    (out.status.code(), stdout, stderr)
}

fn last_error(stderr: &str) -> &str {
    stderr.lines().last().unwrap_or_default()
}

#[test]
fn an_isaac_lab_config_trains_one_epoch_unchanged() {
    let dir = setup(ISAAC_LAB_YAML);
    let (code, stdout, stderr) = train(&dir, &["--num-envs", "64"]);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stderr.contains("unknown key"), "Isaac Lab keys are accepted quietly: {stderr}");
    assert!(stdout.contains("epoch: 1/1 frames: 1024"), "{stdout}");
    let nn: Vec<_> = std::fs::read_dir(dir.path().join("runs/run/nn")).unwrap().flatten().collect();
    assert_eq!(nn.len(), 1, "the max-epochs checkpoint");
    let resolved = std::fs::read_to_string(dir.path().join("runs/run/params/config.yaml")).unwrap();
    assert!(resolved.contains("num_actors: 64"), "{resolved}");
}

#[test]
fn an_rl_games_config_trains_one_epoch_and_the_json_twin_too() {
    let dir = setup(RL_GAMES_YAML);
    let (code, stdout, stderr) = train(&dir, &[]);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("epoch: 1/1 frames: 2048"), "{stdout}");
    let json_config = workspace_root().join("configs/pendulum_ppo.json");
    let out = run_rlhost(
        dir.path(),
        &[
            "train",
            "--plugin-dir",
            ".",
            "--config",
            json_config.to_str().unwrap(),
            "--max-iterations",
            "1",
            "--num-envs",
            "128",
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("epoch: 1/1 frames: 4096"), "{stdout}");
}

#[test]
fn a_typo_is_warned_with_a_suggestion_and_the_missing_key_named() {
    let dir = setup(&RL_GAMES_YAML.replace("learning_rate: 1e-3", "learing_rate: 1e-3"));
    let (code, _, stderr) = train(&dir, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("warning: config.yaml: unknown key 'params.config.learing_rate' (did you mean 'params.config.learning_rate'?)"),
        "{stderr}"
    );
    assert!(last_error(&stderr).contains("params.config.learning_rate"), "{stderr}");
}

#[test]
fn wrong_types_and_missing_keys_name_the_key_path() {
    let dir = setup(&RL_GAMES_YAML.replace("gamma: 0.99", "gamma: fast"));
    let (code, _, stderr) = train(&dir, &[]);
    assert_eq!(code, Some(1));
    assert!(
        last_error(&stderr).starts_with("error: ") && last_error(&stderr).contains("params.config.gamma"),
        "{stderr}"
    );

    let dir = setup(&RL_GAMES_YAML.replace("    horizon_length: 128\n", ""));
    let (code, _, stderr) = train(&dir, &[]);
    assert_eq!(code, Some(1));
    assert!(last_error(&stderr).contains("params.config.horizon_length"), "{stderr}");

    let dir = setup(&RL_GAMES_YAML.replace("  algo:\n    name: a2c_continuous\n", ""));
    let (code, _, stderr) = train(&dir, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(last_error(&stderr), "error: config key params.algo.name is missing");
}

#[test]
fn a_batch_that_does_not_divide_into_minibatches_is_refused() {
    let dir = setup(RL_GAMES_YAML);
    let (code, _, stderr) = train(&dir, &["params.config.minibatch_size=1000"]);
    assert_eq!(code, Some(1));
    let line = last_error(&stderr);
    assert!(line.contains("2048") && line.contains("1000"), "{line}");
}

#[test]
fn overrides_reach_the_run() {
    let dir = setup(RL_GAMES_YAML);
    let (code, stdout, stderr) = train(&dir, &["--seed", "9", "--num-envs", "8", "params.config.gamma=0.98"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("self.seed = 9"));
    let resolved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("runs/run/params/config.json")).unwrap())
            .unwrap();
    let config = &resolved["params"]["config"];
    assert_eq!((config["num_actors"].as_i64(), config["gamma"].as_f64()), (Some(8), Some(0.98)));
    assert_eq!(config["env_config"]["seed"].as_i64(), Some(9), "--seed also seeds env_config, as rl_games");
}

#[test]
fn progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise() {
    let dir = setup(RL_GAMES_YAML);
    let (code, stdout, _) = train(&dir, &["--max-iterations", "2"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("progress: epoch 1/2 frames 2048") && stdout.contains("progress: epoch 2/2"), "{stdout}");

    // Under a pseudo-terminal (util-linux `script`), the same run draws a progress bar instead.
    let command = format!(
        "{} train --plugin-dir . --config config.yaml --experiment tty --max-iterations 2",
        rlhost_bin().display()
    );
    let out = std::process::Command::new("script")
        .current_dir(dir.path())
        .args(["-qfec", &command, "/dev/null"])
        .output()
        .expect("script runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(!screen.contains("progress: epoch"), "no plain progress lines on a terminal: {screen}");
    assert!(screen.contains("epoch 2/2 frames 4096"), "the bar shows epoch and frames: {screen}");
}
