//! rl_games' play loop: games counted per done env, per-step lines, averages, stop flag, config.
mod common;

use common::*;
use rlhost_ppo_player::config::{PlayerConfig, DEFAULT_GAMES_NUM};
use rlhost_ppo_player::player::{py_float, MAX_STEPS};
use serde_json::json;
use std::path::Path;
use std::sync::atomic::Ordering;

/// A 2-obs, 1-action checkpoint whose μ is constant 0.5 (σ = 1).
fn constant_policy(path: &Path) {
    let net = network(&[], "elu", true, json!({}));
    let mut w = base_checkpoint(2, 1, &net, false);
    w.linear("a2c_network.mu", 1, 2, &[0.0, 0.0], &[0.5]).f32("a2c_network.sigma", &[1], &[0.0]);
    w.write(path);
}

fn params(player: serde_json::Value) -> serde_json::Value {
    json!({"config": {"clip_actions": true, "normalize_input": false, "player": player}})
}

#[test]
fn games_and_averages_with_two_envs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    constant_policy(&path);
    let env = ScriptedEnv::new(&[0.0, 0.0], &[0.0], &[4.0], &[1.0, 2.0], &[2, 3]);
    let log = env.log.clone();
    let obs = TestObserver::default();
    let mut p = make_player(params(json!({"games_num": 4})), Some(env), &obs);
    restore(&mut p, &path).unwrap();
    let stats = p.run().into_result().unwrap();
    assert_eq!(
        obs.lines(),
        [
            "reward: 2.00 steps: 2.0",
            "reward: 6.00 steps: 3.0",
            "reward: 2.00 steps: 2.0",
            "reward: 4.00 steps: 2.5",
            "18.0",
            "av reward: 3.6 av steps: 2.4",
        ]
    );
    assert_eq!(stats.games, 5);
    assert!((stats.mean_reward - 3.6).abs() < 1e-12);
    assert!((stats.mean_steps - 2.4).abs() < 1e-12);
    let log = log.lock().unwrap();
    assert_eq!((log.resets, log.steps), (1, 6));
    // μ = 0.5 clipped and rescaled to [0, 4].
    assert_eq!(log.last_actions, [3.0, 3.0]);
}

#[test]
fn single_env_resets_per_game() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    constant_policy(&path);
    let env = ScriptedEnv::new(&[0.0, 0.0], &[-1.0], &[1.0], &[0.5], &[4]);
    let log = env.log.clone();
    let obs = TestObserver::default();
    let mut p = make_player(params(json!({"games_num": "3e0", "print_stats": false})), Some(env), &obs);
    restore(&mut p, &path).unwrap();
    let stats = p.run().into_result().unwrap();
    assert_eq!(obs.lines(), ["6.0", "av reward: 2.0 av steps: 4.0"]);
    assert_eq!((stats.games, stats.mean_reward, stats.mean_steps), (3, 2.0, 4.0));
    let log = log.lock().unwrap();
    assert_eq!((log.resets, log.steps), (3, 12));
    assert_eq!(log.last_actions, [0.5]);
}

#[test]
fn stochastic_play_samples_actions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    constant_policy(&path);
    let env = ScriptedEnv::new(&[0.0, 0.0], &[-10.0], &[10.0], &[0.5], &[2]);
    let log = env.log.clone();
    let obs = TestObserver::default();
    let p_json = json!({"config": {"clip_actions": false, "player": {"games_num": 1, "deterministic": "False"}}});
    let mut p = make_player(p_json, Some(env), &obs);
    restore(&mut p, &path).unwrap();
    p.run().into_result().unwrap();
    assert_ne!(log.lock().unwrap().last_actions, [0.5]);
}

#[test]
fn stop_flag_ends_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    constant_policy(&path);
    let obs = TestObserver::default();
    let mut env = ScriptedEnv::new(&[0.0, 0.0], &[-1.0], &[1.0], &[1.0], &[3]);
    env.stop_after = Some((5, obs.stop.clone()));
    let log = env.log.clone();
    // Default games_num (1e9).
    let mut p = make_player(json!({"config": {}}), Some(env), &obs);
    restore(&mut p, &path).unwrap();
    let stats = p.run().into_result().unwrap();
    assert!(obs.stop.load(Ordering::SeqCst));
    assert_eq!(log.lock().unwrap().steps, 5);
    assert_eq!((stats.games, stats.mean_reward, stats.mean_steps), (1, 3.0, 3.0));
    assert_eq!(obs.lines(), ["reward: 3.00 steps: 3.0", "3.0", "av reward: 3.0 av steps: 3.0"]);
}

#[test]
fn game_loop_is_capped_at_27000_steps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    constant_policy(&path);
    let env = ScriptedEnv::new(&[0.0, 0.0], &[-1.0], &[1.0], &[1.0, 1.0], &[0, 0]);
    let log = env.log.clone();
    let obs = TestObserver::default();
    let mut p = make_player(params(json!({"games_num": 1})), Some(env), &obs);
    restore(&mut p, &path).unwrap();
    let stats = p.run().into_result().unwrap();
    assert_eq!(log.lock().unwrap().steps, MAX_STEPS);
    assert_eq!(stats.games, 0);
    assert!(stats.mean_reward.is_nan());
    assert_eq!(obs.lines(), ["0.0", "av reward: nan av steps: nan"]);
}

#[test]
fn config_parsing() {
    let c = PlayerConfig::from_params_json("{}").unwrap();
    assert_eq!((c.games_num, c.deterministic, c.print_stats, c.clip_actions), (DEFAULT_GAMES_NUM, true, true, None));
    let c = PlayerConfig::from_params_json(
        &json!({"config": {"clip_actions": "False", "normalize_input": true,
                "player": {"games_num": "1e3", "deterministic": false, "print_stats": "false"}}})
        .to_string(),
    )
    .unwrap();
    assert_eq!(c.games_num, 1000);
    assert!(!c.deterministic && !c.print_stats);
    assert_eq!((c.clip_actions, c.normalize_input), (Some(false), Some(true)));
    let err = PlayerConfig::from_params_json(&json!({"config": {"player": {"games_num": "lots"}}}).to_string());
    assert!(err.unwrap_err().message.contains("config.player.games_num"));
    assert!(PlayerConfig::from_params_json("not json").is_err());
}

#[test]
fn booleans_are_read_as_the_trainer_reads_them() {
    for value in [json!(1), json!("True"), json!(true)] {
        let c = PlayerConfig::from_params_json(&json!({"config": {"normalize_input": value.clone()}}).to_string())
            .unwrap_or_else(|e| panic!("normalize_input: {value} refused: {}", e.message));
        assert_eq!(c.normalize_input, Some(true), "{value}");
    }
    let c = PlayerConfig::from_params_json(&json!({"config": {"normalize_input": 0}}).to_string()).unwrap();
    assert_eq!(c.normalize_input, Some(false));
    let err = PlayerConfig::from_params_json(&json!({"config": {"normalize_input": "maybe"}}).to_string()).unwrap_err();
    assert!(err.message.contains("config.normalize_input"), "{}", err.message);
}

#[test]
fn python_float_formatting() {
    let cases = [
        (18.0, "18.0"),
        (3.6, "3.6"),
        (-2.5, "-2.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (1.2345678901234568e17, "1.2345678901234568e+17"),
        (-1.5e-7, "-1.5e-07"),
        (0.0, "0.0"),
        (f64::NAN, "nan"),
        (f64::NEG_INFINITY, "-inf"),
    ];
    for (x, want) in cases {
        assert_eq!(py_float(x), want);
    }
}

#[test]
fn manifest_names_the_plugin() {
    let m = rlhost_ppo_player::manifest();
    assert_eq!(m.id.as_str(), "org.rlhost.ppo_player");
}

#[test]
fn env_state_is_restored_into_the_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.safetensors");
    let net = network(&[], "elu", true, json!({}));
    let mut w = base_checkpoint(2, 1, &net, false);
    w.linear("a2c_network.mu", 1, 2, &[0.0, 0.0], &[0.5])
        .f32("a2c_network.sigma", &[1], &[0.0])
        .u8("env_state", b"curriculum=3");
    w.write(&path);
    let env = ScriptedEnv::new(&[0.0, 0.0], &[-1.0], &[1.0], &[1.0], &[2]);
    let log = env.log.clone();
    let mut p = make_player(params(json!({})), Some(env), &TestObserver::default());
    restore(&mut p, &path).unwrap();
    assert_eq!(log.lock().unwrap().state, b"curriculum=3");
}

/// Policy on CUDA, environment on the CPU (skipped without CUDA).
#[test]
fn cuda_policy_with_cpu_env() {
    if !tch::Cuda::is_available() {
        // scripts/gpu_check.sh sets it: there a skipped CUDA test is a failure.
        assert!(
            std::env::var_os("RLHOST_REQUIRE_CUDA").is_none(),
            "RLHOST_REQUIRE_CUDA is set but CUDA is not available"
        );
        eprintln!("skipped: no CUDA");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    constant_policy(&path);
    let env = ScriptedEnv::new(&[0.0, 0.0], &[0.0], &[4.0], &[1.0, 2.0], &[2, 3]);
    let obs = TestObserver::default();
    let device = rlhost_sdk::api::DlDevice::cuda(0);
    let mut p = make_player_on(params(json!({"games_num": 4})), Some(env), &obs, device);
    restore(&mut p, &path).unwrap();
    let stats = p.run().into_result().unwrap();
    assert_eq!((stats.games, stats.mean_reward), (5, 3.6));
    let x = tch::Tensor::zeros([3, 2], (tch::Kind::Float, tch::Device::Cpu));
    assert_eq!(values(&act(&mut p, &x, 1, true).unwrap()), [3.0, 3.0, 3.0]);
    let xc = x.to_device(tch::Device::Cuda(0));
    assert_eq!(values(&act(&mut p, &xc, 1, true).unwrap()), [3.0, 3.0, 3.0]);
}

/// Issue 18 finding 6: NaN rewards end the run with one line naming them, not "av reward: nan".
#[test]
fn non_finite_rewards_end_the_run_naming_the_game_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    constant_policy(&path);
    let env = ScriptedEnv::new(&[0.0, 0.0], &[0.0], &[4.0], &[1.0, f32::NAN], &[2, 3]);
    let obs = TestObserver::default();
    let mut p = make_player(params(json!({"games_num": 4})), Some(env), &obs);
    restore(&mut p, &path).unwrap();
    let err = p.run().into_result().unwrap_err();
    assert_eq!(err.kind(), rlhost_sdk::ErrorKind::NonFinite);
    assert_eq!(
        err.message.as_str(),
        "the environment returned a non-finite reward: game 2 (env 1) has return NaN after 3 steps; play stopped"
    );
    assert!(!obs.lines().iter().any(|l| l.contains("av reward")), "{:?}", obs.lines());
}
