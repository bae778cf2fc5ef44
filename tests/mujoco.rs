//! The MuJoCo env plugin through the binary: a shipped config trains, and a bad `env_config`
//! value is one line and exit 1.
mod common;

use common::{built_library, last_line, plugin_dir, read_scalars, rlhost_in, workspace_root};
use std::path::Path;

fn plugins() -> tempfile::TempDir {
    plugin_dir(&[
        built_library("rlhost-plugin-a2c-continuous", "rlhost_a2c_continuous"),
        built_library("rlhost-plugin-mujoco", "rlhost_mujoco"),
    ])
}

fn ant_config() -> String {
    std::fs::read_to_string(workspace_root().join("configs/ant_mujoco_ppo.yaml")).unwrap()
}

fn train(dir: &Path, config: &str, iterations: &str) -> (i32, String, String) {
    std::fs::write(dir.join("config.yaml"), config).unwrap();
    rlhost_in(
        dir,
        &[
            "train",
            "--plugin-dir",
            ".",
            "--config",
            "config.yaml",
            "--experiment",
            "ant",
            "--max-iterations",
            iterations,
        ],
    )
}

#[test]
fn the_ant_config_trains_through_the_binary() {
    let dir = plugins();
    let (code, out, err) = train(dir.path(), &ant_config(), "3");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("epoch: 3/3"), "{out}");
    let run = dir.path().join("runs/ant");
    let summaries = std::fs::read_dir(run.join("summaries")).unwrap().flatten().map(|e| e.path());
    let events = summaries.into_iter().find(|p| p.to_string_lossy().contains("tfevents")).expect("an event file");
    let scalars = read_scalars(&events);
    let rewards: Vec<f32> = scalars.iter().filter(|(t, _, _)| t == "rewards/step").map(|(_, _, v)| *v).collect();
    assert!(!rewards.is_empty() && rewards.iter().all(|r| r.is_finite()), "{rewards:?}");
    assert!(std::fs::read_dir(run.join("nn")).unwrap().count() > 0, "a checkpoint is written");
}

#[test]
fn a_bad_env_config_value_is_one_line_and_exit_1() {
    let dir = plugins();
    let config = ant_config().replace("      seed: 5", "      seed: 5\n      healthy_z_range: [1.0, 0.2]");
    let (code, _, err) = train(dir.path(), &config, "1");
    assert_eq!(code, 1, "{err}");
    assert!(last_line(&err).contains("env_config.healthy_z_range"), "{err}");
}
