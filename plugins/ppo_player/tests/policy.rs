//! Actions from restored checkpoints: μ, normaliser, rescaling, σ parametrisations, set_sigma.
mod common;

use common::*;
use rlhost_sdk::api::SigmaOverride;
use serde_json::json;
use tch::{Kind, Tensor};

fn params(clip: bool, extra: serde_json::Value) -> serde_json::Value {
    let mut p = json!({"config": {"clip_actions": clip, "player": {}}});
    if let Some(o) = extra.as_object() {
        for (k, v) in o {
            p["config"][k] = v.clone();
        }
    }
    p
}

/// Mean and std per action column of `n` stochastic actions for zero observations.
fn sample_stats(player: &mut rlhost_sdk::api::PlayerBox, obs_dim: i64, act_dim: i64, n: i64) -> (Vec<f64>, Vec<f64>) {
    let obs = Tensor::zeros([n, obs_dim], (Kind::Float, tch::Device::Cpu));
    let a = act(player, &obs, act_dim, false).unwrap().to_kind(Kind::Double);
    let mean = values(&a.mean_dim(0, false, Kind::Double));
    let std = values(&a.std_dim(0, false, false));
    (mean, std)
}

#[test]
fn deterministic_action_is_hand_computed_mu() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tanh.safetensors");
    let net = network(&[3], "tanh", true, json!({}));
    let mut w = base_checkpoint(2, 2, &net, false);
    w.linear("a2c_network.actor_mlp.0", 3, 2, &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[0.0, 0.5, -0.5])
        .linear("a2c_network.mu", 2, 3, &[1.0, 0.0, 0.0, 0.0, 1.0, 1.0], &[0.1, -0.2])
        .f32("a2c_network.sigma", &[2], &[0.0, 0.0]);
    w.write(&path);

    let obs = TestObserver::default();
    let mut player = make_player(params(false, json!({})), None, &obs);
    restore(&mut player, &path).unwrap();
    assert!(obs.messages.lock().unwrap()[0].contains("=> loading checkpoint"));

    let x = [[0.3f64, -0.4], [-1.0, 2.0]];
    let got = values(&act(&mut player, &mat(2, 2, &[0.3, -0.4, -1.0, 2.0]), 2, true).unwrap());
    let mut want = Vec::new();
    for [a, b] in x {
        let h = [a.tanh(), (b + 0.5).tanh(), (a + b - 0.5).tanh()];
        want.extend([h[0] + 0.1, h[1] + h[2] - 0.2]);
    }
    assert_close(&got, &want, 1e-6);
}

#[test]
fn two_layer_relu_with_elu_mu_activation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relu.safetensors");
    let mut net = network(&[2, 2], "relu", true, json!({"mu_activation": "elu"}));
    net["separate"] = json!(false);
    let mut w = base_checkpoint(2, 1, &net, false);
    w.remove("a2c_network.critic_mlp.0.weight").remove("a2c_network.critic_mlp.0.bias");
    w.linear("a2c_network.actor_mlp.0", 2, 2, &eye(2), &[0.0, 0.0])
        .linear("a2c_network.actor_mlp.2", 2, 2, &[1.0, 1.0, -1.0, 0.0], &[0.0, 0.0])
        .linear("a2c_network.mu", 1, 2, &[1.0, -1.0], &[-1.0])
        .f32("a2c_network.sigma", &[1], &[0.0]);
    w.write(&path);
    let obs = TestObserver::default();
    let mut player = make_player(params(false, json!({})), None, &obs);
    restore(&mut player, &path).unwrap();
    // x = (0.5, -2): relu -> (0.5, 0); layer 2 -> relu(0.5, -0.5) = (0.5, 0); mu = elu(0.5 - 0 - 1).
    let got = values(&act(&mut player, &mat(1, 2, &[0.5, -2.0]), 1, true).unwrap());
    assert_close(&got, &[(-0.5f64).exp() - 1.0], 1e-6);
}

fn linear_policy_checkpoint(path: &std::path::Path, normalize: bool, mean: &[f64], var: &[f64]) {
    let net = network(&[], "elu", true, json!({}));
    let mut w = base_checkpoint(2, 2, &net, normalize);
    w.linear("a2c_network.mu", 2, 2, &eye(2), &[0.0, 0.0]).f32("a2c_network.sigma", &[2], &[0.0, 0.0]);
    if normalize {
        w.f64("running_mean_std.running_mean", &[2], mean).f64("running_mean_std.running_var", &[2], var);
    }
    w.write(path);
}

#[test]
fn observation_normaliser_is_applied_and_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("norm.safetensors");
    linear_policy_checkpoint(&path, true, &[1.0, -2.0], &[3.0, 0.25]);
    let obs = TestObserver::default();
    let mut player = make_player(params(false, json!({"normalize_input": true})), None, &obs);
    restore(&mut player, &path).unwrap();
    let got = values(&act(&mut player, &mat(2, 2, &[2.0, -2.0, 1000.0, -1000.0]), 2, true).unwrap());
    let y0 = (2.0f32 as f64 - 1.0) / (3.0f64 + 1e-5).sqrt();
    assert_close(&got, &[y0, 0.0, 5.0, -5.0], 1e-6);
}

#[test]
fn normalize_input_defaults_to_the_checkpoint_and_mismatch_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("norm.safetensors");
    linear_policy_checkpoint(&path, true, &[1.0, 1.0], &[1.0, 1.0]);
    let obs = TestObserver::default();
    let mut player = make_player(params(false, json!({})), None, &obs);
    restore(&mut player, &path).unwrap();
    let got = values(&act(&mut player, &mat(1, 2, &[1.0, 2.0]), 2, true).unwrap());
    assert_close(&got, &[0.0, 1.0 / (1.0f64 + 1e-5).sqrt()], 1e-6);

    let mut player = make_player(params(false, json!({"normalize_input": false})), None, &obs);
    let err = restore(&mut player, &path).unwrap_err();
    assert_eq!(err.kind(), rlhost_sdk::ErrorKind::Checkpoint);
    assert!(err.message.contains("normalize_input"), "{}", err.message);
}

#[test]
fn clip_actions_rescales_to_env_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lin.safetensors");
    linear_policy_checkpoint(&path, false, &[], &[]);
    let env = ScriptedEnv::new(&[0.0, 0.0], &[-2.0, 0.0], &[2.0, 10.0], &[0.0], &[5]);
    let obs = TestObserver::default();
    let mut player = make_player(params(true, json!({})), Some(env), &obs);
    restore(&mut player, &path).unwrap();
    let got = values(&act(&mut player, &mat(2, 2, &[0.5, 3.0, -7.0, -0.5]), 2, true).unwrap());
    assert_close(&got, &[1.0, 10.0, -2.0, 2.5], 1e-6);

    // clip_actions false: raw μ.
    let env = ScriptedEnv::new(&[0.0, 0.0], &[-2.0, 0.0], &[2.0, 10.0], &[0.0], &[5]);
    let mut player = make_player(params(false, json!({})), Some(env), &obs);
    restore(&mut player, &path).unwrap();
    let got = values(&act(&mut player, &mat(2, 2, &[0.5, 3.0, -7.0, -0.5]), 2, true).unwrap());
    assert_close(&got, &[0.5, 3.0, -7.0, -0.5], 1e-6);
}

#[test]
fn without_env_bounds_come_from_checkpoint_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lin.safetensors");
    let net = network(&[], "elu", true, json!({}));
    let mut w = base_checkpoint(2, 2, &net, false);
    w.linear("a2c_network.mu", 2, 2, &eye(2), &[0.0, 0.0])
        .f32("a2c_network.sigma", &[2], &[0.0, 0.0])
        .meta("action_low", "[0, -4]")
        .meta("action_high", "[1, 4]")
        .meta("clip_actions", "true");
    w.write(&path);
    let obs = TestObserver::default();
    // No config.clip_actions: falls back to the checkpoint's `true`.
    let mut player = make_player(json!({"config": {}}), None, &obs);
    restore(&mut player, &path).unwrap();
    let got = values(&act(&mut player, &mat(1, 2, &[0.0, 0.5]), 2, true).unwrap());
    assert_close(&got, &[0.5, 2.0], 1e-6);
}

fn sigma_checkpoint(path: &std::path::Path, extra: serde_json::Value, raw: f32) {
    let net = network(&[], "elu", true, extra);
    let mut w = base_checkpoint(2, 2, &net, false);
    w.linear("a2c_network.mu", 2, 2, &[0.0; 4], &[1.0, -1.0]).f32("a2c_network.sigma", &[2], &[raw, raw]);
    w.write(path);
}

#[test]
fn stochastic_actions_have_the_right_sigma_and_set_sigma_applies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sigma.safetensors");
    sigma_checkpoint(&path, json!({}), 0.5f32.ln());
    let obs = TestObserver::default();
    let mut player = make_player(params(false, json!({})), None, &obs);
    restore(&mut player, &path).unwrap();
    let (mean, std) = sample_stats(&mut player, 2, 2, 40_000);
    assert_close(&mean, &[1.0, -1.0], 0.02);
    assert_close(&std, &[0.5, 0.5], 0.01);
    // Deterministic ignores σ.
    let det = values(&act(&mut player, &Tensor::zeros([3, 2], (Kind::Float, tch::Device::Cpu)), 2, true).unwrap());
    assert_close(&det, &[1.0, -1.0, 1.0, -1.0, 1.0, -1.0], 0.0);

    assert_eq!(player.set_sigma(0.0).into_result().unwrap(), SigmaOverride::Applied);
    let (_, std) = sample_stats(&mut player, 2, 2, 40_000);
    assert_close(&std, &[1.0, 1.0], 0.02);
}

#[test]
fn sigma_parametrisations() {
    let dir = tempfile::tempdir().unwrap();
    let softplus = (1.0f64 + 1.0f64.exp()).ln(); // softplus(1)
    let cases = [
        // exp with logstd_bounds clamps the raw log-std.
        (json!({"logstd_bounds": [-1.0, -0.5]}), 0.0f32, (-0.5f64).exp()),
        // exp with min_sigma adds it.
        (json!({"min_sigma": "0.1"}), 0.5f32.ln(), 0.6),
        // softplus + min_sigma.
        (json!({"sigma_parametrization": "softplus", "min_sigma": 0.1}), 0.0, 2.0f64.ln() + 0.1),
        // linear: f + softplus(raw - f), f = max(min_sigma, 1e-3).
        (json!({"sigma_parametrization": "linear", "min_sigma": 0.2}), 1.2, 0.2 + softplus),
        // sigma_activation runs before the parametrisation: exp(relu(-3)) = 1.
        (json!({"sigma_activation": "relu"}), -3.0, 1.0),
    ];
    for (i, (extra, raw, sigma)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("s{i}.safetensors"));
        sigma_checkpoint(&path, extra.clone(), raw);
        let obs = TestObserver::default();
        let mut player = make_player(params(false, json!({})), None, &obs);
        restore(&mut player, &path).unwrap();
        let (_, std) = sample_stats(&mut player, 2, 2, 40_000);
        assert_close(&std, &[sigma, sigma], 0.03 * sigma);
        let _ = i;
    }
}

#[test]
fn sigma_head_is_state_dependent_and_not_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.safetensors");
    let net = network(&[2], "None", false, json!({}));
    let mut w = base_checkpoint(2, 2, &net, false);
    w.linear("a2c_network.actor_mlp.0", 2, 2, &eye(2), &[0.0, 0.0])
        .linear("a2c_network.mu", 2, 2, &[0.0; 4], &[0.0, 0.0])
        .linear("a2c_network.sigma", 2, 2, &[0.0; 4], &[0.3f32.ln(), 2.0f32.ln()]);
    w.write(&path);
    let obs = TestObserver::default();
    let mut player = make_player(params(false, json!({"player": {"deterministic": false}})), None, &obs);
    restore(&mut player, &path).unwrap();
    let (mean, std) = sample_stats(&mut player, 2, 2, 40_000);
    assert_close(&mean, &[0.0, 0.0], 0.05);
    assert_close(&std[..1], &[0.3], 0.01);
    assert_close(&std[1..], &[2.0], 0.06);
    assert_eq!(player.set_sigma(0.0).into_result().unwrap(), SigmaOverride::NotFixed);
    let (_, std2) = sample_stats(&mut player, 2, 2, 40_000);
    assert_close(&std2[..1], &[0.3], 0.01);
}

#[test]
fn compiled_prefix_is_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compiled.safetensors");
    let net = network(&[], "elu", true, json!({}));
    let mut w = base_checkpoint(2, 2, &net, false);
    w.linear("_orig_mod.a2c_network.mu", 2, 2, &eye(2), &[1.0, 1.0]).f32(
        "_orig_mod.a2c_network.sigma",
        &[2],
        &[0.0, 0.0],
    );
    w.write(&path);
    let obs = TestObserver::default();
    let mut player = make_player(params(false, json!({})), None, &obs);
    restore(&mut player, &path).unwrap();
    let got = values(&act(&mut player, &mat(1, 2, &[1.0, 2.0]), 2, true).unwrap());
    assert_close(&got, &[2.0, 3.0], 1e-6);
}

#[test]
fn observation_normaliser_is_the_trainers_bit_for_bit() {
    // An identity μ head returns the normalised observations themselves (x·I + 0 is exact).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("norm.safetensors");
    let (mean, var) = ([0.123456789012f64, -7.654321], [2.5184729, 0.0123456789]);
    linear_policy_checkpoint(&path, true, &mean, &var);
    let obs = TestObserver::default();
    let mut player = make_player(params(false, json!({"normalize_input": 1})), None, &obs);
    restore(&mut player, &path).unwrap();
    tch::manual_seed(3);
    let x = Tensor::randn([50_000, 2], (Kind::Float, tch::Device::Cpu)) * 3.0 - 1.0;
    let got = act(&mut player, &x, 2, true).unwrap();

    let mut rms = rlhost_model::normalizer::RunningMeanStd::new(&[2], tch::Device::Cpu);
    rms.mean = Tensor::from_slice(&mean);
    rms.var = Tensor::from_slice(&var);
    let want = rms.normalize(&x);
    let bits = |t: &Tensor| -> Vec<u32> {
        Vec::<f32>::try_from(t.flatten(0, -1)).unwrap().iter().map(|v| v.to_bits()).collect()
    };
    let differ = bits(&got).iter().zip(bits(&want)).filter(|(a, b)| **a != *b).count();
    assert_eq!(differ, 0, "{differ} of 100000 normalised values differ from the trainer's");
}
