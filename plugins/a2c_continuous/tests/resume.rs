//! Resume exactness, alone in its own test binary: libtorch's CPU generator is process-global,
//! so another test training on a parallel thread would draw from it between our epochs (the
//! tests here take [`GENERATOR`] for the same reason).
use rlhost_sdk::NativeAgent;
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod common;
use common::{make_agent, patch_checkpoint, reach_params, ReachEnv};

/// One test at a time draws from the process-global generator.
static GENERATOR: Mutex<()> = Mutex::new(());

/// N+M epochs in one run equal N epochs, save, `patch` the file, restore into a fresh agent, M
/// epochs — bitwise. Returns the resumed agent's messages.
fn assert_resume_exact(patch: impl Fn(&std::path::Path, &std::path::Path)) -> Vec<String> {
    assert_resume_exact_for(reach_params(8, 16, 64), patch)
}

/// [`assert_resume_exact`] for the config `p` (on an env with privileged states when `p` has a
/// central value).
fn assert_resume_exact_for(
    mut p: serde_json::Value,
    patch: impl Fn(&std::path::Path, &std::path::Path),
) -> Vec<String> {
    let _one = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let states = p["config"].get("central_value_config").is_some();
    let env = || if states { ReachEnv::new(8, 5, 10).with_states() } else { ReachEnv::new(8, 5, 10) };
    let dir = tempfile::tempdir().unwrap();
    let (n, m) = (3i64, 3i64);
    p["config"]["max_epochs"] = (n + m).into();
    let (mut full, _) = make_agent(&p, env(), dir.path(), true).unwrap();
    full.train().unwrap();

    let mut first = p.clone();
    first["config"]["max_epochs"] = n.into();
    let (mut a, _) = make_agent(&first, env(), dir.path(), true).unwrap();
    a.train().unwrap();
    let saved = dir.path().join("saved.safetensors");
    a.save(&saved).unwrap();
    let path = dir.path().join("mid.safetensors");
    patch(&saved, &path);

    // The environment is built as in the first run (its seed is construction config, not state);
    // its dynamic state comes from `env_state`.
    let (mut b, record) = make_agent(&p, env(), dir.path(), true).unwrap();
    b.restore(&path).unwrap();
    let summary = b.train().unwrap();
    assert_eq!(summary.epoch, (n + m) as u64);
    common::assert_same_state(&full, &b);
    let messages = record.messages.lock().unwrap().clone();
    messages
}

#[test]
fn resume_is_bitwise_exact() {
    let messages = assert_resume_exact(|from, to| {
        std::fs::copy(from, to).unwrap();
    });
    assert!(!messages.iter().any(|m| m.contains("rng.generator_state")), "{messages:?}");
}

/// A recurrent policy resumes exactly: the checkpoint carries the hidden states of the envs'
/// current episodes (`rollout.rnn_states.*`; episodes of 10 steps span the 16-step rollouts).
#[test]
fn an_lstm_policy_resumes_bitwise_exact() {
    let mut p = reach_params(8, 16, 64);
    p["network"]["rnn"] = serde_json::json!({"name": "lstm", "units": 8, "layers": 1});
    p["config"]["seq_length"] = 4.into();
    assert_resume_exact_for(p, |from, to| {
        std::fs::copy(from, to).unwrap();
    });
}

/// A recurrent central value resumes exactly: the checkpoint carries its own hidden states
/// (`rollout.critic_rnn_states.*`) besides the policy's, and its LSTM and layer norm under
/// rl_games' names with their Adam moments.
#[test]
fn a_recurrent_central_value_resumes_bitwise_exact() {
    let mut p = reach_params(8, 16, 64);
    p["network"]["rnn"] = serde_json::json!({"name": "gru", "units": 8, "layers": 1});
    p["config"]["seq_length"] = 4.into();
    p["config"]["central_value_config"] = serde_json::json!({
        "minibatch_size": 32, "mini_epochs": 2, "learning_rate": "1e-3", "clip_value": true,
        "normalize_input": true, "truncate_grads": true,
        "network": {
            "name": "actor_critic", "central_value": true,
            "mlp": {"units": [16], "activation": "elu", "initializer": {"name": "default"}},
            "rnn": {"name": "lstm", "units": 8, "layers": 2, "before_mlp": true, "layer_norm": true}
        }
    });
    assert_resume_exact_for(p, |from, to| {
        let bytes = std::fs::read(from).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let names = st.names();
        for name in [
            "rollout.critic_rnn_states.0",
            "rollout.critic_rnn_states.1",
            "assymetric_vf_nets.model.a2c_network.rnn.rnn.weight_hh_l1",
            "assymetric_vf_nets.model.a2c_network.layer_norm.weight",
            "assymetric_vf_optimizer.state.model.a2c_network.rnn.rnn.weight_ih_l0.exp_avg",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        std::fs::copy(from, to).unwrap();
    });
}

/// A checkpoint written before the generator state was stored still resumes exactly, by replaying
/// the noise draws, and says so in one line.
#[test]
fn a_checkpoint_without_generator_state_replays_and_stays_exact() {
    let messages =
        assert_resume_exact(|from, to| patch_checkpoint(from, to, |_| {}, |n, _| n != "rng.generator_state"));
    let replay: Vec<&String> = messages.iter().filter(|m| m.contains("rng.generator_state")).collect();
    assert_eq!(replay.len(), 1, "{messages:?}");
    assert_eq!(
        replay[0],
        "checkpoint has no rng.generator_state (written by an older a2c_continuous): replaying 51 noise draws (3 epochs x 17) so the exploration noise continues exactly"
    );
}

/// Issue 18 finding 3: a tampered epoch count costs nothing at restore and the count continues.
#[test]
fn a_tampered_huge_epoch_resumes_promptly_and_continues_the_count() {
    let _one = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let huge: u64 = 1_000_000_000_000_000;
    let mut p = reach_params(8, 16, 64);
    p["config"]["max_epochs"] = 2.into();
    let (mut a, _) = make_agent(&p, ReachEnv::new(8, 5, 10), dir.path(), true).unwrap();
    a.train().unwrap();
    let saved = dir.path().join("saved.safetensors");
    a.save(&saved).unwrap();
    let tampered = dir.path().join("tampered.safetensors");
    let old_format = dir.path().join("tampered_old.safetensors");
    let set_epoch = |m: &mut std::collections::HashMap<String, String>| {
        m.insert("epoch".into(), huge.to_string());
    };
    patch_checkpoint(&saved, &tampered, set_epoch, |_, _| true);
    patch_checkpoint(&saved, &old_format, set_epoch, |n, _| n != "rng.generator_state");

    for (path, note) in [(&tampered, None), (&old_format, Some("is over the limit of 10000000"))] {
        let mut q = p.clone();
        q["config"]["max_epochs"] = (huge + 1).into();
        let (mut b, record) = make_agent(&q, ReachEnv::new(8, 5, 10), dir.path(), true).unwrap();
        let started = Instant::now();
        b.restore(path).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10), "restore took {:?}", started.elapsed());
        assert_eq!(b.epoch(), huge);
        let summary = b.train().unwrap();
        assert_eq!(summary.epoch, huge + 1);
        let name = format!("last_reach_ep_{}_rew_", huge + 1);
        let files: Vec<String> = std::fs::read_dir(dir.path().join("nn"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(files.iter().any(|f| f.starts_with(&name)), "{files:?}");
        let messages = record.messages.lock().unwrap().clone();
        let rng_lines: Vec<&String> = messages.iter().filter(|m| m.contains("rng.generator_state")).collect();
        match note {
            None => assert!(rng_lines.is_empty(), "{messages:?}"),
            Some(note) => assert!(rng_lines.len() == 1 && rng_lines[0].contains(note), "{messages:?}"),
        }
    }
}
