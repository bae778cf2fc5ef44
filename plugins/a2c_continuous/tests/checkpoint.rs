//! Checkpoint format, atomic writes, restore errors and resume exactness.
use rlhost_model::checkpoint::{names, write_atomic};
use rlhost_sdk::{ErrorKind, NativeAgent};
use safetensors::SafeTensors;
use std::fs;
use std::path::Path;

mod common;
use common::{make_agent, patch_checkpoint, reach_params, ReachEnv};

#[test]
fn round_trip_restores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = reach_params(8, 16, 64);
    p["config"]["max_epochs"] = 3.into();
    let (mut a, _) = make_agent(&p, ReachEnv::new(8, 1, 10), dir.path(), true).unwrap();
    let summary = a.train().unwrap();
    assert_eq!((summary.epoch, summary.frame, summary.interrupted), (3, 384, false));
    let path = dir.path().join("ck.safetensors");
    a.save(&path).unwrap();

    let bytes = fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["format"], "rlhost.checkpoint");
    assert_eq!(meta["format_version"], "1");
    assert_eq!(meta["algo"], "a2c_continuous");
    assert_eq!(meta["plugin_id"], "org.rlhost.a2c_continuous");
    assert_eq!(meta["epoch"], "3");
    assert_eq!(meta["frame"], "384");
    assert_eq!(meta["observation_shape"], "[2]");
    assert_eq!(meta["observation_dtype"], "float32");
    assert_eq!(meta["action_dim"], "1");
    assert_eq!(meta["action_low"], "[-2.0]");
    assert_eq!(meta["clip_actions"], "true");
    assert_eq!(meta["normalize_input"], "true");
    let network: serde_json::Value = serde_json::from_str(&meta["network"]).unwrap();
    assert_eq!(network["mlp"]["units"], serde_json::json!([32, 32]));
    for key in [
        "a2c_network.actor_mlp.0.weight",
        "a2c_network.actor_mlp.2.bias",
        "a2c_network.value.weight",
        "a2c_network.mu.weight",
        "a2c_network.sigma",
        "running_mean_std.running_mean",
        "running_mean_std.count",
        "value_mean_std.running_var",
        "optimizer.state.a2c_network.mu.weight.exp_avg",
        "optimizer.state.a2c_network.sigma.exp_avg_sq",
        "optimizer.step",
        "env_state",
    ] {
        assert!(st.tensor(key).is_ok(), "missing {key}");
    }
    assert_eq!(st.tensor("running_mean_std.count").unwrap().shape(), &[] as &[usize]);
    assert_eq!(st.tensor("running_mean_std.running_mean").unwrap().dtype(), safetensors::Dtype::F64);
    assert_eq!(st.tensor("value_mean_std.running_mean").unwrap().shape(), &[1]);
    assert_eq!(st.tensor("a2c_network.sigma").unwrap().shape(), &[1]);
    assert_eq!(st.tensor("a2c_network.actor_mlp.2.weight").unwrap().shape(), &[32, 32]);

    let (mut b, _) = make_agent(&p, ReachEnv::new(8, 1, 10), dir.path(), true).unwrap();
    b.restore(&path).unwrap();
    common::assert_same_state(&a, &b);
    assert_eq!((b.epoch(), b.frame()), (3, 384));
    // max_epochs checkpoint name (rl_games' bracket replacement)
    let files: Vec<String> = fs::read_dir(dir.path().join("nn"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().any(|f| f.starts_with("last_reach_ep_3_rew__") && f.ends_with("_.safetensors")), "{files:?}");
    assert!(files.contains(&"reach.safetensors".to_string()), "{files:?}");
    assert!(!files.iter().any(|f| f.contains(".tmp")), "{files:?}");
}

#[test]
fn checkpoint_names_follow_rl_games() {
    assert_eq!(names::best("pendulum"), "pendulum.safetensors");
    assert_eq!(names::periodic("p", 50, -150.25), "last_p_ep_50_rew_-150.25.safetensors");
    assert_eq!(names::won("p", 7, 301.0), "p_ep_7_rew_301.0.safetensors");
    assert_eq!(names::max_epochs("p", 300, Some(-150.5)), "last_p_ep_300_rew__-150.5_.safetensors");
    assert_eq!(names::max_epochs("p", 300, None), "last_p_ep_300_rew_-inf.safetensors");
    assert_eq!(names::max_frames("p", 1000, Some(2.0)), "last_p_frame_1000_rew__2.0_.safetensors");
    assert_eq!(names::interrupted("p", 12), "last_p_ep_12_interrupted.safetensors");
}

#[test]
fn atomic_write_replaces_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("x.safetensors");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    let entries: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(entries.len(), 1);
    // A folder that cannot be created is an Io error naming the file.
    let blocker = dir.path().join("file");
    fs::write(&blocker, b"").unwrap();
    let err = write_atomic(&blocker.join("y.safetensors"), b"z").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message.contains("y.safetensors"));
}

#[test]
fn restore_errors_are_one_line_checkpoint_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = reach_params(8, 16, 64);
    let (mut a, _) = make_agent(&p, ReachEnv::new(8, 1, 10), dir.path(), true).unwrap();
    let good = dir.path().join("good.safetensors");
    a.save(&good).unwrap();

    // missing file
    let err = a.restore(&dir.path().join("nope.safetensors")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checkpoint);
    assert!(err.message.contains("nope.safetensors"));
    // truncated file
    let bytes = fs::read(&good).unwrap();
    let cut = dir.path().join("cut.safetensors");
    fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let err = a.restore(&cut).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checkpoint);
    assert!(err.message.contains("cut.safetensors") && err.message.contains("truncated"), "{}", err.message);
    // another network size
    let mut q = reach_params(8, 16, 64);
    q["network"]["mlp"]["units"] = serde_json::json!([16]);
    let (mut small, _) = make_agent(&q, ReachEnv::new(8, 1, 10), dir.path(), true).unwrap();
    let err = small.restore(&good).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Checkpoint);
    assert!(err.message.contains("a2c_network.actor_mlp.0.weight") && err.message.contains("shape"), "{}", err.message);
    // another algorithm
    let mut tensors = std::collections::HashMap::new();
    tensors.insert("format".to_string(), "rlhost.checkpoint".to_string());
    tensors.insert("format_version".to_string(), "1".to_string());
    tensors.insert("algo".to_string(), "sac".to_string());
    let other = dir.path().join("sac.safetensors");
    let empty: Vec<(String, safetensors::tensor::TensorView)> = Vec::new();
    fs::write(&other, safetensors::serialize(empty, Some(tensors)).unwrap()).unwrap();
    let err = a.restore(&other).unwrap_err();
    assert!(err.message.contains("sac") && err.message.contains("sac.safetensors"), "{}", err.message);
    // another observation size: patch the metadata of a good file
    let st_bytes = fs::read(&good).unwrap();
    let st = SafeTensors::deserialize(&st_bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&st_bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    meta.insert("observation_shape".into(), "[3]".into());
    let patched = dir.path().join("obs3.safetensors");
    fs::write(&patched, safetensors::serialize(st.tensors(), Some(meta)).unwrap()).unwrap();
    let err = a.restore(&patched).unwrap_err();
    assert!(err.message.contains("observation shape [3]"), "{}", err.message);
    assert!(!err.message.contains('\n'));
}

/// Issue 18 finding 6: a checkpoint whose weights, statistics or counters are nonsense is refused
/// naming the tensor or key, and the agent is left as it was.
#[test]
fn non_finite_state_and_absurd_counters_are_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let p = reach_params(8, 16, 64);
    let (mut a, _) = make_agent(&p, ReachEnv::new(8, 1, 10), dir.path(), true).unwrap();
    let good = dir.path().join("good.safetensors");
    a.save(&good).unwrap();
    let bad = dir.path().join("bad.safetensors");
    let nan_in = |tensor: &'static str, bytes: Vec<u8>| {
        move |name: &str, data: &mut Vec<u8>| {
            if name == tensor {
                data[..bytes.len()].copy_from_slice(&bytes);
            }
            true
        }
    };
    type Patch<'a> = Box<dyn Fn(&Path, &Path) + 'a>;
    let cases: Vec<(Patch, &str)> = vec![
        (
            Box::new(|s: &Path, d: &Path| {
                patch_checkpoint(s, d, |_| {}, nan_in("a2c_network.mu.weight", f32::NAN.to_le_bytes().to_vec()))
            }),
            "tensor 'a2c_network.mu.weight' holds a non-finite value (NaN at flat index 0)",
        ),
        (
            Box::new(|s: &Path, d: &Path| {
                patch_checkpoint(
                    s,
                    d,
                    |_| {},
                    nan_in("value_mean_std.running_var", f64::INFINITY.to_le_bytes().to_vec()),
                )
            }),
            "tensor 'value_mean_std.running_var' holds a non-finite value (inf at flat index 0)",
        ),
        (
            Box::new(|s: &Path, d: &Path| {
                patch_checkpoint(s, d, |_| {}, nan_in("running_mean_std.running_var", (-1.0f64).to_le_bytes().to_vec()))
            }),
            "tensor 'running_mean_std.running_var' holds a negative variance (-1)",
        ),
        (
            Box::new(|s: &Path, d: &Path| {
                patch_checkpoint(s, d, |_| {}, nan_in("running_mean_std.count", 0.0f64.to_le_bytes().to_vec()))
            }),
            "tensor 'running_mean_std.count' must be a finite count > 0, got 0",
        ),
        (
            Box::new(|s: &Path, d: &Path| {
                patch_checkpoint(
                    s,
                    d,
                    |m| {
                        m.insert("epoch".into(), "18446744073709551615".into());
                    },
                    |_, _| true,
                )
            }),
            "metadata 'epoch' must be in [0, 2^53], got 18446744073709551615",
        ),
        (
            Box::new(|s: &Path, d: &Path| {
                patch_checkpoint(
                    s,
                    d,
                    |m| {
                        m.insert("last_lr".into(), "NaN".into());
                    },
                    |_, _| true,
                )
            }),
            "metadata 'last_lr' must be in (0, inf), got NaN",
        ),
    ];
    let before: Vec<_> = a.state_tensors().into_iter().map(|(n, t)| (n, t.copy())).collect();
    for (patch, want) in cases {
        patch(&good, &bad);
        let err = a.restore(&bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Checkpoint);
        assert_eq!(err.message.as_str(), format!("checkpoint '{}': {want}", bad.display()));
    }
    for ((name, x), (_, y)) in before.iter().zip(a.state_tensors().iter()) {
        assert!(x.equal(y), "{name} changed by a refused restore");
    }
}
