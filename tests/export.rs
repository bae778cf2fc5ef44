//! `rlhost export`: the ONNX file acts as the player does, in ONNX Runtime.
//!
//! For every shipped config, a separate-network and a learnable-sigma variant: a short training
//! run, `rlhost export` through the binary, then 10,000 random and 10,000 recorded observations
//! (a rollout of the player itself in the config's environment) through the player's own `act`
//! (loaded in-process from the same plugin library) and ONNX Runtime (the venv's `onnxruntime`),
//! at batch 1 and 4096.
//!
//! Recurrent (LSTM, GRU) and convolutional (`CartPoleCamera` uint8 images) policies: a recorded
//! rollout of the player's own `act` (which carries its states between calls) against the graph
//! run step by step in ONNX Runtime, each step's `*_out` states fed to the next `*_in`.
mod common;

use common::*;
use rlhost::discovery::discover;
use rlhost::registry::Registry;
use rlhost::runner::{Mode, Runner};
use rlhost_plugin_api::PlayerBox;
use rlhost_sdk::tensor::ViewParts;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tch::{Kind, Tensor};

/// The largest difference the exported actions may have from the player's.
const TOLERANCE: f32 = 1e-5;
const RANDOM_ROWS: i64 = 10_000;
/// Recorded observations: this many envs for this many steps.
const RECORD_ENVS: u32 = 100;
const RECORD_STEPS: usize = 100;

fn plugins() -> tempfile::TempDir {
    plugin_dir(&[
        built_library("rlhost-plugin-classic-control", "rlhost_classic_control"),
        built_library("rlhost-plugin-a2c-continuous", "rlhost_a2c_continuous"),
        built_library("rlhost-plugin-ppo-player", "rlhost_ppo_player"),
    ])
}

fn config_path(name: &str) -> String {
    workspace_root().join("configs").join(name).to_string_lossy().into_owned()
}

/// The venv's Python (`scripts/setup.sh` links `.venv`), else `python3` from `PATH`.
fn python() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Trains two epochs of `config` (with `overrides`) into `runs/<experiment>`; returns the checkpoint.
fn train(dir: &Path, config: &str, overrides: &[&str], experiment: &str) -> PathBuf {
    let doc = rlhost::config::load_file(Path::new(&config_path(config))).unwrap();
    let horizon = rlhost::config::opt_i64(&doc, "params.config.horizon_length").unwrap().unwrap();
    let minibatch = format!("params.config.minibatch_size={}", 32 * horizon);
    let cfg = config_path(config);
    let mut args = vec!["train", "--plugin-dir", ".", "--config", &cfg, "--max-iterations", "2", "--num-envs", "32"];
    args.extend(["--experiment", experiment, minibatch.as_str()]);
    args.extend_from_slice(overrides);
    let (code, stdout, stderr) = rlhost_in(dir, &args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let nn = dir.join("runs").join(experiment).join("nn");
    let mut files = std::fs::read_dir(nn).unwrap().flatten().map(|e| e.path());
    files.find(|p| p.extension().is_some_and(|e| e == "safetensors")).unwrap()
}

fn export(dir: &Path, config: &str, overrides: &[&str], extra: &[&str]) -> (i32, String, String) {
    let cfg = config_path(config);
    let mut args = vec!["export", "--plugin-dir", ".", "--config", &cfg];
    args.extend_from_slice(extra);
    args.extend_from_slice(overrides);
    rlhost_in(dir, &args)
}

/// The config's runner, with the overrides applied as the command line would.
fn runner<'p>(set: &'p rlhost::discovery::PluginSet, config: &str, overrides: &[&str]) -> Runner<'p> {
    let mut doc = rlhost::config::load_file(Path::new(&config_path(config))).unwrap();
    for o in overrides {
        rlhost::config::apply_override(&mut doc, o).unwrap();
    }
    Runner::load(Registry::new(&set.loaded, &[]), doc, Arc::new(AtomicBool::new(false))).unwrap().without_progress()
}

/// The player's own deterministic actions for `obs` (N, D).
fn act(player: &mut PlayerBox, obs: &Tensor, action_dim: i64) -> Tensor {
    let actions = Tensor::full([obs.size()[0], action_dim], f64::NAN, (Kind::Float, tch::Device::Cpu));
    let (o, a) = (ViewParts::of(obs).unwrap(), ViewParts::of(&actions).unwrap());
    player.act(o.view(), a.view(), true).into_result().unwrap();
    actions
}

/// 10,000 observations of the player itself in the config's environment (play mode).
fn record(runner: &Runner<'_>, player: &mut PlayerBox, action_dim: i64) -> Tensor {
    let mut env = runner.create_raw_env(Mode::Play, Some(RECORD_ENVS)).unwrap();
    let bufs = env.step_buffers().unwrap();
    env.reset(bufs.observations()).unwrap();
    let mut rows = Vec::new();
    for _ in 0..RECORD_STEPS {
        let obs = bufs.obs(0).to_device(tch::Device::Cpu).copy();
        let actions = act(player, &obs, action_dim);
        env.step(&actions.to_device(env.device()), &bufs).unwrap();
        rows.push(obs);
    }
    Tensor::cat(&rows, 0)
}

fn write_f32(path: &Path, t: &Tensor) {
    let v = Vec::<f32>::try_from(t.contiguous().view([-1])).unwrap();
    std::fs::write(path, v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
}

fn read_f32(path: &Path, cols: i64) -> Tensor {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    Tensor::from_slice(&v).view([-1, cols])
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.size(), b.size());
    assert!(bool::try_from(a.isfinite().all()).unwrap() && bool::try_from(b.isfinite().all()).unwrap());
    f32::try_from((a - b).abs().max()).unwrap()
}

/// μ, σ and the value computed from the checkpoint's tensors by the rules of `model/CHECKPOINT.md`
/// ("Inference"), independently of the plugin (ELU MLP, identity heads, `exp` σ, as configured).
fn reference(ckpt: &Path, obs: &Tensor, network: &Value) -> (Tensor, Tensor, Tensor) {
    let t: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(ckpt).unwrap().into_iter().collect();
    let get = |k: &str| t.get(k).unwrap_or_else(|| panic!("{k}")).shallow_clone();
    assert_eq!(network["mlp"]["activation"], "elu");
    let std = |prefix: &str| (get(&format!("{prefix}.running_var")).to_kind(Kind::Float) + 1e-5).sqrt();
    let mean = |prefix: &str| get(&format!("{prefix}.running_mean")).to_kind(Kind::Float);
    let x = ((obs - mean("running_mean_std")) / std("running_mean_std")).clamp(-5.0, 5.0);
    let mlp = |trunk: &str, x: &Tensor| {
        let mut h = x.shallow_clone();
        for i in 0..network["mlp"]["units"].as_array().unwrap().len() {
            let p = format!("a2c_network.{trunk}.{}", 2 * i);
            h = h.linear(&get(&format!("{p}.weight")), Some(&get(&format!("{p}.bias")))).elu();
        }
        h
    };
    let h = mlp("actor_mlp", &x);
    let lin = |p: &str, h: &Tensor| h.linear(&get(&format!("{p}.weight")), Some(&get(&format!("{p}.bias"))));
    let mu = lin("a2c_network.mu", &h);
    let sigma = if t.contains_key("a2c_network.sigma") {
        (mu.zeros_like() + get("a2c_network.sigma")).exp()
    } else {
        lin("a2c_network.sigma", &h).exp()
    };
    let critic = if network["separate"].as_bool() == Some(true) { mlp("critic_mlp", &x) } else { h };
    let v = lin("a2c_network.value", &critic);
    let value = std("value_mean_std") * v.clamp(-5.0, 5.0) + mean("value_mean_std");
    (mu, sigma, value)
}

/// Trains `config` in `d` and exports its checkpoint with every output to `d/policy.onnx`:
/// (checkpoint, model).
fn train_and_export(d: &Path, config: &str, overrides: &[&str], experiment: &str) -> (PathBuf, PathBuf) {
    let ckpt = train(d, config, overrides, experiment);
    let (code, stdout, stderr) = export(
        d,
        config,
        overrides,
        &["--checkpoint", ckpt.to_str().unwrap(), "--output", "policy.onnx", "--outputs", "mu,sigma,value"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("exported policy.onnx (outputs: actions, mu, sigma, value)"), "{stdout}");
    (ckpt, d.join("policy.onnx"))
}

fn agreement(config: &str, overrides: &[&str]) {
    let dir = plugins();
    let d = dir.path();
    let (ckpt, model) = train_and_export(d, config, overrides, &format!("export_{}", config.replace('.', "_")));
    assert!(!d.read_dir().unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains(".tmp")));

    let set = discover(&[d.to_path_buf()]);
    let runner = runner(&set, config, overrides);
    let mut player = runner.create_detached_player(&ckpt).unwrap();
    let probe_env = runner.create_raw_env(Mode::Play, Some(1)).unwrap();
    let obs_dim = probe_env.policy_observation().shape[0];
    let action_dim = probe_env.info().action_dim() as i64;
    drop(probe_env);

    tch::manual_seed(1234);
    // Spread wide enough to reach the normaliser's ±5 clip and the action clamp.
    let random = Tensor::randn([RANDOM_ROWS, obs_dim], (Kind::Float, tch::Device::Cpu)) * 4.0;
    let recorded = record(&runner, &mut player, action_dim);
    assert_eq!(recorded.size(), [(RECORD_ENVS as usize * RECORD_STEPS) as i64, obs_dim]);
    let obs = Tensor::cat(&[&random, &recorded], 0);
    let expected = act(&mut player, &obs, action_dim);

    // ONNX Runtime.
    let obs_bin = d.join("obs.bin");
    write_f32(&obs_bin, &obs);
    let out = std::process::Command::new(python())
        .arg(workspace_root().join("tests/export_ort.py"))
        .args([&model, &obs_bin, &d.to_path_buf()])
        .output()
        .expect("the venv's python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ort = |name: &str, cols: i64| read_f32(&d.join(format!("{name}.bin")), cols);
    let ort_b4096 = ort("b4096_actions", action_dim);
    let ort_b1 = ort("b1_actions", action_dim);

    let n = RANDOM_ROWS;
    let figures: Vec<(&str, f32, f32)> = [("ort batch 4096", &ort_b4096), ("ort batch 1", &ort_b1)]
        .into_iter()
        .map(|(what, got)| {
            (
                what,
                max_abs_diff(&got.narrow(0, 0, n), &expected.narrow(0, 0, n)),
                max_abs_diff(&got.narrow(0, n, n), &expected.narrow(0, n, n)),
            )
        })
        .collect();
    for (what, random_diff, recorded_diff) in &figures {
        eprintln!(
            "{config} {overrides:?}: {what}: max |onnx - act| random {random_diff:.3e}, recorded {recorded_diff:.3e}"
        );
        assert!(*random_diff <= TOLERANCE && *recorded_diff <= TOLERANCE, "{what}: {random_diff} / {recorded_diff}");
    }

    // The extra outputs against the checkpoint's tensors, and against each other.
    let info: Value = serde_json::from_str(&std::fs::read_to_string(d.join("info.json")).unwrap()).unwrap();
    let network: Value = serde_json::from_str(info["metadata"]["network"].as_str().unwrap()).unwrap();
    let (mu, sigma, value) = reference(&ckpt, &obs, &network);
    for (name, cols, want) in [("mu", action_dim, &mu), ("sigma", action_dim, &sigma), ("value", 1, &value)] {
        let scale = f32::try_from(want.abs().max()).unwrap().max(1.0);
        let e_ort = max_abs_diff(&ort(&format!("b4096_{name}"), cols), want);
        eprintln!("{config} {overrides:?}: {name}: max |onnx - reference| {e_ort:.3e} (scale {scale:.1})");
        assert!(e_ort <= TOLERANCE * scale, "{name}: {e_ort}");
    }
    let space: Value = serde_json::from_str(info["metadata"]["action_space"].as_str().unwrap()).unwrap();
    let low = Tensor::from_slice(&serde_json::from_value::<Vec<f32>>(space["low"].clone()).unwrap());
    let high = Tensor::from_slice(&serde_json::from_value::<Vec<f32>>(space["high"].clone()).unwrap());
    let rescaled = ort("b4096_mu", action_dim).clamp(-1.0, 1.0) * (&high - &low) / 2.0 + (&high + &low) / 2.0;
    assert!(max_abs_diff(&rescaled, &ort_b4096) <= TOLERANCE);

    // The file describes itself.
    assert!(info["opset"].as_i64().unwrap() >= 17, "{info}");
    assert_eq!(info["inputs"], serde_json::json!([["obs", ["batch", obs_dim]]]));
    assert_eq!(info["outputs"][0], serde_json::json!(["actions", ["batch", action_dim]]));
    assert_eq!(info["producer"], "rlhost");
    let md = &info["metadata"];
    assert_eq!(md["rlhost_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(md["plugin_id"], "org.rlhost.ppo_player");
    assert!(md["plugin_version"].as_str().is_some_and(|v| !v.is_empty()));
    let obs_space: Value = serde_json::from_str(md["observation_space"].as_str().unwrap()).unwrap();
    assert_eq!(obs_space["shape"], serde_json::json!([obs_dim]));
    assert_eq!(space["shape"], serde_json::json!([action_dim]));
    let params: Value = serde_json::from_str(md["config"].as_str().unwrap()).unwrap();
    assert_eq!(params["config"]["name"], runner.doc()["params"]["config"]["name"]);
    assert_eq!(md["checkpoint"], ckpt.to_str().unwrap());
}

#[test]
fn pendulum_yaml_exports_the_players_actions() {
    agreement("pendulum_ppo.yaml", &[]);
}

#[test]
fn pendulum_json_exports_the_players_actions() {
    agreement("pendulum_ppo.json", &[]);
}

#[test]
fn cartpole_exports_the_players_actions() {
    agreement("cartpole_ppo.yaml", &[]);
}

#[test]
fn acrobot_exports_the_players_actions() {
    agreement("acrobot_ppo.yaml", &[]);
}

#[test]
fn mountain_car_exports_the_players_actions() {
    agreement("mountain_car_ppo.yaml", &[]);
}

#[test]
fn a_separate_critic_exports_the_players_actions_and_its_own_value() {
    agreement("pendulum_ppo.yaml", &["params.network.separate=True"]);
}

#[test]
fn a_learnable_sigma_exports_the_players_actions_and_its_sigma_head() {
    agreement("pendulum_ppo.yaml", &["params.network.space.continuous.fixed_sigma=False"]);
}

/// Envs and steps of the recorded rollout the sequence tests replay.
const SEQ_ENVS: u32 = 16;
const SEQ_STEPS: usize = 64;

/// A recurrent or image policy: a rollout of the player's own `act` (carrying its states) in the
/// config's environment, against the exported graph run step by step in ONNX Runtime.
fn sequence_agreement(config: &str, overrides: &[&str], experiment: &str, states: &[(&str, [i64; 2])]) {
    let dir = plugins();
    let d = dir.path();
    let (ckpt, model) = train_and_export(d, config, overrides, experiment);

    let set = discover(&[d.to_path_buf()]);
    let runner = runner(&set, config, overrides);
    let mut player = runner.create_detached_player(&ckpt).unwrap();
    let mut env = runner.create_raw_env(Mode::Play, Some(SEQ_ENVS)).unwrap();
    let obs_shape: Vec<i64> = env.policy_observation().shape.to_vec();
    let action_dim = env.info().action_dim() as i64;
    let bufs = env.step_buffers().unwrap();
    env.reset(bufs.observations()).unwrap();
    let (mut obs_steps, mut act_steps) = (Vec::new(), Vec::new());
    for _ in 0..SEQ_STEPS {
        let obs = bufs.obs(0).to_device(tch::Device::Cpu).copy();
        let actions = act(&mut player, &obs, action_dim);
        env.step(&actions.to_device(env.device()), &bufs).unwrap();
        obs_steps.push(obs);
        act_steps.push(actions);
    }
    drop(env);
    let obs = Tensor::stack(&obs_steps, 0);
    let expected = Tensor::cat(&act_steps, 0);
    let uint8 = obs.kind() == Kind::Uint8;

    let obs_bin = d.join("obs.bin");
    if uint8 {
        std::fs::write(&obs_bin, Vec::<u8>::try_from(obs.contiguous().view([-1])).unwrap()).unwrap();
    } else {
        write_f32(&obs_bin, &obs);
    }
    let out = std::process::Command::new(python())
        .arg(workspace_root().join("tests/export_ort.py"))
        .args([model.as_os_str(), obs_bin.as_os_str(), d.as_os_str(), SEQ_STEPS.to_string().as_ref()])
        .output()
        .expect("the venv's python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ort_actions = read_f32(&d.join("seq_actions.bin"), action_dim);

    let diff = max_abs_diff(&ort_actions, &expected);
    eprintln!("{config} {overrides:?}: {SEQ_STEPS} steps x {SEQ_ENVS} envs: max |onnx - act| {diff:.3e}");
    assert!(diff <= TOLERANCE, "{diff}");
    let info: Value = serde_json::from_str(&std::fs::read_to_string(d.join("info.json")).unwrap()).unwrap();
    // The extra outputs along the same steps: μ is the actions before clipping and rescaling,
    // σ is positive, the value finite (max_abs_diff checks finiteness).
    let space: Value = serde_json::from_str(info["metadata"]["action_space"].as_str().unwrap()).unwrap();
    let bound = |key: &str| Tensor::from_slice(&serde_json::from_value::<Vec<f32>>(space[key].clone()).unwrap());
    let (low, high) = (bound("low"), bound("high"));
    let mu = read_f32(&d.join("seq_mu.bin"), action_dim);
    let rescaled = mu.clamp(-1.0, 1.0) * (&high - &low) / 2.0 + (&high + &low) / 2.0;
    assert!(max_abs_diff(&rescaled, &ort_actions) <= TOLERANCE, "mu");
    assert!(bool::try_from(read_f32(&d.join("seq_sigma.bin"), action_dim).gt(0.0).all()).unwrap(), "sigma");
    let value = read_f32(&d.join("seq_value.bin"), 1);
    assert_eq!(max_abs_diff(&value, &value), 0.0, "value");
    let mut want_inputs = vec![serde_json::json!([
        "obs",
        std::iter::once(Value::from("batch")).chain(obs_shape.iter().map(|&s| Value::from(s))).collect::<Vec<_>>()
    ])];
    let mut want_outputs = vec!["actions", "mu", "sigma", "value"].into_iter().map(Value::from).collect::<Vec<_>>();
    for (name, [layers, units]) in states {
        want_inputs.push(serde_json::json!([format!("{name}_in"), [layers, "batch", units]]));
        want_outputs.push(Value::from(format!("{name}_out")));
    }
    assert_eq!(info["inputs"], Value::from(want_inputs));
    let got_outputs: Vec<Value> = info["outputs"].as_array().unwrap().iter().map(|o| o[0].clone()).collect();
    assert_eq!(got_outputs, want_outputs);
    let obs_space: Value = serde_json::from_str(info["metadata"]["observation_space"].as_str().unwrap()).unwrap();
    assert_eq!(obs_space["dtype"], if uint8 { "uint8" } else { "float32" });
}

#[test]
fn a_two_layer_lstm_exports_the_players_steps() {
    let lstm = "params.network.rnn={name: lstm, units: 16, layers: 2, before_mlp: true, layer_norm: true, concat_output: true}";
    sequence_agreement(
        "pendulum_ppo.yaml",
        &[lstm, "params.config.seq_length=8"],
        "export_lstm",
        &[("h", [2, 16]), ("c", [2, 16])],
    );
}

#[test]
fn a_separate_gru_exports_the_players_steps_and_its_critic_states() {
    let gru = "params.network.rnn={name: gru, units: 16, layers: 1, concat_input: true}";
    sequence_agreement(
        "pendulum_ppo.yaml",
        &[gru, "params.network.separate=True", "params.config.seq_length=8"],
        "export_gru",
        &[("h", [1, 16]), ("critic_h", [1, 16])],
    );
}

#[test]
fn a_camera_cnn_exports_the_players_actions_on_uint8_images() {
    let cnn = "params.network.cnn={type: conv2d, activation: relu, initializer: {name: default}, convs: [{filters: 8, kernel_size: 8, strides: 4, padding: 0}, {filters: 16, kernel_size: 4, strides: 2, padding: 1}]}";
    sequence_agreement("cartpole_ppo.yaml", &["params.config.env_name=CartPoleCamera", cnn], "export_cnn", &[]);
}

#[test]
fn a_camera_cnn_under_an_lstm_exports_the_players_steps() {
    let cnn = "params.network.cnn={type: conv2d, activation: elu, initializer: {name: default}, permute_input: true, convs: [{filters: 8, kernel_size: 8, strides: 4, padding: 0}]}";
    let lstm = "params.network.rnn={name: lstm, units: 8, layers: 1}";
    let overrides = ["params.config.env_name=CartPoleCamera", cnn, lstm, "params.config.seq_length=4"];
    sequence_agreement("cartpole_ppo.yaml", &overrides, "export_cnn_lstm", &[("h", [1, 8]), ("c", [1, 8])]);
}

/// Rewrites a safetensors file's `network` metadata (the header is JSON after an 8-byte length).
fn with_network(ckpt: &Path, out: &Path, edit: impl FnOnce(&mut Value)) {
    let bytes = std::fs::read(ckpt).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    let mut network: Value = serde_json::from_str(header["__metadata__"]["network"].as_str().unwrap()).unwrap();
    edit(&mut network);
    header["__metadata__"]["network"] = Value::from(network.to_string());
    let text = header.to_string();
    let mut new = (text.len() as u64).to_le_bytes().to_vec();
    new.extend_from_slice(text.as_bytes());
    new.extend_from_slice(&bytes[8 + len..]);
    std::fs::write(out, new).unwrap();
}

#[test]
fn bad_input_gets_one_line_naming_the_thing_at_fault() {
    let dir = plugins();
    let d = dir.path();
    let ckpt = train(d, "pendulum_ppo.yaml", &[], "pendulum_01-02-03-04");
    let ckpt_arg = ckpt.to_str().unwrap();
    let one_error = |code: i32, stderr: &str| {
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{stderr}");
        last_line(stderr).to_string()
    };

    let (code, _, stderr) = export(d, "pendulum_ppo.yaml", &[], &["--checkpoint", "missing.safetensors"]);
    assert_eq!(one_error(code, &stderr), "error: checkpoint missing.safetensors does not exist");

    let (code, _, stderr) = export(d, "pendulum_ppo.yaml", &[], &[]);
    assert_eq!(one_error(code, &stderr), "error: export needs --checkpoint P|latest|best");

    // The default output is the checkpoint's path with `.onnx`; an existing one is kept.
    let (code, stdout, stderr) = export(d, "pendulum_ppo.yaml", &[], &["--checkpoint", "latest"]);
    assert_eq!(code, 0, "{stderr}");
    let default_out = ckpt.with_extension("onnx");
    assert!(stdout.contains(&format!("exported {}", default_out.strip_prefix(d).unwrap().display())), "{stdout}");
    let first = std::fs::read(&default_out).unwrap();
    std::fs::write(&default_out, b"keep me").unwrap();
    let (code, _, stderr) = export(d, "pendulum_ppo.yaml", &[], &["--checkpoint", ckpt_arg]);
    let line = one_error(code, &stderr);
    assert_eq!(
        line,
        format!(
            "error: output {} already exists: pick another --output or pass --force to replace it",
            default_out.display()
        )
    );
    assert_eq!(std::fs::read(&default_out).unwrap(), b"keep me");
    let (code, _, stderr) = export(d, "pendulum_ppo.yaml", &[], &["--checkpoint", "latest", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::read(&default_out).unwrap() == first, "the same checkpoint gives the same bytes");

    let (code, _, stderr) =
        export(d, "pendulum_ppo.yaml", &[], &["--checkpoint", ckpt_arg, "-o", "x.onnx", "--outputs", "mu,entropy"]);
    let line = one_error(code, &stderr);
    assert!(line.contains("unknown output 'entropy'"), "{line}");
    assert!(!d.join("x.onnx").exists());

    let (code, _, stderr) =
        export(d, "pendulum_ppo.yaml", &[], &["--checkpoint", ckpt_arg, "-o", "no/such/dir/x.onnx"]);
    let line = one_error(code, &stderr);
    assert!(line.contains("no/such/dir/x.onnx") && line.contains("does not exist"), "{line}");

    // Metadata describing a recurrent trunk the weights lack is the checkpoint's fault (a real
    // LSTM checkpoint's export refusal is in tests/play.rs).
    let rnn = d.join("rnn.safetensors");
    with_network(&ckpt, &rnn, |n| n["rnn"] = serde_json::json!({"name": "lstm", "units": 64, "layers": 1}));
    let (code, _, stderr) =
        export(d, "pendulum_ppo.yaml", &[], &["--checkpoint", rnn.to_str().unwrap(), "-o", "r.onnx"]);
    let line = one_error(code, &stderr);
    assert!(
        line.contains("rnn.safetensors") && line.contains("missing tensor 'a2c_network.rnn.rnn.weight_ih_l0'"),
        "{line}"
    );
    assert!(!d.join("r.onnx").exists());
}

#[test]
fn a_player_without_an_exporter_says_so_in_one_line() {
    let dir = plugin_dir(&[fixture("toy")]);
    let d = dir.path();
    std::fs::write(d.join("toy.yaml"), toy_config!("")).unwrap();
    std::fs::write(d.join("toy.ckpt"), b"toy").unwrap();
    let (code, _, stderr) =
        rlhost_in(d, &["export", "--plugin-dir", ".", "--config", "toy.yaml", "--checkpoint", "toy.ckpt"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(last_line(&stderr), "error: export with player 'toy_algo': this player does not support export");
    assert!(!d.join("toy.onnx").exists());
}
