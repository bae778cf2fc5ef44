//! Checkpoint and call errors: kind, one line, naming the file and the mismatch.
mod common;

use common::*;
use rlhost_sdk::api::PlayerBox;
use rlhost_sdk::ErrorKind;
use serde_json::json;
use std::path::Path;
use tch::{Kind, Tensor};

fn good(obs_dim: usize, act_dim: usize) -> CkptWriter {
    let net = network(&[4], "elu", true, json!({}));
    let mut w = base_checkpoint(obs_dim, act_dim, &net, false);
    w.linear("a2c_network.actor_mlp.0", 4, obs_dim, &vec![0.1; 4 * obs_dim], &[0.0; 4])
        .linear("a2c_network.mu", act_dim, 4, &vec![0.1; 4 * act_dim], &vec![0.0; act_dim])
        .f32("a2c_network.sigma", &[act_dim], &vec![0.0; act_dim]);
    w
}

fn player(env: Option<ScriptedEnv>) -> PlayerBox {
    make_player(json!({"config": {}}), env, &TestObserver::default())
}

/// Restores and returns the error, checking kind, single line and that the file is named.
fn restore_err(p: &mut PlayerBox, path: &Path, kind: ErrorKind) -> String {
    let err = restore(p, path).expect_err("restore should fail");
    assert_eq!(err.kind(), kind, "{}", err.message);
    let msg = err.message.to_string();
    assert!(!msg.contains('\n'));
    assert!(msg.contains(path.to_str().unwrap()), "message does not name the file: {msg}");
    msg
}

#[test]
fn good_checkpoint_restores() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.safetensors");
    good(3, 1).write(&path);
    let env = ScriptedEnv::new(&[0.0; 3], &[-2.0], &[2.0], &[1.0], &[3]);
    restore(&mut player(Some(env)), &path).unwrap();
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.safetensors");
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("cannot read"), "{msg}");
}

#[test]
fn truncated_and_garbage_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trunc.safetensors");
    good(3, 1).write(&path);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 7]).unwrap();
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("not a valid safetensors file"), "{msg}");

    std::fs::write(&path, b"PK\x03\x04 this is a torch .pth zip, not safetensors").unwrap();
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("not a valid safetensors file"), "{msg}");

    std::fs::write(&path, b"").unwrap();
    restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
}

#[test]
fn wrong_format_version_or_algo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.safetensors");
    let cases = [
        ("algo", Some("sac"), "algo is 'sac', expected 'a2c_continuous'"),
        ("algo", None, "algo is missing"),
        ("format", Some("rl_games.pth"), "format is 'rl_games.pth', expected 'rlhost.checkpoint'"),
        ("format", None, "format is missing"),
        ("format_version", Some("2"), "format_version is '2', expected '1'"),
    ];
    for (key, value, want) in cases {
        let mut w = good(3, 1);
        match value {
            Some(v) => w.meta(key, v),
            None => {
                w.meta.remove(key);
                &mut w
            }
        };
        w.write(&path);
        let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
        assert!(msg.contains(want), "{msg}");
    }

    let mut w = good(3, 1);
    w.meta.clear();
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("__metadata__"), "{msg}");
}

#[test]
fn observation_shape_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("obs.safetensors");
    good(3, 1).write(&path);
    let env = ScriptedEnv::new(&[0.0; 4], &[-2.0], &[2.0], &[1.0], &[3]);
    let msg = restore_err(&mut player(Some(env)), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("observation shape [3] does not match the environment's [4]"), "{msg}");
}

#[test]
fn action_dim_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("act.safetensors");
    good(3, 1).write(&path);
    let env = ScriptedEnv::new(&[0.0; 3], &[-2.0, -2.0], &[2.0, 2.0], &[1.0], &[3]);
    let msg = restore_err(&mut player(Some(env)), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("action dim 1 does not match the environment's 2"), "{msg}");
}

#[test]
fn tensors_not_matching_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.safetensors");

    let mut w = good(3, 1);
    w.remove("a2c_network.mu.weight");
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("missing tensor 'a2c_network.mu.weight'"), "{msg}");

    let mut w = good(3, 1);
    w.f32("a2c_network.actor_mlp.0.weight", &[4, 2], &[0.0; 8]);
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("'a2c_network.actor_mlp.0.weight' has shape [4, 2], expected [4, 3]"), "{msg}");

    let mut w = good(3, 1);
    w.linear("a2c_network.actor_mlp.2", 4, 4, &[0.0; 16], &[0.0; 4]);
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("unexpected tensor 'a2c_network.actor_mlp.2."), "{msg}");

    let mut w = good(3, 1);
    w.remove("a2c_network.sigma").linear("a2c_network.sigma", 1, 4, &[0.0; 4], &[0.0]);
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("fixed_sigma but the checkpoint has a sigma head"), "{msg}");

    let mut w = good(3, 1);
    w.meta("normalize_input", "true");
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("missing tensor 'running_mean_std.running_mean'"), "{msg}");

    let mut w = good(3, 1);
    w.meta("observation_dtype", "float16");
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("metadata observation_dtype 'float16' is not float32 or uint8"), "{msg}");

    let mut w = good(3, 1);
    w.meta("network", network(&[4], "leaky_relu", true, json!({})).to_string());
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("unknown activation 'leaky_relu'"), "{msg}");

    let mut w = good(3, 1);
    let mut net = network(&[4], "elu", true, json!({}));
    net["rnn"] = json!({"name": "identity", "units": 64, "layers": 1});
    w.meta("network", net.to_string());
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Unsupported);
    assert!(msg.contains("network.rnn.name"), "{msg}");

    // An LSTM the metadata describes but the weights lack is the checkpoint's fault (a separate
    // network's actor cell is `a_rnn`).
    let mut w = good(3, 1);
    net["rnn"] = json!({"name": "lstm", "units": 8, "layers": 1});
    w.meta("network", net.to_string());
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.contains("missing tensor 'a2c_network.a_rnn.rnn.weight_ih_l0'"), "{msg}");
}

#[test]
fn calls_before_restore_and_bad_act_shapes() {
    let mut p = player(None);
    let obs = Tensor::zeros([2, 3], (Kind::Float, tch::Device::Cpu));
    let err = act(&mut p, &obs, 1, true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checkpoint);
    assert!(err.message.contains("no checkpoint restored"));
    assert!(p.set_sigma(0.0).into_result().is_err());
    assert!(p.run().into_result().is_err());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.safetensors");
    good(3, 1).write(&path);
    restore(&mut p, &path).unwrap();
    // No environment: run is a config error.
    let err = p.run().into_result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);

    let err = act(&mut p, &Tensor::zeros([2, 4], (Kind::Float, tch::Device::Cpu)), 1, true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert!(err.message.contains("obs must have shape (N, 3), got [2, 4]"), "{}", err.message);
    let err = act(&mut p, &Tensor::zeros([2, 3], (Kind::Double, tch::Device::Cpu)), 1, true).unwrap_err();
    assert!(err.message.contains("obs must be float32"), "{}", err.message);
    let err = act(&mut p, &obs, 2, true).unwrap_err();
    assert!(err.message.contains("actions must have shape (2, 1) to match obs, got [2, 2]"), "{}", err.message);
    assert_eq!(act(&mut p, &obs, 1, true).unwrap().size(), [2, 1]);
}

/// Issue 18 finding 6: weights or statistics holding NaN/inf (or a negative variance) are refused
/// at restore, naming the tensor.
#[test]
fn non_finite_weights_and_statistics_are_refused_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let mut w = good(3, 1);
    w.linear("a2c_network.mu", 1, 4, &[0.1, f32::NAN, 0.1, 0.1], &[0.0]);
    w.write(&path);
    let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
    assert!(msg.ends_with("tensor 'a2c_network.mu.weight' holds a non-finite value (NaN at flat index 1)"), "{msg}");

    let net = network(&[4], "elu", true, json!({}));
    for (stat, values, want) in [
        (
            "running_mean",
            [0.0, f64::INFINITY, 0.0],
            "tensor 'running_mean_std.running_mean' holds a non-finite value (inf at flat index 1)",
        ),
        ("running_var", [1.0, 1.0, -0.5], "tensor 'running_mean_std.running_var' holds a negative variance (-0.5)"),
    ] {
        let mut w = base_checkpoint(3, 1, &net, true);
        w.linear("a2c_network.actor_mlp.0", 4, 3, &[0.1; 12], &[0.0; 4])
            .linear("a2c_network.mu", 1, 4, &[0.1; 4], &[0.0])
            .f32("a2c_network.sigma", &[1], &[0.0])
            .f64(&format!("running_mean_std.{stat}"), &[3], &values);
        w.write(&path);
        let msg = restore_err(&mut player(None), &path, ErrorKind::Checkpoint);
        assert!(msg.ends_with(want), "{msg}");
    }
}
