//! The central value (`central_value_config`, docs/rl_games.md §4.17) against rl_games 1.6.5: on
//! the shipped Pendulum config with the env's privileged states and the critic of
//! `fixtures/pendulum_central_value.json` (its own MLP, minibatch, mini-epochs, LR with a linear
//! schedule, normalize_input, clip_value, truncate_grads with its own grad_norm), seed 42:
//! - the initial weights of both networks are rl_games' bit for bit (the critic's construction
//!   draws follow the actor-critic's);
//! - after one and two full epochs (rollouts whose values, bootstrap and GAE are the critic's,
//!   the critic's update, then the policy's with its value head fitted to the critic-normalised
//!   returns) every weight, both normalisers of both networks and the critic's Adam moments and
//!   LR agree with rl_games'. On the machine that made the fixture they are equal to float noise;
//!   the bounds leave room for another CPU's GEMM rounding.
//!
//! Fixture: `bench/ab/cv_fixture.py`. One test in its own binary: it owns libtorch's generator.
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::NativeAgent;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tch::Kind;

mod common;

const SEED: u64 = 42;

/// A fresh agent on the shipped Pendulum config with states and the fixture's critic, with
/// `max_epochs: 2` (which the critic's linear LR schedule spans), and what its observer records.
fn agent(run_dir: &Path) -> (PpoAgent, Arc<common::Record>) {
    let text = std::fs::read_to_string(common::fixtures().join("pendulum_central_value.json")).unwrap();
    let central_value: serde_json::Value = serde_json::from_str(&text).unwrap();
    common::pendulum_agent(SEED, run_dir, |p| {
        p["config"]["max_epochs"] = 2.into();
        p["config"]["central_value_config"] = central_value;
        p["config"]["env_config"]["states"] = true.into();
    })
}

#[test]
fn seed_42_with_a_central_value_trains_as_rl_games() {
    let reference =
        common::central_value_fixture(&common::rl_games_fixture("rl_games_1.6.5_pendulum_central_value_seed42.npz"));
    let dir = tempfile::tempdir().unwrap();

    let (one, _) = agent(&dir.path().join("init"));
    let mut compared = 0;
    for (name, t) in one.state_tensors() {
        if let Some(expected) = reference.get(&format!("init.{name}")) {
            if name.ends_with(".count") {
                continue;
            }
            let same = t.to_kind(Kind::Float).equal(&expected.to_kind(Kind::Float).reshape(t.size()));
            assert!(same, "initial {name} differs from rl_games' for seed {SEED}");
            compared += 1;
        }
    }
    // 9 actor-critic tensors, 4 statistics each for 2 normalisers x 2 networks, 6 critic tensors.
    assert_eq!(compared, 9 + 4 + 4 + 6, "expected every initial tensor in the fixture");
    drop(one);

    // Epoch 1 of the 2: the host's stop request after the first epoch.
    let (mut one, record) = agent(&dir.path().join("one"));
    record.stop_after_epochs.store(1, Ordering::SeqCst);
    one.train().unwrap();
    assert_eq!(one.epoch(), 1);
    let (d1, name1, n1, cv1) = common::worst_difference(&one, &reference, "epoch1");
    eprintln!("after epoch 1: worst relative difference {d1:.2e} ({name1})");
    assert_eq!((n1, cv1), (15, 12 + 13), "weights, normalisers, the critic's Adam state");
    assert!(d1 < 1e-5, "after epoch 1, {name1} differs from rl_games' by {d1:.2e} (relative)");
    // Half-way through max_epochs, rl_games' linear schedule gives the critic 1e-6 + (lr - 1e-6)/2.
    let lr1 = reference["epoch1.cv_lr"].double_value(&[0]);
    assert_eq!(lr1, 1e-6 + (5e-4 - 1e-6) * 0.5);
    assert_eq!(one.critic().expect("a central value").adam.lr, lr1);
    // `losses/cval_loss` and `info/cval_lr` at the critic's frame count, as CentralValueTrain writes them.
    let scalar = |tag: &str| common::scalar_series(&record, tag)[0];
    let (x, loss) = scalar("losses/cval_loss");
    let expected = reference["epoch1.cv_loss"].double_value(&[0]);
    eprintln!("epoch 1 central value loss: {loss} (rl_games {expected})");
    assert_eq!(x, 8192);
    assert!((loss - expected).abs() <= 1e-6 * expected.abs(), "cval_loss {loss} against rl_games' {expected}");
    assert_eq!(scalar("info/cval_lr"), (8192, lr1));
    drop(one);

    let (mut two, _) = agent(&dir.path().join("two"));
    two.train().unwrap();
    let (d2, name2, n2, cv2) = common::worst_difference(&two, &reference, "epoch2");
    eprintln!("after epoch 2: worst relative difference {d2:.2e} ({name2})");
    assert_eq!((n2, cv2), (15, 25));
    assert!(d2 < 1e-3, "after epoch 2, {name2} differs from rl_games' by {d2:.2e} (relative)");
    assert_eq!(two.critic().unwrap().adam.lr, reference["epoch2.cv_lr"].double_value(&[0]));
}
