//! Agreement with Gymnasium 1.4.0 on the 1000-step trajectories of `reference/`, written by
//! `bench/mujoco/make_reference.py` from Gymnasium itself.
//!
//! One environment replays each recorded trajectory: every episode starts from Gymnasium's
//! initial qpos/qvel (the plugin's own reset noise draws differ from numpy's), the recorded
//! float32 actions are applied, and every step's reward, terminated and truncated flags, qpos
//! and qvel, and the recorded observations must agree within 1e-5.
//!
//! `reference/variants.json` lists trajectories recorded with non-default keyword arguments;
//! the plugin gets the same arguments as `env_config`.
mod common;

use common::{env, f32s, f64s, max_abs_diff, reference};
use serde_json::Value;

const TOL: f64 = 1e-5;

fn rows(values: &[f64], width: usize, row: usize) -> &[f64] {
    &values[row * width..(row + 1) * width]
}

/// Replays `reference/<stem>.npz`, recorded from Gymnasium's `name` with `env_config` as kwargs.
fn check_file(stem: &str, name: &str, env_config: &str) {
    let r = reference(stem);
    let mut env = env(name, 1, 0, env_config);
    let (nq, nv, nu, d) = (env.model().nq(), env.model().nv(), env.model().nu(), env.obs_dim());
    let actions = f32s(&r["actions"]);
    let rewards = f64s(&r["rewards"]);
    let terminated = f64s(&r["terminated"]);
    let truncated = f64s(&r["truncated"]);
    let (qpos, qvel) = (f64s(&r["qpos"]), f64s(&r["qvel"]));
    let (obs_steps, obs) = (f64s(&r["obs_steps"]), f64s(&r["obs"]));
    let starts = f64s(&r["start_steps"]);
    let (start_qpos, start_qvel) = (f64s(&r["start_qpos"]), f64s(&r["start_qvel"]));
    let steps = rewards.len();
    assert_eq!(actions.len(), steps * nu, "{name}: action width");
    assert_eq!(obs.len(), obs_steps.len() * d, "{name}: observation width");

    env.restart_from(0, rows(&start_qpos, nq, 0), rows(&start_qvel, nv, 0)).unwrap();
    let diff = max_abs_diff(env.observation(0), &f64s(&r["reset_obs"]));
    assert!(diff < TOL, "{name}: reset observation differs by {diff}");
    let (mut episode, mut obs_row, mut worst) = (0, 0, 0.0f64);
    for t in 0..steps {
        let outcome = env.step_flat(&actions[t * nu..(t + 1) * nu]).unwrap()[0];
        let diff = (outcome.reward - rewards[t]).abs();
        assert!(diff < TOL, "{name}: step {t}: reward {} vs Gymnasium's {}", outcome.reward, rewards[t]);
        worst = worst.max(diff);
        assert_eq!(outcome.terminated, terminated[t] != 0.0, "{name}: step {t}: terminated");
        assert_eq!(outcome.truncated, truncated[t] != 0.0, "{name}: step {t}: truncated");
        if outcome.terminated || outcome.truncated {
            // The plugin auto-reset with its own noise; start from Gymnasium's next episode.
            episode += 1;
            if episode < starts.len() {
                assert_eq!(starts[episode] as usize, t + 1, "{name}: episode {episode} start");
                env.restart_from(0, rows(&start_qpos, nq, episode), rows(&start_qvel, nv, episode)).unwrap();
            }
            continue;
        }
        for (what, got, want) in [("qpos", env.qpos(0), rows(&qpos, nq, t)), ("qvel", env.qvel(0), rows(&qvel, nv, t))]
        {
            let diff = max_abs_diff(got, want);
            assert!(diff < TOL, "{name}: step {t}: {what} differs by {diff}");
            worst = worst.max(diff);
        }
        if obs_row < obs_steps.len() && obs_steps[obs_row] as usize == t {
            let diff = max_abs_diff(env.observation(0), rows(&obs, d, obs_row));
            assert!(diff < TOL, "{name}: step {t}: observation differs by {diff}");
            worst = worst.max(diff);
            obs_row += 1;
        }
    }
    assert_eq!(obs_row, obs_steps.len(), "{name}: every recorded observation was compared");
    assert_eq!(episode + usize::from(terminated[steps - 1] == 0.0 && truncated[steps - 1] == 0.0), starts.len());
    eprintln!("{stem}: {steps} steps, {} episodes, largest difference {worst:e}", starts.len());
}

fn check(name: &str) {
    check_file(name, name, "{}");
}

#[test]
fn half_cheetah_matches_gymnasium() {
    check("HalfCheetah-v5");
}

#[test]
fn ant_matches_gymnasium() {
    check("Ant-v5");
}

#[test]
fn hopper_matches_gymnasium() {
    check("Hopper-v5");
}

#[test]
fn walker2d_matches_gymnasium() {
    check("Walker2d-v5");
}

#[test]
fn humanoid_matches_gymnasium() {
    check("Humanoid-v5");
}

#[test]
fn keyword_arguments_match_gymnasium() {
    let path = format!("{}/reference/variants.json", env!("CARGO_MANIFEST_DIR"));
    let variants: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let variants = variants.as_object().unwrap();
    assert!(variants.len() >= 3, "{path}: expected the recorded variants");
    for (stem, v) in variants {
        check_file(stem, v["env"].as_str().unwrap(), &v["env_config"].to_string());
    }
}
