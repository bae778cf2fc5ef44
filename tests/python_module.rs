//! `from rlhost import Runner` in a script shaped like Isaac Lab's rl_games train.py/play.py,
//! with rl_games 1.6.5's own registries and `IsaacAlgoObserver`
//! (`tests/python/train_like_isaaclab.py`, run with the project venv's python).
mod common;

use common::{file_names, interrupt_when, read_scalars, workspace_root};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Runs the script in `work`; returns its last stdout line as JSON, after checking it exited 0.
fn script(work: &Path, args: &[&str]) -> Value {
    let root = workspace_root();
    let out = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/python/train_like_isaaclab.py"))
        .arg(work)
        .args(args)
        .env_remove("RLHOST_PLUGIN_PATH")
        .env("RLHOST_PLUGIN_CACHE", work.join("scan-cache.json"))
        .output()
        .expect("the venv's python runs");
    let (stdout, stderr) = common::texts(&out);
    assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{args:?}: {e}: {last}\n{stderr}"))
}

fn newest_checkpoint(run: &Path) -> String {
    let nn = run.join("nn");
    let newest = std::fs::read_dir(&nn)
        .unwrap()
        .flatten()
        .max_by_key(|e| e.metadata().unwrap().modified().unwrap())
        .expect("a checkpoint");
    newest.path().display().to_string()
}

#[test]
fn isaac_lab_train_py_trains_resumes_applies_sigma_and_plays_with_rlhost_runner() {
    let work = tempfile::tempdir().unwrap();
    let trained = script(work.path(), &["train"]);
    assert_eq!(trained["epoch"], 12, "{trained}");
    let run = work.path().join(trained["run_dir"].as_str().unwrap());

    // rl_games' own IsaacAlgoObserver wrote Episode/<key> through `algo.writer` into rlhost's file.
    let events = std::fs::read_dir(run.join("summaries"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents"))
        .unwrap();
    let scalars = read_scalars(&events);
    let returns: Vec<f32> =
        scalars.iter().filter(|(t, _, _)| t == "Episode/Episode_Reward/return").map(|(_, _, v)| *v).collect();
    assert!(returns.len() >= 8 && returns.iter().all(|v| v.is_finite()), "{returns:?}");
    assert!(scalars.iter().any(|(t, _, _)| t == "rewards/iter"), "rlhost's own scalars are in the same file");

    let checkpoint = newest_checkpoint(&run);
    let resumed = script(work.path(), &["resume", &checkpoint]);
    assert_eq!(resumed["epoch"], 16, "resumed from epoch 12: {resumed}");

    let with_sigma = script(work.path(), &["sigma", &newest_checkpoint(&run), "-1.0"]);
    let sigma: Vec<f64> = serde_json::from_value(with_sigma["sigma"].clone()).unwrap();
    assert_eq!(sigma.len(), 2);
    assert!(sigma.iter().all(|s| (s + 1.0).abs() < 0.05), "sigma -1 applied, then one epoch of training: {sigma:?}");

    let played = script(work.path(), &["play", &newest_checkpoint(&run)]);
    assert!(played["games"].as_u64().unwrap() >= 8, "{played}");
    assert!(played["mean_reward"].as_f64().unwrap().is_finite());

    // play.py's own loop: create_player, restore, get_action per step.
    let by_hand = script(work.path(), &["player", &newest_checkpoint(&run)]);
    assert_eq!(by_hand["action_shape"], serde_json::json!([64, 2]), "{by_hand}");
    assert!(by_hand["max_abs_action"].as_f64().unwrap() <= 1.0, "within clip_actions: {by_hand}");
    assert_eq!(by_hand["repeatable"], true, "deterministic actions: {by_hand}");
    let (policy, random) = (by_hand["policy_reward"].as_f64().unwrap(), by_hand["random_reward"].as_f64().unwrap());
    assert!(policy > random + 0.5, "the trained policy beats random actions: {by_hand}");
}

#[test]
fn an_exception_inside_the_env_is_a_python_exception_and_the_interpreter_survives() {
    let work = tempfile::tempdir().unwrap();
    let root = workspace_root();
    let out = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/python/train_like_isaaclab.py"))
        .arg(work.path())
        .arg("env_error")
        .env("RLHOST_PLUGIN_CACHE", work.path().join("scan-cache.json"))
        .output()
        .unwrap();
    let (stdout, stderr) = common::texts(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let caught = lines.iter().find(|v| v.get("caught").is_some()).unwrap_or_else(|| panic!("{stdout}\n{stderr}"));
    assert_eq!(caught["caught"], "EnvError");
    assert_eq!(caught["is_runtime_error"], true);
    let message = caught["message"].as_str().unwrap();
    assert!(message.contains("step(): RuntimeError: physics blew up at step 101"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(lines.iter().any(|v| v.get("survived").is_some()), "{stdout}");
}

#[test]
fn ctrl_c_in_run_saves_a_checkpoint_then_raises_keyboard_interrupt() {
    use std::process::Stdio;

    let work = tempfile::tempdir().unwrap();
    let root = workspace_root();
    let child = Command::new(root.join(".venv/bin/python"))
        .arg("-u")
        .arg(root.join("tests/python/train_like_isaaclab.py"))
        .arg(work.path())
        .arg("interrupt")
        .env("RLHOST_PLUGIN_CACHE", work.path().join("scan-cache.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (exit, rest) = interrupt_when(child, "epoch: 2/100000");
    assert!(exit.success(), "the script caught KeyboardInterrupt and exited 0: {rest:?}");
    let last: Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    let message = last["keyboard_interrupt"].as_str().unwrap_or_else(|| panic!("{rest:?}"));
    assert!(message.starts_with("training interrupted at epoch "), "{message}");
    let saved = file_names(&work.path().join("runs/isaaclab/nn"));
    assert!(saved.iter().any(|f| f.ends_with("_interrupted.safetensors")), "{saved:?}");
}

/// Isaac Lab's `train.py --distributed` under torchrun, with `from rlhost import Runner`: two
/// ranks (Gloo on the CPU) train the Python env; rl_games' `multi_gpu_check_sync` holds every rank
/// to rank 0's state after each epoch, and rank 0 alone writes the run folder.
#[test]
fn train_py_distributed_trains_two_ranks_in_step_with_rlhost_runner() {
    let work = tempfile::tempdir().unwrap();
    let root = workspace_root();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let children: Vec<_> = (0..2)
        .map(|rank| {
            Command::new(root.join(".venv/bin/python"))
                .arg(root.join("tests/python/train_like_isaaclab.py"))
                .arg(work.path())
                .arg("distributed")
                .env_remove("RLHOST_PLUGIN_PATH")
                .env("RLHOST_PLUGIN_CACHE", work.path().join(format!("scan-cache-{rank}.json")))
                .env("RANK", rank.to_string())
                .env("LOCAL_RANK", rank.to_string())
                .env("WORLD_SIZE", "2")
                .env("MASTER_ADDR", "127.0.0.1")
                .env("MASTER_PORT", port.to_string())
                .env("OMP_NUM_THREADS", "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the venv's python runs")
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().expect("rank exits")).collect();
    for (rank, out) in outputs.iter().enumerate() {
        let (stdout, stderr) = common::texts(out);
        assert!(out.status.success(), "rank {rank}: {stdout}\n{stderr}");
        assert!(stdout.contains(&format!("global_rank = {rank} local_rank = {rank} world_size = 2")), "{stdout}");
        let last: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
        assert_eq!(last["epoch"], 6, "rank {rank}: {last}");
    }
    let (leader, _) = common::texts(&outputs[0]);
    let checked = leader.lines().filter(|l| l.contains("2 ranks hold identical state")).count();
    assert_eq!(checked, 6, "{leader}");
    let runs: Vec<_> = std::fs::read_dir(work.path().join("runs")).unwrap().flatten().collect();
    assert_eq!(runs.len(), 1, "rank 0 alone writes a run folder");
    let (follower, _) = common::texts(&outputs[1]);
    assert!(!follower.contains("saving checkpoint"), "{follower}");
}
