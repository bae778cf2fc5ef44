//! Recurrent policies (`network.rnn`, docs/rl_games.md §5.6) against rl_games 1.6.5: on the shipped
//! Pendulum config with each `network.rnn` block and `seq_length` of `fixtures/pendulum_rnn.json`
//! (an LSTM before the MLP with layer norm, as Isaac Lab's factory configs; a separate GRU after the
//! MLP with `concat_input`), seed 42:
//! - the initial weights, the recurrent layers' and layer norm's included, are rl_games' bit for
//!   bit (the RNN's draws come between the input-sizing draw and the MLP's);
//! - after one and two full epochs (rollouts carrying the hidden states, recording them every
//!   `seq_length` steps and zeroing them on done; updates by truncated BPTT over the minibatch's
//!   sequences with the done resets) every weight and both normalisers agree with rl_games'. On
//!   the machine that made the fixtures they agree to float noise; the bounds leave room for
//!   another CPU's GEMM rounding, and a generator or a reset out of step fails them by far.
//!
//! Fixtures: `bench/ab/rnn_fixture.py`. One test in its own binary: it owns libtorch's generator.
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::NativeAgent;
use std::collections::HashMap;
use std::path::Path;
use tch::{Kind, Tensor};

mod common;

const SEED: u64 = 42;

/// The rl_games 1.6.5 fixture of the `name` variant.
fn fixture(name: &str) -> HashMap<String, Tensor> {
    let path = common::rl_games_fixture(&format!("rl_games_1.6.5_pendulum_{name}_seed42.npz"));
    Tensor::read_npz(&path).unwrap().into_iter().collect()
}

/// A fresh agent on the shipped Pendulum config with the `name` variant's rnn, training `epochs`.
fn pendulum_agent(name: &str, epochs: u64, run_dir: &Path) -> PpoAgent {
    let text = std::fs::read_to_string(common::fixtures().join("pendulum_rnn.json")).unwrap();
    let variants: serde_json::Value = serde_json::from_str(&text).unwrap();
    let variant = &variants[name];
    common::pendulum_agent(SEED, run_dir, |p| {
        p["config"]["max_epochs"] = epochs.into();
        p["config"]["seq_length"] = variant["seq_length"].clone();
        p["network"]["separate"] = variant["separate"].clone();
        p["network"]["rnn"] = variant["rnn"].clone();
    })
    .0
}

/// The largest relative (‖a − b‖ / ‖b‖) and absolute differences between the agent's tensors and
/// the fixture's `<prefix>.*`, the tensor with the largest relative one, and how many were compared.
fn worst_difference(agent: &PpoAgent, reference: &HashMap<String, Tensor>, prefix: &str) -> (f64, f64, String, usize) {
    let (mut rel, mut abs, mut name, mut n) = (0.0f64, 0.0f64, String::new(), 0);
    for (key, t) in agent.state_tensors() {
        if let Some(expected) = reference.get(&format!("{prefix}.{key}")) {
            let (a, b) = (t.to_kind(Kind::Double), expected.to_kind(Kind::Double).reshape(t.size()));
            let diff = &a - &b;
            let r = diff.norm().double_value(&[]) / b.norm().double_value(&[]).max(1e-12);
            abs = abs.max(diff.abs().max().double_value(&[]));
            if r > rel {
                rel = r;
                name = key;
            }
            n += 1;
        }
    }
    (rel, abs, name, n)
}

/// Initial weights equal, epochs 1 and 2 within the bounds, for the `name` variant with
/// `tensors` network tensors (and 6 normaliser tensors).
fn check_variant(name: &str, tensors: usize) {
    let reference = fixture(name);
    let dir = tempfile::tempdir().unwrap();

    let mut agent = pendulum_agent(name, 1, &dir.path().join("one"));
    let mut compared = 0;
    for (key, t) in agent.state_tensors() {
        if let Some(expected) = reference.get(&format!("init.{key}")) {
            if key.starts_with("a2c_network.") {
                let same = t.to_kind(Kind::Float).equal(&expected.to_kind(Kind::Float).reshape(t.size()));
                assert!(same, "{name}: initial {key} differs from rl_games' for seed {SEED}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, tensors, "{name}: expected every network tensor in the fixture");

    agent.train().unwrap();
    let (rel1, abs1, name1, n1) = worst_difference(&agent, &reference, "epoch1");
    eprintln!("{name} after epoch 1: worst relative difference {rel1:.2e} ({name1}), max abs {abs1:.2e}");
    assert_eq!(n1, tensors + 6, "{name}: expected weights and both normalisers in the fixture");
    assert!(rel1 < 1e-5, "{name}: after epoch 1, {name1} differs from rl_games' by {rel1:.2e} (relative)");

    let mut agent = pendulum_agent(name, 2, &dir.path().join("two"));
    agent.train().unwrap();
    let (rel2, abs2, name2, n2) = worst_difference(&agent, &reference, "epoch2");
    eprintln!("{name} after epoch 2: worst relative difference {rel2:.2e} ({name2}), max abs {abs2:.2e}");
    assert_eq!(n2, tensors + 6);
    assert!(rel2 < 1e-3, "{name}: after epoch 2, {name2} differs from rl_games' by {rel2:.2e} (relative)");
}

#[test]
fn lstm_and_gru_policies_train_as_rl_games() {
    // σ, actor MLP (4), LSTM 2 layers (8), layer norm (2), value (2), μ (2).
    check_variant("lstm", 19);
    // σ, actor and critic MLPs (8), a_rnn and c_rnn (8), value (2), μ (2).
    check_variant("gru", 21);
}
