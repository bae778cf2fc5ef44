//! `rlhost bench`: environment throughput through the plugin API, the cost of one boundary
//! crossing, and where a training epoch's time goes, as a table and as JSON.
use crate::config;
use crate::observer::HostObserver;
use crate::runner::{Mode, Outcome, Runner};
use crate::wrapper::{HostEnv, WrapperOptions};
use anyhow::{anyhow, Result};
use rlhost_sdk::EnvHandle;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;
use tch::{Kind, Tensor};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    /// Environment batch sizes for the step benchmark.
    pub env_sizes: Vec<u32>,
    /// Steps timed per size.
    pub env_steps: u32,
    /// Training epochs to run (0 skips training); the split averages over all of them.
    pub epochs: u32,
}

/// Environment steps per second at one batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvThroughput {
    /// Number of environments.
    pub num_envs: u32,
    /// Env steps per second calling the plugin through the API.
    pub api_steps_per_s: f64,
    /// Env steps per second through the host's wrapper as agents see it.
    pub wrapped_steps_per_s: f64,
    /// Seconds per batched step through the API.
    pub api_step_s: f64,
}

/// Runs the environment part: the configured environment at each size.
pub fn env_throughput(runner: &Runner<'_>, plan: &BenchPlan) -> Result<Vec<EnvThroughput>> {
    let mut rows = Vec::new();
    for &n in &plan.env_sizes {
        let mut env = runner.create_raw_env(Mode::Train, Some(n))?;
        let actions = random_actions(&env)?;
        let api = time_steps(&mut env, &actions, plan.env_steps)?;
        let observer = HostObserver::new(None, Arc::new(AtomicBool::new(false)), false)?;
        let wrapped = HostEnv::new(env, WrapperOptions::default(), runner.device(), observer)
            .map_err(anyhow::Error::new)?
            .boxed();
        let mut wrapped = EnvHandle::new(wrapped).map_err(anyhow::Error::new)?;
        let through_wrapper = time_steps(&mut wrapped, &actions, plan.env_steps)?;
        let steps = f64::from(n) * f64::from(plan.env_steps);
        rows.push(EnvThroughput {
            num_envs: n,
            api_steps_per_s: steps / api,
            wrapped_steps_per_s: steps / through_wrapper,
            api_step_s: api / f64::from(plan.env_steps),
        });
    }
    Ok(rows)
}

/// Uniform actions inside a box action space's bounds.
fn random_actions(env: &EnvHandle) -> Result<Tensor> {
    let (low, high) = env.info().box_bounds().ok_or_else(|| anyhow!("rlhost bench needs a box action space"))?;
    let low = Tensor::from_slice(low).to_device(env.device());
    let high = Tensor::from_slice(high).to_device(env.device());
    let u = Tensor::rand([env.num_envs(), low.size()[0]], (Kind::Float, env.device()));
    Ok(&low + u * (&high - &low))
}

/// Seconds for `steps` steps after a short warm-up.
fn time_steps(env: &mut EnvHandle, actions: &Tensor, steps: u32) -> Result<f64> {
    let out = env.step_buffers().map_err(anyhow::Error::new)?;
    env.reset(out.observations()).map_err(anyhow::Error::new)?;
    for _ in 0..10 {
        env.step(actions, &out).map_err(anyhow::Error::new)?;
    }
    sync(env.device());
    let start = Instant::now();
    for _ in 0..steps {
        env.step(actions, &out).map_err(anyhow::Error::new)?;
    }
    sync(env.device());
    Ok(start.elapsed().as_secs_f64())
}

fn sync(device: tch::Device) {
    if let tch::Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Nanoseconds per call of a method that crosses the boundary and does nothing (`set_train_info`).
pub fn boundary_call_ns(runner: &Runner<'_>) -> Result<f64> {
    let mut env = runner.create_raw_env(Mode::Train, Some(1))?;
    let calls = 200_000u32;
    let start = Instant::now();
    for i in 0..calls {
        env.set_train_info(u64::from(i)).map_err(anyhow::Error::new)?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e9 / f64::from(calls))
}

/// The averages of one training run over all its epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochSplit {
    /// Epochs averaged.
    pub epochs: usize,
    /// Frames per epoch.
    pub frames_per_epoch: f64,
    /// Mean seconds per epoch.
    pub epoch_s: f64,
    /// Mean seconds in env steps.
    pub env_step_s: f64,
    /// Mean seconds in the rollout outside env steps (policy inference, storage).
    pub inference_s: f64,
    /// Mean seconds in GAE, when the algorithm reports it (inside the rollout time otherwise).
    pub gae_s: Option<f64>,
    /// Mean seconds in the update.
    pub update_s: f64,
    /// Mean seconds of the update spent all-reducing gradients across processes, when the
    /// algorithm reports it (`multi_gpu`).
    pub grad_all_reduce_s: Option<f64>,
    /// Total frames per second.
    pub fps_total: f64,
}

/// Trains for the planned epochs and splits an epoch's time using the algorithm's phase times
/// (the typed `Agent::phase_times` call: cumulative seconds per phase over every epoch).
pub fn epoch_split(runner: &Runner<'_>) -> Result<EpochSplit> {
    let Outcome::Trained { phase_times, .. } = runner.run(Mode::Train, None, None)? else {
        return Err(anyhow!("training produced no result"));
    };
    let doc = runner.doc();
    let frames = (config::opt_i64(doc, "params.config.horizon_length")?.unwrap_or(0)
        * config::opt_i64(doc, "params.config.num_actors")?.unwrap_or(0)) as f64;
    let epochs =
        phase_times.get("epochs").copied().filter(|&e| e > 0.0).ok_or_else(|| {
            anyhow!("the algorithm reports no phase times (Agent::phase_times); rlhost bench needs them")
        })?;
    let per_epoch = |phase: &str| -> Result<f64> {
        phase_times
            .get(phase)
            .map(|s| s / epochs)
            .ok_or_else(|| anyhow!("the algorithm reports no '{phase}' phase time"))
    };
    let epoch_s = per_epoch("total")?;
    Ok(EpochSplit {
        epochs: epochs as usize,
        frames_per_epoch: frames,
        epoch_s,
        env_step_s: per_epoch("env_step")?,
        inference_s: per_epoch("inference")?,
        gae_s: phase_times.get("gae").map(|s| s / epochs),
        update_s: per_epoch("update")?,
        grad_all_reduce_s: phase_times.get("grad_all_reduce").map(|s| s / epochs),
        fps_total: frames / epoch_s,
    })
}

/// The report as JSON.
pub fn to_json(envs: &[EnvThroughput], boundary_ns: f64, split: Option<&EpochSplit>, config: &Value) -> Value {
    let env_rows: Vec<Value> = envs
        .iter()
        .map(|r| {
            json!({
                "num_envs": r.num_envs,
                "api_steps_per_s": r.api_steps_per_s,
                "wrapped_steps_per_s": r.wrapped_steps_per_s,
                "api_step_us": r.api_step_s * 1e6,
                "boundary_call_fraction_of_step": boundary_ns * 1e-9 / r.api_step_s,
            })
        })
        .collect();
    let mut report = BTreeMap::new();
    report.insert("env", Value::from(env_rows));
    report.insert("boundary_call_ns", Value::from(boundary_ns));
    report.insert("env_name", config.pointer("/params/config/env_name").cloned().unwrap_or(Value::Null));
    if let Some(s) = split {
        report.insert(
            "training",
            json!({
                "epochs_averaged": s.epochs,
                "frames_per_epoch": s.frames_per_epoch,
                "fps_total": s.fps_total,
                "epoch_s": s.epoch_s,
                "env_step_s": s.env_step_s,
                "inference_s": s.inference_s,
                "gae_s": s.gae_s,
                "update_s": s.update_s,
                "grad_all_reduce_s": s.grad_all_reduce_s,
                "policy_inference_fps": s.frames_per_epoch / s.inference_s.max(1e-12),
                "update_samples_per_s": s.frames_per_epoch
                    * config.pointer("/params/config/mini_epochs").and_then(Value::as_f64).unwrap_or(1.0)
                    / s.update_s.max(1e-12),
            }),
        );
    }
    json!(report)
}

/// The report as a table.
pub fn to_table(envs: &[EnvThroughput], boundary_ns: f64, split: Option<&EpochSplit>) -> String {
    let mut out = String::new();
    out.push_str("env steps per second (through the plugin API | through the host wrapper)\n");
    out.push_str(&format!(
        "{:>8}  {:>14}  {:>14}  {:>12}  {:>16}\n",
        "envs", "api", "wrapped", "step (us)", "1 ABI call/step"
    ));
    for r in envs {
        out.push_str(&format!(
            "{:>8}  {:>14.0}  {:>14.0}  {:>12.1}  {:>15.4}%\n",
            r.num_envs,
            r.api_steps_per_s,
            r.wrapped_steps_per_s,
            r.api_step_s * 1e6,
            100.0 * boundary_ns * 1e-9 / r.api_step_s
        ));
    }
    out.push_str(&format!("one call across the plugin boundary: {boundary_ns:.0} ns\n"));
    if let Some(s) = split {
        let pct = |x: f64| 100.0 * x / s.epoch_s;
        out.push_str(&format!(
            "\ntraining: {:.0} total fps over {} epochs ({:.0} frames, {:.3} s per epoch)\n",
            s.fps_total, s.epochs, s.frames_per_epoch, s.epoch_s
        ));
        out.push_str(&format!("  env steps        {:>8.4} s  {:>5.1}%\n", s.env_step_s, pct(s.env_step_s)));
        out.push_str(&format!("  policy inference {:>8.4} s  {:>5.1}%\n", s.inference_s, pct(s.inference_s)));
        if let Some(g) = s.gae_s {
            out.push_str(&format!("  GAE              {:>8.4} s  {:>5.1}%\n", g, pct(g)));
        }
        out.push_str(&format!("  update           {:>8.4} s  {:>5.1}%\n", s.update_s, pct(s.update_s)));
        if let Some(a) = s.grad_all_reduce_s.filter(|&a| a > 0.0) {
            out.push_str(&format!(
                "    of which gradient all-reduce {a:.4} s ({:.1}% of the update)\n",
                100.0 * a / s.update_s
            ));
        }
        let other = s.epoch_s - s.env_step_s - s.inference_s - s.gae_s.unwrap_or(0.0) - s.update_s;
        out.push_str(&format!("  other            {:>8.4} s  {:>5.1}%\n", other, pct(other)));
    }
    out
}
