//! Env steps per second of one MuJoCo task for `bench/mujoco_steps.py`: the plugin's batch
//! (Gymnasium's full step: observations, rewards, termination, auto-reset) and the limit, the
//! physics alone (`mj_step` x frame_skip) on the same states, models and threads.
//!
//! A twin set of simulations follows the plugin's environments in lock-step (same initial
//! states, same actions, and the plugin's new state copied in after each auto-reset), and only
//! its `mj_step` calls are timed; the plugin's step and the twin's physics alternate every
//! step, so outside load hits both alike.
//!
//! `cargo run --release -p rlhost-plugin-mujoco --example steps -- Ant-v5 64 1 2.0` prints
//! `{"task": "Ant-v5", "envs": 64, "threads": 1, "plugin_steps_per_s": ..., "raw_steps_per_s": ...}`.
use rayon::prelude::*;
use rlhost_mujoco::model::Sim;
use rlhost_mujoco::{make_env, rng::EpisodeRng};
use rlhost_sdk::api::{DlDevice, EnvArgs};
use std::time::{Duration, Instant};

/// Distinct action batches cycled through, uniform over the action range.
const ACTION_BATCHES: usize = 16;
/// Untimed steps before measuring.
const WARM_UP: usize = 10;

fn action_batches(n: usize, nu: usize, low: f64, high: f64) -> Vec<Vec<f32>> {
    let mut rng = EpisodeRng::new(99, 0);
    (0..ACTION_BATCHES).map(|_| (0..n * nu).map(|_| rng.uniform(low, high) as f32).collect()).collect()
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let [task, envs, threads, seconds] = argv.as_slice() else {
        eprintln!("usage: steps TASK ENVS THREADS SECONDS");
        std::process::exit(2);
    };
    let (n, threads, seconds): (usize, usize, f64) =
        (envs.parse().expect("ENVS"), threads.parse().expect("THREADS"), seconds.parse().expect("SECONDS"));
    let args = EnvArgs {
        config_json: format!(r#"{{"num_threads": {threads}}}"#).into(),
        num_envs: n as u32,
        seed: 0,
        device: DlDevice::CPU,
        config_dir: Default::default(),
        verbose: false,
    };
    let mut env = make_env(task, &args).unwrap_or_else(|e| panic!("{task}: {}", e.message));
    let (nu, frames) = (env.model().nu(), env.frame_skip());
    let range = env.model().ctrl_range().to_vec();
    let batches = action_batches(n, nu, range[0], range[1]);
    let model = rlhost_mujoco::model::Model::load(env.model().path()).unwrap();
    let mut twins: Vec<Sim> = (0..n)
        .map(|i| {
            let mut sim = Sim::new(model.clone()).unwrap();
            sim.reset_to(env.qpos(i), env.qvel(i));
            sim
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let chunk = n.div_ceil(threads);
    let (mut plugin_time, mut raw_time, mut steps) = (Duration::ZERO, Duration::ZERO, 0usize);
    let start = Instant::now();
    for t in 0.. {
        let actions = &batches[t % ACTION_BATCHES];
        let t0 = Instant::now();
        let done: Vec<bool> = env.step_flat(actions).unwrap().iter().map(|o| o.terminated || o.truncated).collect();
        let t1 = Instant::now();
        let physics = |(sims, actions): (&mut [Sim], &[f32])| {
            for (sim, a) in sims.iter_mut().zip(actions.chunks(nu)) {
                sim.set_ctrl(a);
                sim.step_physics(frames);
            }
        };
        if threads == 1 {
            physics((&mut twins, actions));
        } else {
            pool.install(|| twins.par_chunks_mut(chunk).zip(actions.par_chunks(chunk * nu)).for_each(physics));
        }
        let t2 = Instant::now();
        for (i, twin) in twins.iter_mut().enumerate() {
            if done[i] {
                twin.reset_to(env.qpos(i), env.qvel(i));
            }
        }
        if t >= WARM_UP {
            plugin_time += t1 - t0;
            raw_time += t2 - t1;
            steps += n;
            if steps >= 20 * n && start.elapsed() > Duration::from_secs_f64(seconds) {
                break;
            }
        }
    }
    let (plugin, raw) = (steps as f64 / plugin_time.as_secs_f64(), steps as f64 / raw_time.as_secs_f64());
    println!(
        r#"{{"task": "{task}", "envs": {n}, "threads": {threads}, "plugin_steps_per_s": {plugin:.1}, "raw_steps_per_s": {raw:.1}}}"#
    );
}
