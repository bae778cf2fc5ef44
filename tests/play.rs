//! `rlhost play`: checkpoint selectors and bad checkpoints, through the real plugins.
mod common;

use common::*;
use std::path::{Path, PathBuf};

fn plugins() -> tempfile::TempDir {
    plugin_dir(&[
        built_library("rlhost-plugin-classic-control", "rlhost_classic_control"),
        built_library("rlhost-plugin-a2c-continuous", "rlhost_a2c_continuous"),
        built_library("rlhost-plugin-ppo-player", "rlhost_ppo_player"),
    ])
}

fn config(name: &str) -> String {
    workspace_root().join("configs").join(name).to_string_lossy().into_owned()
}

fn train(dir: &Path, config_name: &str, experiment: &str) -> PathBuf {
    train_with(dir, config_name, experiment, &[])
}

/// [`train`] with more `key=value` overrides.
fn train_with(dir: &Path, config_name: &str, experiment: &str, overrides: &[&str]) -> PathBuf {
    let config = config(config_name);
    let mut args = vec![
        "train",
        "--plugin-dir",
        ".",
        "--config",
        &config,
        "--max-iterations",
        "2",
        "--num-envs",
        "32",
        "--experiment",
        experiment,
        "params.config.minibatch_size=1024",
    ];
    args.extend(overrides);
    let out = run_rlhost(dir, &args);
    assert!(out.status.success(), "{}", texts(&out).1);
    std::fs::read_dir(dir.join("runs").join(experiment).join("nn")).unwrap().flatten().map(|e| e.path()).next().unwrap()
}

fn play(dir: &Path, checkpoint: &str) -> (Option<i32>, String, String) {
    let out = run_rlhost(
        dir,
        &[
            "play",
            "--plugin-dir",
            ".",
            "--config",
            &config("pendulum_ppo.yaml"),
            "--checkpoint",
            checkpoint,
            "--games",
            "2",
            "--num-envs",
            "2",
        ],
    );
    let (stdout, stderr) = texts(&out);
    (out.status.code(), stdout, stderr)
}

#[test]
fn latest_resolves_in_the_run_folders_and_plays() {
    let dir = plugins();
    let ckpt = train(dir.path(), "pendulum_ppo.yaml", "pendulum_01-02-03-04");
    let (code, stdout, stderr) = play(dir.path(), "latest");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!("=> loading checkpoint '{}'", ckpt.strip_prefix(dir.path()).unwrap().display())),
        "{stdout}"
    );
    assert!(stdout.contains("av reward: ") && stdout.contains("av steps: 200"), "{stdout}");
    let (code, _, stderr) = play(dir.path(), "best");
    assert_eq!(code, Some(1), "no best checkpoint before save_best_after");
    assert!(stderr.contains("no best checkpoint for 'pendulum'"), "{stderr}");
}

#[test]
fn bad_checkpoints_get_one_line_naming_the_file_and_the_mismatch() {
    let dir = plugins();
    let d = dir.path();
    let good = train(d, "pendulum_ppo.yaml", "good");

    let (code, _, stderr) = play(d, "missing.safetensors");
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().last().unwrap(), "error: checkpoint missing.safetensors does not exist");

    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(d.join("truncated.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    let (code, _, stderr) = play(d, "truncated.safetensors");
    assert_eq!(code, Some(1));
    let line = stderr.lines().last().unwrap();
    assert!(line.starts_with("error: ") && line.contains("truncated.safetensors"), "{line}");

    let cartpole = train(d, "cartpole_ppo.yaml", "cartpole");
    let (code, _, stderr) = play(d, cartpole.to_str().unwrap());
    assert_eq!(code, Some(1));
    let line = stderr.lines().last().unwrap();
    assert!(line.contains("cartpole") && line.contains('4') && line.contains('3'), "observation 4 vs 3: {line}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error:")).count(), 1);
}

#[test]
fn a_host_drives_the_policy_itself_through_the_per_step_action_call() {
    use rlhost::discovery::discover;
    use rlhost::registry::Registry;
    use rlhost::runner::Runner;
    use rlhost_sdk::tensor::ViewParts;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use tch::{Kind, Tensor};

    let dir = plugins();
    let ckpt = train(dir.path(), "pendulum_ppo.yaml", "act");
    let set = discover(&[dir.path().to_path_buf()]);
    let registry = Registry::new(&set.loaded, &[]);
    let doc = rlhost::config::load_file(&workspace_root().join("configs/pendulum_ppo.yaml")).unwrap();
    let runner = Runner::load(registry, doc, Arc::new(AtomicBool::new(false))).unwrap().without_progress();
    let mut player = runner.create_detached_player(&ckpt).unwrap();

    // Upright and still, then hanging down: the checkpoint's policy acts within the torque bounds.
    let obs = Tensor::from_slice(&[1.0f32, 0.0, 0.0, -1.0, 0.0, 0.0]).view([2, 3]);
    let actions = Tensor::full([2, 1], f64::NAN, (Kind::Float, tch::Device::Cpu));
    let (o, a) = (ViewParts::of(&obs).unwrap(), ViewParts::of(&actions).unwrap());
    player.act(o.view(), a.view(), true).into_result().unwrap();
    let values = Vec::<f32>::try_from(actions.view([-1])).unwrap();
    assert!(values.iter().all(|v| v.is_finite() && v.abs() <= 2.0), "{values:?}");
    // Deterministic: the same observation gives the same action.
    let again = Tensor::zeros([2, 1], (Kind::Float, tch::Device::Cpu));
    let b = ViewParts::of(&again).unwrap();
    player.act(o.view(), b.view(), true).into_result().unwrap();
    assert!(again.equal(&actions));
    // A wrong shape is named.
    let wrong = Tensor::zeros([2, 2], (Kind::Float, tch::Device::Cpu));
    let w = ViewParts::of(&wrong).unwrap();
    let err = player.act(o.view(), w.view(), true).into_result().unwrap_err();
    assert_eq!(err.message.as_str(), "act: actions must have shape (2, 1) to match obs, got [2, 2]");
}

#[test]
fn ctrl_c_saves_a_checkpoint_and_exits_cleanly() {
    use std::process::{Command, Stdio};

    let dir = plugins();
    let child = Command::new(rlhost_bin())
        .current_dir(dir.path())
        .args([
            "train",
            "--plugin-dir",
            ".",
            "--config",
            &config("pendulum_ppo.yaml"),
            "--max-iterations",
            "100000",
            "--num-envs",
            "32",
            "--experiment",
            "interrupted",
            "params.config.minibatch_size=1024",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (exit, rest) = common::interrupt_when(child, "epoch: 3/100000");
    assert_eq!(exit.code(), Some(0), "{rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("training interrupted at epoch ")), "{rest:?}");
    let saved = common::file_names(&dir.path().join("runs/interrupted/nn"));
    assert!(saved.iter().any(|f| f.ends_with("_interrupted.safetensors")), "{saved:?}");
    assert!(!saved.iter().any(|f| f.contains(".tmp")), "no half-written file: {saved:?}");
}

#[test]
fn an_lstm_checkpoint_plays_and_carries_its_hidden_state_between_steps() {
    use rlhost::discovery::discover;
    use rlhost::registry::Registry;
    use rlhost::runner::Runner;
    use rlhost_sdk::tensor::ViewParts;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use tch::{Kind, Tensor};

    let dir = plugins();
    let lstm = "params.network.rnn={name: lstm, units: 16, layers: 1, before_mlp: true, layer_norm: true}";
    let ckpt = train_with(dir.path(), "pendulum_ppo.yaml", "lstm", &[lstm, "params.config.seq_length=8"]);
    let (code, stdout, stderr) = play(dir.path(), ckpt.to_str().unwrap());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("av reward: ") && stdout.contains("av steps: 200"), "{stdout}");

    let set = discover(&[dir.path().to_path_buf()]);
    let registry = Registry::new(&set.loaded, &[]);
    let doc = rlhost::config::load_file(&workspace_root().join("configs/pendulum_ppo.yaml")).unwrap();
    let runner = Runner::load(registry, doc, Arc::new(AtomicBool::new(false))).unwrap().without_progress();
    let mut player = runner.create_detached_player(&ckpt).unwrap();
    let obs = Tensor::from_slice(&[1.0f32, 0.0, 0.0, -1.0, 0.0, 0.0]).view([2, 3]);
    let step = |player: &mut rlhost_plugin_api::PlayerBox| {
        let actions = Tensor::full([2, 1], f64::NAN, (Kind::Float, tch::Device::Cpu));
        let (o, a) = (ViewParts::of(&obs).unwrap(), ViewParts::of(&actions).unwrap());
        player.act(o.view(), a.view(), true).into_result().unwrap();
        actions
    };
    let first = step(&mut player);
    let second = step(&mut player);
    let values = Vec::<f32>::try_from(first.view([-1])).unwrap();
    assert!(values.iter().all(|v| v.is_finite() && v.abs() <= 2.0), "{values:?}");
    // Deterministic, same observation: only the hidden state differs between the two steps.
    assert!(!second.equal(&first), "the second step acted from zero states again: {first:?}");
    // A restore starts from zero states: its first step is the first step above.
    player.restore(ckpt.to_str().unwrap().into()).into_result().unwrap();
    assert!(step(&mut player).equal(&first));

    // The ONNX exporter writes the recurrent graph (its agreement is in tests/export.rs).
    let config = config("pendulum_ppo.yaml");
    let out = run_rlhost(
        dir.path(),
        &["export", "--plugin-dir", ".", "--config", &config, "--checkpoint", ckpt.to_str().unwrap()],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("exported ") && stdout.contains("(outputs: actions)"), "{stdout}");
    assert!(ckpt.with_extension("onnx").exists());
}
