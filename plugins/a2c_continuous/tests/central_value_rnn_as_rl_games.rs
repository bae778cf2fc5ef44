//! A recurrent central value (`central_value_config.network.rnn`, docs/rl_games.md §4.17) against
//! rl_games 1.6.5: on the shipped Pendulum config with the env's privileged states, the recurrent
//! policy, `seq_length` and the critic of `fixtures/pendulum_central_value_rnn.json` (a 2-layer
//! LSTM before its MLP with layer norm, as Isaac Lab's factory configs), seed 42:
//! - the initial weights of both networks, the critic's LSTM and layer norm included, are
//!   rl_games' bit for bit (the critic's draws follow the actor-critic's);
//! - after one and two full epochs (rollouts in which the critic carries its own states, one step
//!   per value and one more for the bootstrap, zeroed on done and recorded every `seq_length`
//!   steps; the critic's update over whole sequences from the recorded states; then the policy's)
//!   every weight, both normalisers of both networks, the critic's Adam moments and LR, and the
//!   epoch's losses agree with rl_games'. The bounds leave room for another CPU's GEMM rounding; a
//!   state stepped once too often or not reset fails them by far.
//!
//! Fixture: `bench/ab/cv_fixture.py --variant rnn`. One test in its own binary: it owns libtorch's
//! generator.
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::NativeAgent;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tch::{Kind, Tensor};

mod common;

const SEED: u64 = 42;

/// Pendulum with states, the fixture's recurrent policy and recurrent critic, `max_epochs: 2`
/// (which the critic's linear LR schedule spans).
fn agent(run_dir: &Path) -> (PpoAgent, Arc<common::Record>) {
    let text = std::fs::read_to_string(common::fixtures().join("pendulum_central_value_rnn.json")).unwrap();
    let variant: serde_json::Value = serde_json::from_str(&text).unwrap();
    common::pendulum_agent(SEED, run_dir, |p| {
        p["network"]["rnn"] = variant["policy_rnn"].clone();
        p["config"]["seq_length"] = variant["seq_length"].clone();
        p["config"]["max_epochs"] = 2.into();
        p["config"]["central_value_config"] = variant["central_value_config"].clone();
        p["config"]["env_config"]["states"] = true.into();
    })
}

/// Epoch `epoch`'s `losses/a_loss`, `losses/c_loss` and `losses/cval_loss` against the fixture's.
fn check_losses(record: &common::Record, reference: &HashMap<String, Tensor>, epoch: usize, bound: f64) {
    for (tag, key) in [("losses/a_loss", "a_loss"), ("losses/c_loss", "c_loss"), ("losses/cval_loss", "cv_loss")] {
        let series = common::scalar_series(record, tag);
        let (_, ours) = series[epoch - 1];
        let expected = reference[&format!("epoch{epoch}.{key}")].double_value(&[0]);
        eprintln!("epoch {epoch} {tag}: {ours:e} (rl_games {expected:e})");
        assert!(
            (ours - expected).abs() <= bound * expected.abs().max(1e-9),
            "epoch {epoch} {tag} {ours} against rl_games' {expected}"
        );
    }
}

#[test]
fn seed_42_with_a_recurrent_central_value_trains_as_rl_games() {
    let reference = common::central_value_fixture(&common::rl_games_fixture(
        "rl_games_1.6.5_pendulum_central_value_rnn_seed42.npz",
    ));
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
    // Actor-critic: σ, MLP (4), LSTM (4), layer norm (2), value (2), μ (2); critic: MLP (4),
    // LSTM 2 layers (8), layer norm (2), value (2); 2 statistics for each of the 4 normalisers.
    assert_eq!(compared, 15 + 16 + 8, "expected every initial tensor in the fixture");
    drop(one);

    // Epoch 1 of the 2: the host's stop request after the first epoch.
    let (mut one, record) = agent(&dir.path().join("one"));
    record.stop_after_epochs.store(1, Ordering::SeqCst);
    one.train().unwrap();
    assert_eq!(one.epoch(), 1);
    let (d1, name1, n1, cv1) = common::worst_difference(&one, &reference, "epoch1");
    eprintln!("after epoch 1: worst relative difference {d1:.2e} ({name1})");
    // Weights and 3 statistics per normaliser; the critic's Adam: 2 moments per tensor and the step.
    assert_eq!((n1, cv1), (15 + 6, 16 + 6 + 2 * 16 + 1), "weights, normalisers, the critic's Adam state");
    assert!(d1 < 1e-5, "after epoch 1, {name1} differs from rl_games' by {d1:.2e} (relative)");
    let lr1 = reference["epoch1.cv_lr"].double_value(&[0]);
    assert_eq!(one.critic().expect("a central value").adam.lr, lr1);
    check_losses(&record, &reference, 1, 1e-5);
    drop(one);

    let (mut two, record) = agent(&dir.path().join("two"));
    two.train().unwrap();
    let (d2, name2, n2, cv2) = common::worst_difference(&two, &reference, "epoch2");
    eprintln!("after epoch 2: worst relative difference {d2:.2e} ({name2})");
    assert_eq!((n2, cv2), (n1, cv1));
    assert!(d2 < 1e-3, "after epoch 2, {name2} differs from rl_games' by {d2:.2e} (relative)");
    assert_eq!(two.critic().unwrap().adam.lr, reference["epoch2.cv_lr"].double_value(&[0]));
    check_losses(&record, &reference, 2, 1e-3);
}
