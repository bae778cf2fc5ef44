//! CNN towers (`network.cnn`, docs/rl_games.md §5.7) against rl_games 1.6.5: for each network of
//! `fixtures/cnn_networks.json` (Isaac Lab's camera cart-pole tower, conv2d on uint8 (H, W, C)
//! images with `permute_input`; a separate conv1d variant with an orthogonal conv initializer),
//! built after seed 42:
//! - the initial weights are rl_games' bit for bit (the convolutions' default draws come first,
//!   then the input-sizing `torch.rand(1, C, H, W)`, then the Linears; the conv initializer
//!   before the MLP's);
//! - the training-mode forward (input normaliser updated first, images / 255) gives rl_games' μ,
//!   σ, value and neg-log-prob, and the gradients of their sum are rl_games'. On the machine that
//!   made the fixture they agree to float noise; the bounds leave room for another CPU's rounding.
//!
//! Fixture: `bench/ab/cnn_fixture.py`. One test in its own binary: it owns libtorch's generator.
use rlhost_model::policy::Model;
use rlhost_model::spec::NetworkConfig;
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// ‖a − b‖ / ‖b‖ in float64 and max |a − b|.
fn differences(a: &Tensor, b: &Tensor) -> (f64, f64) {
    let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double).reshape(a.size()));
    let d = &a - &b;
    (d.norm().double_value(&[]) / b.norm().double_value(&[]).max(1e-12), d.abs().max().double_value(&[]))
}

#[test]
fn cnn_towers_build_run_and_differentiate_as_rl_games() {
    let reference: HashMap<String, Tensor> =
        Tensor::read_npz(rlhost_sdk::testing::rl_games_fixture("model/tests/fixtures/rl_games_1.6.5_cnn_seed42.npz"))
            .unwrap()
            .into_iter()
            .collect();
    let variants: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("cnn_networks.json")).unwrap()).unwrap();
    for (name, v) in variants.as_object().unwrap() {
        let mut cfg = NetworkConfig::from_json("network", &v["network"]).unwrap();
        cfg.arithmetic = rlhost_model::spec::Arithmetic::RlGames; // rl_games' own ops, to the bit
        let obs_shape: Vec<i64> = v["obs_shape"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
        let actions = v["actions"].as_i64().unwrap();
        tch::manual_seed(42);
        let mut model = Model::new(&cfg, &obs_shape, actions, true, true, Device::Cpu);
        let params = model.net.named_parameters();
        let mut compared = 0;
        for (key, p) in &params {
            let expected = &reference[&format!("{name}.init.{key}")];
            assert!(p.equal(&expected.reshape(p.size())), "{name}: initial {key} differs from rl_games' for seed 42");
            compared += 1;
        }
        let in_fixture = reference.keys().filter(|k| k.starts_with(&format!("{name}.init.a2c_network."))).count();
        assert_eq!(compared, in_fixture, "{name}: every network tensor of rl_games' state dict");

        let obs = &reference[&format!("{name}.obs")];
        let x = if obs.kind() == Kind::Uint8 { obs.to_kind(Kind::Float) / 255.0 } else { obs.shallow_clone() };
        let taken = &reference[&format!("{name}.actions")];
        let out = model.forward_train(&x);
        let neglogp = rlhost_model::network::neglogp(taken, &out.mu, &out.sigma, &out.log_sigma);
        let mut worst = (0.0f64, 0.0f64, String::new());
        let mut note = |what: String, (rel, abs): (f64, f64)| {
            if rel > worst.0 {
                worst = (rel, worst.1.max(abs), what);
            } else {
                worst.1 = worst.1.max(abs);
            }
        };
        for (k, t) in [("mu", &out.mu), ("sigma", &out.sigma), ("value", &out.value), ("neglogp", &neglogp)] {
            note(format!("out.{k}"), differences(t, &reference[&format!("{name}.out.{k}")]));
        }
        let loss = out.mu.sum(Kind::Float) + out.value.sum(Kind::Float) + neglogp.sum(Kind::Float);
        loss.backward();
        for (key, p) in &params {
            note(format!("grad.{key}"), differences(&p.grad(), &reference[&format!("{name}.grad.{key}")]));
        }
        eprintln!("{name}: worst relative difference {:.2e} ({}), max abs {:.2e}", worst.0, worst.2, worst.1);
        assert!(worst.0 < 1e-5, "{name}: {} differs from rl_games' by {:.2e} (relative)", worst.2, worst.0);
    }
}
