//! rl_games and Isaac Lab configs as they are: YAML and JSON, overrides, and their errors.
mod common;

use common::*;
use std::path::{Path, PathBuf};

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

/// The released Isaac Lab agent configs below, key for key (comments dropped), with the run's
/// path in the release (see `../shared/reference/isaaclab_configs.md`).
mod isaac_lab {
    /// The agent config's common head: seed, env clipping, algo, model and an MLP `network`.
    pub fn head(units: &str, extra_network: &str) -> String {
        format!(
            r#"params:
  seed: 42
  env:
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
      units: {units}
      activation: elu
      d2rl: False
      initializer:
        name: default
      regularizer:
        name: None
{extra_network}"#
        )
    }

    /// `direct/quadcopter/agents/rl_games_ppo_cfg.yaml` (2.3.2): a plain MLP config.
    pub fn quadcopter() -> String {
        head("[64, 64]", "")
            + r#"  load_checkpoint: False
  load_path: ''
  config:
    name: quadcopter_direct
    env_name: rlgpu
    device: 'cuda:0'
    device_name: 'cuda:0'
    multi_gpu: False
    ppo: True
    mixed_precision: False
    normalize_input: True
    normalize_value: True
    value_bootstrap: True
    num_actors: -1
    reward_shaper:
      scale_value: 0.01
    normalize_advantage: True
    gamma: 0.99
    tau: 0.95
    learning_rate: 5e-4
    lr_schedule: adaptive
    schedule_type: legacy
    kl_threshold: 0.016
    score_to_win: 20000
    max_epochs: 200
    save_best_after: 100
    save_frequency: 25
    grad_norm: 1.0
    entropy_coef: 0.0
    truncate_grads: True
    e_clip: 0.2
    horizon_length: 24
    minibatch_size: 24576
    mini_epochs: 5
    critic_coef: 2
    clip_value: True
    seq_length: 4
    bounds_loss_coef: 0.0001
"#
    }

    /// `direct/humanoid/agents/rl_games_ppo_cfg.yaml` (2.3.2): `mixed_precision: True`.
    pub fn humanoid() -> String {
        head("[400, 200, 100]", "")
            + r#"  load_checkpoint: False
  load_path: ''
  config:
    name: humanoid_direct
    env_name: rlgpu
    device: 'cuda:0'
    device_name: 'cuda:0'
    multi_gpu: False
    ppo: True
    mixed_precision: True
    normalize_input: True
    normalize_value: True
    value_bootstrap: True
    num_actors: -1
    reward_shaper:
      scale_value: 0.01
    normalize_advantage: True
    gamma: 0.99
    tau: 0.95
    learning_rate: 5e-4
    lr_schedule: adaptive
    kl_threshold: 0.008
    score_to_win: 20000
    max_epochs: 1000
    save_best_after: 100
    save_frequency: 50
    grad_norm: 1.0
    entropy_coef: 0.0
    truncate_grads: True
    e_clip: 0.2
    horizon_length: 32
    minibatch_size: 32768
    mini_epochs: 5
    critic_coef: 4
    clip_value: True
    seq_length: 4
    bounds_loss_coef: 0.0001
"#
    }

    /// `manager_based/drone_arl/track_position_state_based/config/arl_robot_1/agents/
    /// rl_games_ppo_cfg.yaml` (2.3.2): `use_diagnostics: True`, with its `rnn` block (part 2 of
    /// issue 13) given by `rnn` (empty for the config without it).
    pub fn drone(rnn: &str) -> String {
        head("[256,128,64]", rnn)
            + r#"  config:
    env_name: rlgpu
    device: 'cuda:0'
    device_name: 'cuda:0'
    env_config:
      num_envs: 8192
    name: arl_robot_1_track_position_state_based
    reward_shaper:
      scale_value: 0.1
    normalize_advantage: True
    gamma: 0.98
    tau: 0.95
    ppo: True
    learning_rate: 1e-4
    lr_schedule: adaptive
    kl_threshold: 0.016
    save_best_after: 10
    score_to_win: 100000
    grad_norm: 1.0
    entropy_coef: 0
    truncate_grads: True
    e_clip: 0.2
    clip_value: False
    num_actors: 1024
    horizon_length: 32
    minibatch_size: 2048
    mini_epochs: 4
    critic_coef: 2
    normalize_input: True
    bounds_loss_coef: 0.0001
    max_epochs: 1500
    normalize_value: True
    use_diagnostics: True
    value_bootstrap: True
    use_smooth_clamp: False
    player:
      render: True
      deterministic: True
      games_num: 100000
"#
    }

    /// The `central_value_config` of the shadow-hand configs below, with its MLP `units`, its
    /// `minibatch_size`, `mini_epochs` and `kl_threshold`.
    fn central_value(units: &str, minibatch: i64, mini_epochs: i64, kl: f64) -> String {
        format!(
            r#"    central_value_config:
      minibatch_size: {minibatch}
      mini_epochs: {mini_epochs}
      learning_rate: 5e-4
      lr_schedule: adaptive
      schedule_type: standard
      kl_threshold: {kl}
      clip_value: True
      normalize_input: True
      truncate_grads: True

      network:
        name: actor_critic
        central_value: True
        mlp:
          units: {units}
          activation: elu
          d2rl: False
          initializer:
            name: default
          regularizer:
            name: None

    player:
      deterministic: True
      games_num: 100000
      print_stats: True
"#
        )
    }

    /// The shadow-hand configs' `config` block up to `bounds_loss_coef`.
    fn shadow_hand_config(name: &str, gamma: f64, kl: f64, max_epochs: i64, hmb: (i64, i64, i64)) -> String {
        let (horizon, minibatch, mini_epochs) = hmb;
        format!(
            r#"  load_checkpoint: False
  load_path: ''

  config:
    name: {name}
    env_name: rlgpu
    device: 'cuda:0'
    device_name: 'cuda:0'
    multi_gpu: False
    ppo: True
    mixed_precision: False
    normalize_input: True
    normalize_value: True
    num_actors: -1
    reward_shaper:
      scale_value: 0.01
    normalize_advantage: True
    gamma: {gamma}
    tau: 0.95
    learning_rate: 5e-4
    lr_schedule: adaptive
    schedule_type: standard
    kl_threshold: {kl}
    score_to_win: 100000
    max_epochs: {max_epochs}
    save_best_after: 100
    save_frequency: 200
    print_stats: True
    grad_norm: 1.0
    entropy_coef: 0.0
    truncate_grads: True
    e_clip: 0.2
    horizon_length: {horizon}
    minibatch_size: {minibatch}
    mini_epochs: {mini_epochs}
    critic_coef: 4
    clip_value: True
    seq_length: 4
    bounds_loss_coef: 0.0001

"#
        )
    }

    /// `direct/shadow_hand/agents/rl_games_ppo_ff_cfg.yaml` (2.3.2): the asymmetric (OpenAI FF)
    /// shadow hand, a `central_value_config` on the env's `critic` states.
    pub fn shadow_hand_ff() -> String {
        head("[400, 400, 200, 100]", "").replace(
            "    clip_actions: 1.0",
            "    clip_observations: 5.0
    clip_actions: 1.0",
        ) + &shadow_hand_config("shadow_hand_openai_ff", 0.998, 0.016, 10000, (16, 16384, 4))
            + &central_value("[512, 512, 256, 128]", 32768, 4, 0.016)
    }

    /// `direct/shadow_hand/agents/rl_games_ppo_vision_cfg.yaml` (2.3.2; 3.0.0's
    /// `core/reorient/config/shadow_hand/agents/rl_games_ppo_camera_cfg.yaml` is listed with the
    /// same MLPs and horizon/minibatch/mini-epochs): an MLP policy on features and a central value
    /// on the states.
    pub fn shadow_hand_vision() -> String {
        head("[1024, 512, 512, 256, 128]", "").replace(
            "    clip_actions: 1.0",
            "    clip_observations: 5.0
    clip_actions: 1.0",
        ) + &shadow_hand_config("shadow_hand_vision", 0.99, 0.01, 50000, (64, 19600, 5))
            + &central_value("[1024, 512, 512, 256, 128]", 19600, 5, 0.01)
    }

    /// `direct/automate/agents/rl_games_ppo_cfg.yaml`: a two-layer LSTM before the MLP with
    /// `concat_input` (which rl_games ignores there), `seq_length: 4`, mixed precision and an MLP
    /// central value.
    pub fn automate() -> String {
        head(
            "[256, 128, 64]",
            "    rnn:\n      name: lstm\n      units: 256\n      layers: 2\n      before_mlp: True\n      concat_input: True\n      layer_norm: False\n",
        )
        .replace("seed: 42", "seed: 0")
            + r#"  load_checkpoint: False
  load_path: ""
  config:
    name: Assembly
    device: cuda:0
    env_name: rlgpu
    multi_gpu: False
    ppo: True
    mixed_precision: True
    normalize_input: True
    normalize_value: True
    value_bootstrap: True
    num_actors: 128
    reward_shaper:
      scale_value: 1.0
    normalize_advantage: True
    gamma: 0.99
    tau: 0.95
    learning_rate: 1e-4
    lr_schedule: fixed
    schedule_type: standard
    kl_threshold: 0.016
    score_to_win: 20000
    max_epochs: 1500
    save_best_after: 100
    save_frequency: 300
    print_stats: True
    grad_norm: 1.0
    entropy_coef: 0.0
    truncate_grads: False
    e_clip: 0.2
    horizon_length: 32
    minibatch_size: 4096
    mini_epochs: 8
    critic_coef: 2
    clip_value: True
    seq_length: 4
    bounds_loss_coef: 0.0001
    central_value_config:
      minibatch_size: 256
      mini_epochs: 4
      learning_rate: 1e-3
      lr_schedule: linear
      kl_threshold: 0.016
      clip_value: True
      normalize_input: True
      truncate_grads: True
      network:
        name: actor_critic
        central_value: True

        mlp:
          units: [256, 128, 64]
          activation: elu
          d2rl: False
          initializer:
            name: default
          regularizer:
            name: None

  player:
    deterministic: False
"#
    }

    /// The LSTM of the factory and forge configs (policy and central value alike).
    const FACTORY_RNN: &str = "rnn:\n  name: lstm\n  units: 1024\n  layers: 2\n  before_mlp: True\n  concat_input: True\n  layer_norm: True\n";

    /// `text` with every line indented by `spaces`.
    fn indent(text: &str, spaces: usize) -> String {
        text.lines().map(|l| format!("{:spaces$}{l}\n", "")).collect()
    }

    /// `direct/factory/agents/rl_games_ppo_cfg.yaml` (2.3.2; 3.0.0's `contrib` twin and the forge
    /// configs differ in names and horizon only): a two-layer 1024-unit LSTM before the MLP with
    /// layer norm (and `concat_input`, which rl_games ignores there) in the policy and the same
    /// LSTM in its central value, `seq_length: 128`, mixed precision.
    pub fn factory() -> String {
        head("[512, 128, 64]", &indent(FACTORY_RNN, 4)).replace("seed: 42", "seed: 0")
            + r#"  load_checkpoint: False
  load_path: ""
  config:
    name: Factory
    device: cuda:0
    full_experiment_name: test
    env_name: rlgpu
    multi_gpu: False
    ppo: True
    mixed_precision: True
    normalize_input: True
    normalize_value: True
    value_bootstrap: True
    num_actors: 128
    reward_shaper:
      scale_value: 1.0
    normalize_advantage: True
    gamma: 0.995
    tau: 0.95
    learning_rate: 1.0e-4
    lr_schedule: adaptive
    schedule_type: standard
    kl_threshold: 0.008
    score_to_win: 20000
    max_epochs: 200
    save_best_after: 10
    save_frequency: 100
    print_stats: True
    grad_norm: 1.0
    entropy_coef: 0.0
    truncate_grads: True
    e_clip: 0.2
    horizon_length: 128
    minibatch_size: 512
    mini_epochs: 4
    critic_coef: 2
    clip_value: True
    seq_length: 128
    bounds_loss_coef: 0.0001
    central_value_config:
      minibatch_size: 512
      mini_epochs: 4
      learning_rate: 1e-4
      lr_schedule: adaptive
      kl_threshold: 0.008
      clip_value: True
      normalize_input: True
      truncate_grads: True
      network:
        name: actor_critic
        central_value: True
        mlp:
          units: [512, 128, 64]
          activation: elu
          d2rl: False
          initializer:
            name: default
          regularizer:
            name: None
"# + &indent(FACTORY_RNN, 8)
            + r#"    player:
      deterministic: False
"#
    }

    /// `direct/shadow_hand/agents/rl_games_ppo_lstm_cfg.yaml` (2.3.2): the OpenAI LSTM shadow hand,
    /// a 1024-unit LSTM before a 512-unit MLP with layer norm in the policy and in its central
    /// value on the env's `critic` states.
    pub fn shadow_hand_lstm() -> String {
        let rnn = "rnn:\n  name: lstm\n  units: 1024\n  layers: 1\n  before_mlp: True\n  layer_norm: True\n";
        head("[512]", &indent(rnn, 4)).replace(
            "    clip_actions: 1.0",
            "    clip_observations: 5.0
    clip_actions: 1.0",
        ) + &shadow_hand_config("shadow_hand_openai_lstm", 0.998, 0.016, 10000, (16, 16384, 4))
            .replace("learning_rate: 5e-4", "learning_rate: 1e-4")
            + r#"    central_value_config:
      minibatch_size: 32768
      mini_epochs: 4
      learning_rate: 1e-4
      kl_threshold: 0.016
      clip_value: True
      normalize_input: True
      truncate_grads: True
      network:
        name: actor_critic
        central_value: True
        mlp:
          units: [512]
          activation: elu
          d2rl: False
          initializer:
            name: default
          regularizer:
            name: None
"# + &indent(rnn, 8)
            + r#"
    player:
      deterministic: True
      games_num: 100000
      print_stats: True
"#
    }

    /// `direct/cartpole/agents/rl_games_camera_ppo_cfg.yaml`: a conv2d tower (32/64/64 filters,
    /// `permute_input` by default) and a 512-unit MLP on the camera images (its MLP carries the
    /// common head's `regularizer: None`, which rl_games does not read).
    pub fn cartpole_camera() -> String {
        head(
            "[512]",
            r#"    cnn:
      type: conv2d
      activation: relu
      initializer:
          name: default
      regularizer:
        name: None
      convs:
        - filters: 32
          kernel_size: 8
          strides: 4
          padding: 0
        - filters: 64
          kernel_size: 4
          strides: 2
          padding: 0
        - filters: 64
          kernel_size: 3
          strides: 1
          padding: 0
"#,
        )
        .replace("clip_actions: 1.0", "clip_observations: 5.0\n    clip_actions: 1.0")
        .replace("      d2rl: False\n", "")
            + r#"  load_checkpoint: False
  load_path: ''
  config:
    name: cartpole_camera_direct
    env_name: rlgpu
    device: 'cuda:0'
    device_name: 'cuda:0'
    multi_gpu: False
    ppo: True
    mixed_precision: False
    normalize_input: False
    normalize_value: True
    num_actors: -1
    reward_shaper:
      scale_value: 1.0
    normalize_advantage: True
    gamma: 0.99
    tau : 0.95
    learning_rate: 1e-4
    lr_schedule: adaptive
    kl_threshold: 0.008
    score_to_win: 20000
    max_epochs: 500
    save_best_after: 50
    save_frequency: 25
    grad_norm: 1.0
    entropy_coef: 0.0
    truncate_grads: True
    e_clip: 0.2
    horizon_length: 64
    minibatch_size: 2048
    mini_epochs: 4
    critic_coef: 2
    clip_value: True
    seq_length: 4
    bounds_loss_coef: 0.0001
"#
    }

    /// The drone's `network.rnn` block as released.
    pub const DRONE_RNN: &str = "    rnn:\n        name: gru\n        units: 64\n        layers: 1\n";

    /// A G1 pick task's config built on Isaac Lab (its `agents/rl_games_ppo_cfg.yaml`): the
    /// deprecated `seq_len`, `schedule_type: standard`, `full_experiment_name`.
    pub fn g1_pick() -> String {
        head("[512, 256, 128]", "").replace("clip_actions: 1.0", "clip_observations: 100.0\n    clip_actions: 100.0")
            + r#"  load_checkpoint: False
  load_path: ''
  config:
    name: G1Pick
    full_experiment_name: G1Pick
    device: 'cuda:0'
    device_name: 'cuda:0'
    env_name: rlgpu
    multi_gpu: False
    ppo: True
    mixed_precision: False
    normalize_input: True
    normalize_value: True
    value_bootstrap: True
    num_actors: -1
    reward_shaper:
      scale_value: 0.01
    normalize_advantage: True
    gamma: 0.99
    tau: 0.95
    learning_rate: 3.e-4
    lr_schedule: adaptive
    schedule_type: standard
    kl_threshold: 0.016
    score_to_win: 100000
    max_epochs: 10000
    save_best_after: 50
    save_frequency: 100
    print_stats: True
    grad_norm: 1.0
    entropy_coef: 0.0
    truncate_grads: True
    e_clip: 0.2
    horizon_length: 32
    minibatch_size: 28800
    mini_epochs: 8
    critic_coef: 4
    clip_value: True
    seq_len: 4
    bounds_loss_coef: 0.0001
"#
    }
}

/// Trains `yaml` for one epoch on Pendulum-v1 with 16 envs and `minibatch` on the CPU, as
/// Isaac Lab's train.py would with `--device cpu`; returns stdout, stderr and the run folder.
fn train_isaac_lab(yaml: &str, minibatch: i64) -> (String, String, tempfile::TempDir) {
    train_isaac_lab_with(yaml, minibatch, &[])
}

/// [`train_isaac_lab`] with more overrides.
fn train_isaac_lab_with(yaml: &str, minibatch: i64, overrides: &[&str]) -> (String, String, tempfile::TempDir) {
    let dir = setup(yaml);
    let minibatch = format!("params.config.minibatch_size={minibatch}");
    let mut extra = vec![
        "--device",
        "cpu",
        "--num-envs",
        "16",
        "--max-iterations",
        "1",
        "params.config.env_name=Pendulum-v1",
        &minibatch,
    ];
    extra.extend_from_slice(overrides);
    let (code, stdout, stderr) = train(&dir, &extra);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    // Automate's config puts `player` under `params`, where rl_games 1.6.5 never reads it: the
    // warning about it is right; every other key is accepted quietly.
    let unknown = |text: &str| text.lines().any(|l| l.contains("unknown key") && !l.contains("'params.player'"));
    assert!(!unknown(&stderr) && !unknown(&stdout), "keys accepted quietly: {stderr}");
    assert!(stdout.contains("epoch: 1/1 frames: "), "{stdout}");
    (stdout, stderr, dir)
}

/// The bytes of the run's TensorBoard event files.
fn summaries(dir: &tempfile::TempDir) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("runs/run/summaries")).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("events.") {
            bytes.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    bytes
}

fn has(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn isaac_lab_configs_train_one_epoch_as_they_are() {
    let (stdout, _, dir) = train_isaac_lab(&isaac_lab::quadcopter(), 128);
    assert!(stdout.contains("epoch: 1/1 frames: 384"), "{stdout}");
    assert!(!has(&summaries(&dir), "diagnostics/"), "no diagnostics unless asked");

    let (stdout, _, _) = train_isaac_lab(&isaac_lab::humanoid(), 128);
    let line = "mixed_precision: True, but the device is the CPU: mixed precision is off";
    assert_eq!(stdout.matches(line).count(), 1, "{stdout}");

    let (_, _, dir) = train_isaac_lab(&isaac_lab::drone(""), 128);
    let events = summaries(&dir);
    for tag in ["diagnostics/exp_var", "diagnostics/rms_value/mean", "diagnostics/rms_value/var"] {
        assert!(has(&events, tag), "{tag} missing");
    }
    assert!((0..4).all(|k| has(&events, &format!("diagnostics/clip_frac/{k}"))));

    // The drone's recurrent policy (a GRU after the MLP) as released, `seq_length` rl_games' 4.
    let (stdout, _, _) = train_isaac_lab(&isaac_lab::drone(isaac_lab::DRONE_RNN), 128);
    assert!(stdout.contains("epoch: 1/1 frames: 512"), "{stdout}");

    let (stdout, _, _) = train_isaac_lab(&isaac_lab::g1_pick(), 128);
    assert_eq!(stdout.matches("WARNING: seq_len is deprecated, use seq_length instead").count(), 1, "{stdout}");
}

/// The run's first checkpoint in `dir` and its bytes.
fn first_checkpoint(dir: &tempfile::TempDir) -> (PathBuf, Vec<u8>) {
    let nn = dir.path().join("runs/run/nn");
    let checkpoint = std::fs::read_dir(&nn).unwrap().flatten().next().expect("a checkpoint").path();
    let bytes = std::fs::read(&checkpoint).unwrap();
    (checkpoint, bytes)
}

/// Plays one game of `checkpoint` with the run's config on 2 Pendulum envs with states.
fn play_one_game_on_pendulum_states(dir: &tempfile::TempDir, checkpoint: &Path) {
    let out = run_rlhost(
        dir.path(),
        &[
            "play",
            "--plugin-dir",
            ".",
            "--config",
            "config.yaml",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--games",
            "1",
            "--device",
            "cpu",
            "--num-envs",
            "2",
            "params.config.env_name=Pendulum-v1",
            "params.config.env_config.states=true",
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("av reward:"), "{stdout}");
}

/// The asymmetric configs train as released on Pendulum with its privileged `states` (Isaac Lab's
/// `critic` group), only the critic's minibatch fitted to the small batch; the run logs the
/// critic's scalars, the checkpoint holds it under rl_games' names and the player ignores it.
#[test]
fn isaac_lab_central_value_configs_train_on_states_and_play_without_the_critic() {
    let states = "params.config.env_config.states=true";
    for (yaml, critic_minibatch, frames) in [
        (isaac_lab::shadow_hand_ff(), 128, 256),
        (isaac_lab::shadow_hand_vision(), 256, 1024),
        (isaac_lab::automate(), 256, 512),
    ] {
        let critic_minibatch = format!("params.config.central_value_config.minibatch_size={critic_minibatch}");
        let (stdout, _, dir) = train_isaac_lab_with(&yaml, 128, &[states, &critic_minibatch]);
        assert!(stdout.contains(&format!("epoch: 1/1 frames: {frames}")), "{stdout}");
        let events = summaries(&dir);
        assert!(has(&events, "losses/cval_loss") && has(&events, "info/cval_lr"), "the critic's scalars");
        let (checkpoint, bytes) = first_checkpoint(&dir);
        assert!(has(&bytes, "assymetric_vf_nets.model.a2c_network.value.weight"));

        play_one_game_on_pendulum_states(&dir, &checkpoint);
    }

    // Without the states group, one line says what is missing.
    let dir = setup(&isaac_lab::shadow_hand_ff());
    let extra = [
        "--device",
        "cpu",
        "--num-envs",
        "16",
        "--max-iterations",
        "1",
        "params.config.env_name=Pendulum-v1",
        "params.config.minibatch_size=128",
        "params.config.central_value_config.minibatch_size=128",
    ];
    let (code, _, stderr) = train(&dir, &extra);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(last_error(&stderr).contains("'states' observation group"), "{stderr}");
}

/// The configs with an LSTM in the central value network (factory, and forge with the same
/// networks; the LSTM shadow hand) train one epoch as released on Pendulum with its `states`, only
/// the horizon, `seq_length` and minibatches fitted to 16 envs; the checkpoint holds the critic's
/// LSTM and current states under rl_games' names, and the player (which has no critic) plays it.
#[test]
fn isaac_lab_recurrent_central_value_configs_train_and_play() {
    let states = "params.config.env_config.states=true";
    let critic_minibatch = "params.config.central_value_config.minibatch_size=128";
    let factory_horizon: &[&str] = &["params.config.horizon_length=16", "params.config.seq_length=16"];
    for (yaml, fitted) in [(isaac_lab::factory(), factory_horizon), (isaac_lab::shadow_hand_lstm(), &[][..])] {
        let mut overrides = vec![states, critic_minibatch];
        overrides.extend_from_slice(fitted);
        let (stdout, _, dir) = train_isaac_lab_with(&yaml, 128, &overrides);
        assert!(stdout.contains("epoch: 1/1 frames: 256"), "{stdout}");
        assert!(has(&summaries(&dir), "losses/cval_loss"), "the critic's scalars");
        let (checkpoint, bytes) = first_checkpoint(&dir);
        for name in ["assymetric_vf_nets.model.a2c_network.rnn.rnn.weight_hh_l0", "rollout.critic_rnn_states.1"] {
            assert!(has(&bytes, name), "{name} missing from the checkpoint");
        }
        play_one_game_on_pendulum_states(&dir, &checkpoint);
    }
}

#[test]
fn an_isaac_lab_config_names_every_refused_key_in_one_error() {
    let yaml = isaac_lab::drone(&format!("{}    normalization: layer_norm\n", isaac_lab::DRONE_RNN))
        .replace("    use_diagnostics: True\n", "    use_diagnostics: True\n    central_value_config:\n      minibatch_size: 2048\n      network:\n        name: actor_critic\n        central_value: True\n        cnn:\n          type: conv2d\n");
    let dir = setup(&yaml);
    let extra = ["--device", "cpu", "--num-envs", "16", "--max-iterations", "1", "params.config.env_name=Pendulum-v1"];
    let (code, _, stderr) = train(&dir, &extra);
    assert_eq!(code, Some(1), "{stderr}");
    let line = last_error(&stderr);
    assert!(
        line.contains(
            "not supported yet by a2c_continuous: params.network.normalization (normalization 'layer_norm'), params.config.central_value_config.network.cnn (a CNN tower in the central value network)"
        ),
        "{stderr}"
    );
}

/// Isaac Lab's camera cart-pole config trains as released on `CartPoleCamera`'s uint8 images
/// (the host's `clip_observations` leaves byte groups alone), and its checkpoint plays.
#[test]
fn the_isaac_lab_camera_config_trains_on_images_and_plays() {
    let camera = "params.config.env_name=CartPoleCamera";
    let (stdout, _, dir) = train_isaac_lab_with(&isaac_lab::cartpole_camera(), 512, &[camera]);
    assert!(stdout.contains("epoch: 1/1 frames: 1024"), "{stdout}");
    let nn = dir.path().join("runs/run/nn");
    let checkpoint = std::fs::read_dir(&nn).unwrap().flatten().next().expect("a checkpoint").path();
    assert!(has(&std::fs::read(&checkpoint).unwrap(), "a2c_network.actor_cnn.4.weight"));
    let out = run_rlhost(
        dir.path(),
        &[
            "play",
            "--plugin-dir",
            ".",
            "--config",
            "config.yaml",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--games",
            "2",
            "--device",
            "cpu",
            "--num-envs",
            "2",
            camera,
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("av reward:"), "{stdout}");
}
