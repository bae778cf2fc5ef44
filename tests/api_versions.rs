//! Plugin API versioning across 2.x minors: a plugin built against 2.0 loads and works in a host
//! built against a later 2.x (one new root-module field, one new `VecEnv` method, one new enum
//! variant), which abi_stable's own layout check alone would refuse.
mod common;

use common::{built_library, target_dir, workspace_root};
use std::process::Command;

/// Builds `tests/next_minor_host` (outside the workspace, so its interface feature stays its own).
fn next_minor_host() -> std::path::PathBuf {
    let release = target_dir().file_name().is_some_and(|n| n == "release");
    let target_root = target_dir().parent().expect("target root").to_path_buf();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root().join("tests").join("next_minor_host"))
        .args(["build", "--quiet", "--locked"])
        .env("CARGO_TARGET_DIR", &target_root);
    if release {
        cmd.arg("--release");
    }
    assert!(cmd.status().expect("cargo runs").success(), "building tests/next_minor_host failed");
    let bin = target_dir().join("rlhost-next-minor-host");
    assert!(bin.is_file(), "{} missing", bin.display());
    bin
}

#[test]
fn a_plugin_built_against_2_0_loads_and_steps_in_a_later_2_x_host() {
    let plugin = built_library("rlhost-plugin-classic-control", "rlhost_classic_control");
    let out = Command::new(next_minor_host()).arg(&plugin).arg("Pendulum-v1").output().expect("host runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(report["loaded"], true, "{report}");
    assert_eq!(report["host_api"], "2.1.0", "the fixture host speaks the later minor");
    assert_eq!(report["host_minor"], 1);
    // The root-module field of the later minor is absent from the 2.0 plugin: None.
    assert_eq!(report["module_probe"], serde_json::Value::Null, "{report}");
    // The later minor's VecEnv method is missing from the 2.0 vtable: its default body answers.
    assert_eq!(report["env_probe"], 2000, "{report}");
    // And the 2.0 methods work through the newer host's types.
    assert_eq!(report["num_envs"], 4);
    assert_eq!(report["rewards_finite"], true, "{report}");

    // abi_stable's layout check alone refuses the older plugin (it accepts only libraries at
    // least as new as the loader): the reverse check in `load_root_module` is what admits it.
    let out = Command::new(next_minor_host())
        .arg(&plugin)
        .arg("Pendulum-v1")
        .arg("--abi-stable-check-only")
        .output()
        .expect("host runs");
    let report: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(report["loaded"], false, "{report}");
}
