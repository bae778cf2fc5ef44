//! The central value (`central_value_config`, docs/rl_games.md §4.17) as rl_games 1.6.5 runs it:
//! it needs the env's `states`, it is what the rollout's values are, it is trained on its own,
//! `freeze_critic` and `use_experimental_cv` act as in rl_games, and checkpoints hold it under
//! rl_games' names, so a resume is bitwise exact. (Equality with rl_games' numbers is
//! `central_value_as_rl_games.rs`.) The tests take [`GENERATOR`]: libtorch's CPU generator is
//! process-global.
use rlhost_sdk::{ErrorKind, NativeAgent};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use tch::Tensor;

mod common;
use common::{make_agent, patch_checkpoint, reach_params, ReachEnv};

static GENERATOR: Mutex<()> = Mutex::new(());

/// Reach with a central value on its 3 privileged state features.
fn params(epochs: i64) -> serde_json::Value {
    let mut p = reach_params(8, 16, 64);
    p["config"]["max_epochs"] = epochs.into();
    p["config"]["central_value_config"] = json!({
        "minibatch_size": 32,
        "mini_epochs": 2,
        "learning_rate": "1e-3",
        "lr_schedule": "adaptive",
        "kl_threshold": 0.016,
        "schedule_type": "standard",
        "clip_value": true,
        "normalize_input": true,
        "truncate_grads": true,
        "network": {
            "name": "actor_critic",
            "central_value": true,
            "mlp": {"units": [16, 8], "activation": "elu", "d2rl": false, "initializer": {"name": "default"}}
        }
    });
    p
}

fn tensors(agent: &rlhost_a2c_continuous::PpoAgent) -> HashMap<String, Tensor> {
    agent.state_tensors().into_iter().map(|(n, t)| (n, t.copy())).collect()
}

fn changed(before: &HashMap<String, Tensor>, after: &HashMap<String, Tensor>, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> =
        before.iter().filter(|(n, t)| n.starts_with(prefix) && !t.equal(&after[*n])).map(|(n, _)| n.clone()).collect();
    names.sort();
    names
}

#[test]
fn without_states_the_config_is_refused_naming_the_group() {
    let _one = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let err = make_agent(&params(1), ReachEnv::new(8, 5, 10), dir.path(), true).err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert!(err.message.contains("'states' observation group"), "{}", err.message);

    let mut p = params(1);
    p["config"]["central_value_config"]["minibatch_size"] = 48.into();
    let err = make_agent(&p, ReachEnv::new(8, 5, 10).with_states(), dir.path(), true).err().expect("refused");
    assert_eq!(
        err.message.as_str(),
        "params.config.central_value_config.minibatch_size: batch size 128 is not divisible by the central value minibatch_size 48"
    );
    let mut p = params(1);
    p["config"]["central_value_config"]["network"]["central_value"] = false.into();
    let err = make_agent(&p, ReachEnv::new(8, 5, 10).with_states(), dir.path(), true).err().expect("refused");
    assert!(err.message.starts_with("params.config.central_value_config.network.central_value: must be True"));

    // rl_games records and resets a recurrent critic's states only in a recurrent policy's
    // rollout, and trains it on whole sequences.
    let mut p = params(1);
    p["config"]["central_value_config"]["network"]["rnn"] = json!({"name": "lstm", "units": 8, "layers": 1});
    let states = || ReachEnv::new(8, 5, 10).with_states();
    let err = make_agent(&p, states(), dir.path(), true).err().expect("refused");
    let line = "params.config.central_value_config.network.rnn: needs an rnn in params.network too";
    assert!(err.message.starts_with(line), "{}", err.message);
    p["network"]["rnn"] = json!({"name": "gru", "units": 8, "layers": 1});
    p["config"]["seq_length"] = 16.into();
    assert!(make_agent(&p, states(), dir.path(), true).is_ok());
    p["config"]["central_value_config"]["minibatch_size"] = 8.into();
    let err = make_agent(&p, states(), dir.path(), true).err().expect("refused");
    let line = "params.config.central_value_config.minibatch_size: 8 is not divisible by seq_length 16";
    assert!(err.message.starts_with(line), "{}", err.message);
}

#[test]
fn the_critic_and_the_actor_train_each_on_their_own() {
    let _one = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (mut agent, record) = make_agent(&params(2), ReachEnv::new(8, 5, 10).with_states(), dir.path(), true).unwrap();
    let before = tensors(&agent);
    agent.train().unwrap();
    let after = tensors(&agent);
    let critic = agent.critic().unwrap();
    // 2 epochs x 2 mini-epochs x (128 / 32) minibatches; an adaptive schedule is a constant LR (quirk 16).
    assert_eq!(critic.adam.step, 16.0);
    assert_eq!(critic.adam.lr, 1e-3);
    // The states' statistics saw every minibatch of every mini-epoch (quirk 1): 1 + 2 x 2 x 128.
    assert_eq!(critic.model.states_rms.as_ref().unwrap().count, 513.0);
    // The agent's value normaliser is the critic's (values and returns, twice per epoch); the
    // actor-critic's own is never updated, as in rl_games.
    assert_eq!(critic.model.value_rms.as_ref().unwrap().count, 513.0);
    assert_eq!(after["value_mean_std.count"].double_value(&[]), 1.0);
    for prefix in ["assymetric_vf_nets.model.a2c_network.", "a2c_network."] {
        let n = before.keys().filter(|n| n.starts_with(prefix)).count();
        assert_eq!(changed(&before, &after, prefix).len(), n, "every {prefix}* tensor trained");
    }
    let scalars = record.scalars.lock().unwrap().clone();
    let cval: Vec<(i64, f64)> =
        scalars.iter().filter(|(t, _, _)| t == "losses/cval_loss").map(|&(_, x, v)| (x, v)).collect();
    assert_eq!(cval.iter().map(|c| c.0).collect::<Vec<_>>(), [128, 256], "at the critic's frame count");
    assert!(cval.iter().all(|c| c.1.is_finite() && c.1 > 0.0), "{cval:?}");

    // freeze_critic: the critic never steps; use_experimental_cv: False: the actor's value head
    // gets no loss and stays as built.
    let mut p = params(1);
    p["config"]["central_value_config"]["freeze_critic"] = true.into();
    p["config"]["use_experimental_cv"] = false.into();
    let (mut frozen, record) = make_agent(&p, ReachEnv::new(8, 5, 10).with_states(), dir.path(), true).unwrap();
    let before = tensors(&frozen);
    frozen.train().unwrap();
    let after = tensors(&frozen);
    assert!(changed(&before, &after, "assymetric_vf_nets.model.a2c_network.").is_empty());
    assert_eq!(frozen.critic().unwrap().adam.step, 0.0);
    assert!(changed(&before, &after, "a2c_network.value.").is_empty());
    assert!(!changed(&before, &after, "a2c_network.mu.").is_empty());
    let scalars = record.scalars.lock().unwrap().clone();
    let c_loss = scalars.iter().find(|(t, _, _)| t == "losses/c_loss").unwrap().2;
    let cval_loss = scalars.iter().find(|(t, _, _)| t == "losses/cval_loss").unwrap().2;
    assert_eq!((c_loss, cval_loss), (0.0, 0.0));
}

#[test]
fn checkpoints_hold_the_critic_under_rl_games_names_and_resume_exactly() {
    let _one = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let env = || ReachEnv::new(8, 5, 10).with_states();
    let (mut full, _) = make_agent(&params(4), env(), dir.path(), true).unwrap();
    full.train().unwrap();

    let (mut a, _) = make_agent(&params(2), env(), dir.path(), true).unwrap();
    a.train().unwrap();
    let saved = dir.path().join("saved.safetensors");
    a.save(&saved).unwrap();
    let stored: Vec<String> = Tensor::read_safetensors(&saved)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("assymetric"))
        .collect();
    for name in [
        "assymetric_vf_nets.model.a2c_network.actor_mlp.0.weight",
        "assymetric_vf_nets.model.a2c_network.actor_mlp.2.bias",
        "assymetric_vf_nets.model.a2c_network.value.weight",
        "assymetric_vf_nets.model.running_mean_std.running_var",
        "assymetric_vf_nets.model.value_mean_std.count",
        "assymetric_vf_optimizer.state.model.a2c_network.value.bias.exp_avg_sq",
        "assymetric_vf_optimizer.step",
    ] {
        assert!(stored.iter().any(|n| n == name), "{name} missing from {stored:?}");
    }
    let rollout_states = Tensor::read_safetensors(&saved).unwrap().into_iter().find(|(n, _)| n == "rollout.states");
    assert_eq!(rollout_states.map(|(_, t)| t.size()), Some(vec![8, 3]));

    let (mut b, _) = make_agent(&params(4), env(), dir.path(), true).unwrap();
    b.restore(&saved).unwrap();
    assert_eq!(b.critic().unwrap().adam.step, a.critic().unwrap().adam.step);
    b.train().unwrap();
    common::assert_same_state(&full, &b);

    // Without the generator state the noise is replayed: H draws per epoch (the critic's
    // bootstrap draws nothing), and the resume is still exact.
    let old = dir.path().join("old.safetensors");
    patch_checkpoint(&saved, &old, |_| {}, |n, _| n != "rng.generator_state");
    let (mut e, record) = make_agent(&params(4), env(), dir.path(), true).unwrap();
    e.restore(&old).unwrap();
    e.train().unwrap();
    common::assert_same_state(&full, &e);
    let messages = record.messages.lock().unwrap().clone();
    assert!(messages.iter().any(|m| m.contains("replaying 32 noise draws (2 epochs x 16)")), "{messages:?}");

    // A checkpoint without the critic (a config that had none) is refused naming the tensor.
    let mut plain = params(1);
    plain["config"].as_object_mut().unwrap().remove("central_value_config");
    let (mut c, _) = make_agent(&plain, env(), dir.path(), true).unwrap();
    c.train().unwrap();
    let no_critic = dir.path().join("no_critic.safetensors");
    c.save(&no_critic).unwrap();
    let (mut d, _) = make_agent(&params(1), env(), dir.path(), true).unwrap();
    let err = d.restore(&no_critic).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checkpoint);
    assert!(
        err.message.contains("missing tensor 'assymetric_vf_nets.model.a2c_network.actor_mlp.0.weight'"),
        "{}",
        err.message
    );
}
