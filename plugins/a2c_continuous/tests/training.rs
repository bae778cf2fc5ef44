//! Training-loop behaviour: learning on the toy task, logging, Ctrl-C, non-finite losses, sigma.
use rlhost_sdk::api::SigmaOverride;
use rlhost_sdk::{ErrorKind, NativeAgent};
use std::fs;

mod common;
use common::{make_agent, reach_params, ReachEnv};

#[test]
fn learns_reach_and_logs_rl_games_tags() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = reach_params(32, 16, 256);
    p["config"]["max_epochs"] = 60.into();
    p["config"]["print_stats"] = true.into();
    let (mut agent, record) = make_agent(&p, ReachEnv::new(32, 3, 20), dir.path(), true).unwrap();
    agent.train().unwrap();
    let epochs = record.epochs.lock().unwrap();
    assert_eq!(epochs.len(), 60);
    let first = epochs.iter().find(|e| e.mean_reward.is_finite()).unwrap().mean_reward;
    let last = epochs.last().unwrap().mean_reward;
    eprintln!("reach: first {first:.2} last {last:.2}");
    assert!(last > first * 0.5 && last > -15.0, "no clear improvement: {first} → {last}");
    let tags: Vec<String> = record.scalars.lock().unwrap().iter().map(|s| s.0.clone()).collect();
    for tag in [
        "performance/step_inference_rl_update_fps",
        "performance/step_inference_fps",
        "performance/step_fps",
        "performance/rl_update_time",
        "performance/step_inference_time",
        "performance/step_time",
        "losses/a_loss",
        "losses/c_loss",
        "losses/entropy",
        "losses/bounds_loss",
        "info/last_lr",
        "info/lr_mul",
        "info/e_clip",
        "info/kl",
        "info/epochs",
        "rewards/step",
        "rewards/iter",
        "rewards/time",
        "shaped_rewards/step",
        "episode_lengths/iter",
    ] {
        assert!(tags.iter().any(|t| t == tag), "missing scalar {tag}");
    }
    let messages = record.messages.lock().unwrap();
    assert!(
        messages.iter().any(|m| m.starts_with("fps step: ")
            && m.contains("fps step and policy inference: ")
            && m.contains("epoch: 60/60 frames: 30720")),
        "{:?}",
        &messages[..3]
    );
    assert!(messages.iter().any(|m| m == "MAX EPOCHS NUM!"));
}

#[test]
fn ctrl_c_saves_and_returns_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let p = reach_params(8, 16, 64);
    let (mut agent, record) = make_agent(&p, ReachEnv::new(8, 3, 10), dir.path(), true).unwrap();
    record.stop_after_epochs.store(2, std::sync::atomic::Ordering::SeqCst);
    let s = agent.train().unwrap();
    assert!(s.interrupted);
    assert_eq!(s.epoch, 2);
    assert!(dir.path().join("nn/last_reach_ep_2_interrupted.safetensors").exists());
}

#[test]
fn non_finite_loss_stops_with_the_epoch_and_keeps_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = reach_params(8, 8, 64);
    p["config"]["save_frequency"] = 1.into();
    let mut env = ReachEnv::new(8, 3, 8);
    env.nan_after = Some(8 * 4); // epochs 1–4 are fine, epoch 5 sees NaN rewards
    let (mut agent, _) = make_agent(&p, env, dir.path(), true).unwrap();
    let err = agent.train().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NonFinite);
    assert_eq!(
        err.message.as_str(),
        "the environment returned a non-finite reward at epoch 5 (env 0, step 0); training stopped, the last checkpoint on disk is kept"
    );
    let files: Vec<String> = fs::read_dir(dir.path().join("nn"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().any(|f| f.starts_with("last_reach_ep_4_rew_")), "{files:?}");
    // The last good checkpoint loads.
    let good = files.iter().find(|f| f.starts_with("last_reach_ep_4_rew_")).unwrap();
    let (mut fresh, _) = make_agent(&p, ReachEnv::new(8, 3, 8), dir.path(), true).unwrap();
    fresh.restore(&dir.path().join("nn").join(good)).unwrap();
    assert_eq!(fresh.epoch(), 4);
}

#[test]
fn set_sigma_only_for_fixed_sigma() {
    let dir = tempfile::tempdir().unwrap();
    let p = reach_params(8, 16, 64);
    let (mut agent, _) = make_agent(&p, ReachEnv::new(8, 3, 10), dir.path(), true).unwrap();
    assert_eq!(agent.set_sigma(-1.5).unwrap(), SigmaOverride::Applied);
    let sigma = agent.state_tensors().into_iter().find(|(n, _)| n == "a2c_network.sigma").unwrap().1;
    assert_eq!(sigma.double_value(&[0]), -1.5);
    let mut q = reach_params(8, 16, 64);
    q["network"]["space"]["continuous"]["fixed_sigma"] = false.into();
    let (mut head, _) = make_agent(&q, ReachEnv::new(8, 3, 10), dir.path(), true).unwrap();
    assert_eq!(head.set_sigma(0.0).unwrap(), SigmaOverride::NotFixed);
    assert!(head.state_tensors().iter().any(|(n, _)| n == "a2c_network.sigma.weight"));
}

#[test]
fn variants_train_without_errors() {
    // separate critic, sigma head, softplus, clipped value, standard schedule, smooth clamp, linear LR.
    let dir = tempfile::tempdir().unwrap();
    let mut p = reach_params(8, 16, 64);
    p["network"]["separate"] = true.into();
    p["network"]["mlp"]["activation"] = "tanh".into();
    p["network"]["space"]["continuous"]["fixed_sigma"] = false.into();
    p["network"]["space"]["continuous"]["sigma_parametrization"] = "softplus".into();
    p["network"]["space"]["continuous"]["min_sigma"] = 0.01.into();
    p["config"]["clip_value"] = true.into();
    p["config"]["schedule_type"] = "standard".into();
    p["config"]["use_smooth_clamp"] = true.into();
    p["config"]["max_epochs"] = 3.into();
    let (mut agent, _) = make_agent(&p, ReachEnv::new(8, 3, 10), dir.path(), true).unwrap();
    agent.train().unwrap();
    assert!(agent.state_tensors().iter().any(|(n, _)| n == "a2c_network.critic_mlp.0.weight"));
    let mut q = reach_params(8, 16, 64);
    q["config"]["lr_schedule"] = "linear".into();
    q["config"]["max_epochs"] = 2.into();
    q["config"]["normalize_input"] = false.into();
    q["config"]["normalize_value"] = false.into();
    let (mut agent, _) = make_agent(&q, ReachEnv::new(8, 3, 10), dir.path(), true).unwrap();
    agent.train().unwrap();
    assert!(!agent.state_tensors().iter().any(|(n, _)| n.starts_with("running_mean_std")));
}

#[test]
fn num_actors_must_match_the_env() {
    let dir = tempfile::tempdir().unwrap();
    let p = reach_params(8, 16, 64);
    let err = make_agent(&p, ReachEnv::new(4, 3, 10), dir.path(), true).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message.contains("num_actors"));
}

/// Issue 18 finding 6: the once-per-epoch check names the source of a NaN: the environment's
/// observations, the policy, or the reward shaper.
#[test]
fn non_finite_values_are_traced_to_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let p = reach_params(8, 8, 64);
    let stopped = "; training stopped, the last checkpoint on disk is kept";
    // NaN observations from step 8 + 3 (epoch 2, step 3), in the last env.
    let mut env = ReachEnv::new(8, 3, 8);
    env.nan_obs_after = Some(8 + 3);
    let (mut agent, _) = make_agent(&p, env, dir.path(), true).unwrap();
    let err = agent.train().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NonFinite);
    assert_eq!(
        err.message.as_str(),
        format!("the environment returned a non-finite observation at epoch 2 (env 7, step 3){stopped}")
    );
    // A policy whose weights went NaN.
    let (mut agent, _) = make_agent(&p, ReachEnv::new(8, 3, 8), dir.path(), true).unwrap();
    let (_, mut mu) = agent.state_tensors().into_iter().find(|(n, _)| n == "a2c_network.mu.bias").unwrap();
    tch::no_grad(|| {
        let _ = mu.fill_(f64::NAN);
    });
    let err = agent.train().unwrap_err();
    assert_eq!(
        err.message.as_str(),
        format!(
            "the policy produced a non-finite action from a finite observation at epoch 1 (env 0, step 0){stopped}"
        )
    );
    // ln of a negative reward.
    let mut q = p.clone();
    q["config"]["reward_shaper"]["log_val"] = true.into();
    let (mut agent, _) = make_agent(&q, ReachEnv::new(8, 3, 8), dir.path(), true).unwrap();
    let err = agent.train().unwrap_err();
    assert!(
        err.message.starts_with("params.config.reward_shaper turned the finite reward -")
            && err.message.ends_with(&format!(" into a non-finite one at epoch 1 (env 0, step 0){stopped}")),
        "{}",
        err.message
    );
}
