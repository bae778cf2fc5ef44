//! `rlhost bench` reports every figure it promises, consistently (no timing thresholds).
mod common;

use common::*;

#[test]
fn bench_reports_env_throughput_the_boundary_and_the_epoch_split() {
    let dir = plugin_dir(&[
        built_library("rlhost-plugin-classic-control", "rlhost_classic_control"),
        built_library("rlhost-plugin-a2c-continuous", "rlhost_a2c_continuous"),
    ]);
    let config = workspace_root().join("configs/pendulum_ppo.yaml");
    let out = run_rlhost(
        dir.path(),
        &[
            "bench",
            "--plugin-dir",
            ".",
            "--config",
            config.to_str().unwrap(),
            "--epochs",
            "3",
            "--env-sizes",
            "16,64",
            "--env-steps",
            "5",
            "--num-envs",
            "64",
            "--json",
            "bench.json",
            "params.config.minibatch_size=1024",
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for label in ["env steps per second", "one call across the plugin boundary", "policy inference", "GAE", "update"] {
        assert!(stdout.contains(label), "{label}: {stdout}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bench.json")).unwrap()).unwrap();
    let envs = report["env"].as_array().unwrap();
    assert_eq!(envs.iter().map(|r| r["num_envs"].as_u64().unwrap()).collect::<Vec<_>>(), [16, 64]);
    for row in envs {
        for key in ["api_steps_per_s", "wrapped_steps_per_s", "api_step_us", "boundary_call_fraction_of_step"] {
            assert!(row[key].as_f64().unwrap() > 0.0, "{key}: {row}");
        }
    }
    let t = &report["training"];
    assert_eq!(t["epochs_averaged"], 3, "the typed phase times cover every epoch");
    assert_eq!(t["frames_per_epoch"], 64.0 * 32.0);
    let part = |k: &str| t[k].as_f64().unwrap();
    let parts = part("env_step_s") + part("inference_s") + part("gae_s") + part("update_s");
    assert!(parts > 0.0 && parts <= part("epoch_s") * 1.05, "the phases fit in the epoch: {t}");
    assert!((part("fps_total") * part("epoch_s") - 2048.0).abs() < 1.0, "{t}");
    assert!(!dir.path().join("runs").exists(), "bench runs leave no run folder behind");
}
