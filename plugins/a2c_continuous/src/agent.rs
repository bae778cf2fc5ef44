//! The training agent: rl_games' `A2CAgent.train()` loop (spec §4.2), logging (§7), checkpoint
//! triggers (§4.14), save/restore (§6 and `CHECKPOINT.md`).
use crate::adam::Adam;
use crate::checkpoint::{self, names, LoadedCheckpoint};
use crate::config::{Params, PpoConfig};
use crate::meters::{AverageMeter, EpisodeMeters};
use crate::model::Model;
use crate::rollout::Rollout;
use crate::schedule::Scheduler;
use crate::update::{prepare_batch, Trainer, UpdateStats};
use abi_stable::std_types::{RSlice, RString};
use rlhost_sdk::api::{AlgoArgs, EpochProgress, ObserverBox, Scalar, SigmaOverride, TrainSummary};
use rlhost_sdk::tensor::tch_device;
use rlhost_sdk::{EnvHandle, ErrorKind, NativeAgent, PluginError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Plugin id written into checkpoints.
pub const PLUGIN_ID: &str = "org.rlhost.a2c_continuous";

/// Cumulative wall time per phase since construction, in seconds (for benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseTimes {
    /// Inside `env.step`.
    pub env_step: f64,
    /// Rollout minus env stepping and GAE: policy inference and buffer writes.
    pub inference: f64,
    /// GAE.
    pub gae: f64,
    /// Dataset preparation and the minibatch updates.
    pub update: f64,
    /// Whole epochs.
    pub total: f64,
}

/// rl_games' continuous PPO agent.
pub struct PpoAgent {
    params: Params,
    cfg: PpoConfig,
    env: EnvHandle,
    observer: ObserverBox,
    nn_dir: PathBuf,
    device: Device,
    obs_shape: Vec<i64>,
    action_low: Vec<f32>,
    action_high: Vec<f32>,
    model: Model,
    trainer: Trainer,
    rollout: Rollout,
    epoch: u64,
    frame: u64,
    best_reward: f64,
    meters: EpisodeMeters,
    /// Whether the environment must be reset before the next rollout (no valid carry).
    needs_reset: bool,
    phase_times: PhaseTimes,
}

fn config_error(message: String) -> PluginError {
    PluginError::new(ErrorKind::Config, message)
}

impl PpoAgent {
    /// Builds the agent from the host's arguments.
    pub fn new(args: AlgoArgs) -> Result<Self, PluginError> {
        let AlgoArgs { params_json, env, observer, run_dir, device, seed } = args;
        let mut warnings = Vec::new();
        let params = Params::parse(params_json.as_str(), &mut |w| warnings.push(w))?;
        for w in &warnings {
            observer.message(w.as_str().into());
        }
        let cfg = params.config.clone();
        let env = EnvHandle::new(env)?;
        let info = env.info().clone();
        if info.num_envs as i64 != cfg.num_actors {
            return Err(config_error(format!(
                "params.config.num_actors: {} but the environment has {} envs",
                cfg.num_actors, info.num_envs
            )));
        }
        if info.agents != 1 {
            return Err(PluginError::new(
                ErrorKind::Unsupported,
                format!("environment has {} agents per env; multi-agent training is not supported yet", info.agents),
            ));
        }
        if info.value_size != 1 {
            return Err(PluginError::new(
                ErrorKind::Unsupported,
                format!("environment has value_size {}; vector rewards are not supported yet", info.value_size),
            ));
        }
        let mode = info.autoreset_mode.as_str();
        if !(mode.is_empty() || mode == "same_step") {
            return Err(PluginError::new(
                ErrorKind::Unsupported,
                format!("environment autoreset_mode '{mode}' is not supported yet (only same_step)"),
            ));
        }
        let action_dim = info.action_dim() as i64;
        if action_dim == 0 {
            return Err(PluginError::new(ErrorKind::Shape, "environment has no action dimensions"));
        }
        let device = tch_device(device)?;
        if let Device::Cuda(i) = device {
            if !tch::Cuda::is_available() || i >= tch::Cuda::device_count() as usize {
                return Err(PluginError::new(ErrorKind::Device, format!("training device cuda:{i} is not available")));
            }
        }
        let obs_shape: Vec<i64> = info.observation_shape.iter().copied().collect();

        // `torch.manual_seed(seed)`, as rl_games' Runner does (and, like it, nothing for seed 0): the
        // same seed draws the same initial weights and action noise.
        if seed != 0 {
            tch::manual_seed(seed as i64);
        }
        let model =
            Model::new(&params.network, &obs_shape, action_dim, cfg.normalize_input, cfg.normalize_value, device);
        let adam = Adam::new(model.net.named_parameters(), cfg.learning_rate, cfg.weight_decay);
        let scheduler = Scheduler::new(cfg.lr_schedule.clone(), cfg.learning_rate, cfg.entropy_coef);
        let trainer = Trainer { adam, scheduler, entropy_coef: cfg.entropy_coef };
        let rollout = Rollout::new(&env, cfg.horizon_length, device);
        let agent = PpoAgent {
            nn_dir: Path::new(run_dir.as_str()).join("nn"),
            meters: EpisodeMeters::new(cfg.games_to_track),
            action_low: info.action_low.to_vec(),
            action_high: info.action_high.to_vec(),
            params,
            cfg,
            env,
            observer,
            device,
            obs_shape,
            model,
            trainer,
            rollout,
            epoch: 0,
            frame: 0,
            best_reward: f64::NEG_INFINITY,
            needs_reset: true,
            phase_times: PhaseTimes::default(),
        };
        agent.say(&format!("current training device: {}", device_name(device)));
        Ok(agent)
    }

    fn say(&self, text: &str) {
        self.observer.message(text.into());
    }

    /// Epochs finished so far.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Frames collected so far.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// Mean raw episode return over the tracked window, `None` before any episode ended.
    pub fn mean_reward(&self) -> Option<f64> {
        (!self.meters.rewards.is_empty()).then(|| self.meters.rewards.mean())
    }

    /// Cumulative phase timings.
    pub fn phase_times(&self) -> PhaseTimes {
        self.phase_times
    }

    /// Every tensor a checkpoint holds (weights, statistics, optimiser), by name.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> =
            self.model.net.named_parameters().into_iter().map(|(n, p)| (n, p.detach())).collect();
        let mut rms = |prefix: &str, r: &crate::normalizer::RunningMeanStd| {
            out.push((format!("{prefix}.running_mean"), r.mean.shallow_clone()));
            out.push((format!("{prefix}.running_var"), r.var.shallow_clone()));
            out.push((format!("{prefix}.count"), Tensor::from(r.count)));
        };
        if let Some(r) = &self.model.obs_rms {
            rms("running_mean_std", r);
        }
        if let Some(r) = &self.model.value_rms {
            rms("value_mean_std", r);
        }
        let adam = &self.trainer.adam;
        for (i, (name, _)) in adam.params.iter().enumerate() {
            out.push((format!("optimizer.state.{name}.exp_avg"), adam.exp_avg[i].shallow_clone()));
            out.push((format!("optimizer.state.{name}.exp_avg_sq"), adam.exp_avg_sq[i].shallow_clone()));
        }
        out.push(("optimizer.step".into(), Tensor::from(adam.step)));
        out
    }

    // --------------------------------------------------------------------------------------------
    // Training loop
    // --------------------------------------------------------------------------------------------

    fn train_loop(&mut self) -> Result<TrainSummary, PluginError> {
        if self.needs_reset {
            self.rollout.reset(&mut self.env)?;
            self.needs_reset = false;
        }
        loop {
            if self.observer.should_stop() {
                let path = self.nn_dir.join(names::interrupted(&self.cfg.name, self.epoch));
                self.save_announced(&path)?;
                return Ok(self.summary(true));
            }
            self.epoch += 1;
            let stats = self.train_epoch()?;
            self.log_epoch(&stats);
            if self.checkpoints_and_stop()? {
                return Ok(self.summary(false));
            }
        }
    }

    fn summary(&self, interrupted: bool) -> TrainSummary {
        TrainSummary { best_reward: self.best_reward, epoch: self.epoch, frame: self.frame, interrupted }
    }

    /// One epoch: rollout + GAE, then the update (`train_epoch`).
    fn train_epoch(&mut self) -> Result<EpochStats, PluginError> {
        let epoch_start = Instant::now();
        self.env.set_train_info(self.frame)?;
        let k = self.cfg.epochs_between_resets;
        if k > 0 && self.epoch.is_multiple_of(k as u64) {
            self.say(&format!("Forcing env reset after {k} epochs"));
            self.rollout.reset(&mut self.env)?;
        }

        let times = self.rollout.play(&mut self.env, &self.model, &self.cfg)?;

        let update_start = Instant::now();
        let mut batch = prepare_batch(&self.rollout, &mut self.model, &self.cfg);
        let update = self.trainer.train_epoch(&mut self.model, &mut batch, &self.cfg, self.epoch, self.frame)?;
        let update_time = update_start.elapsed().as_secs_f64();

        self.meters.update_from_step_sums(&self.rollout.episode_sums());
        self.frame += self.cfg.batch_size() as u64;
        let epoch_time = epoch_start.elapsed().as_secs_f64();

        let p = &mut self.phase_times;
        p.env_step += times.env_step;
        p.gae += times.gae;
        p.inference += times.play - times.env_step - times.gae;
        p.update += update_time;
        p.total += epoch_time;
        Ok(EpochStats {
            update,
            step_time: times.env_step,
            play_time: times.play,
            gae_time: times.gae,
            update_time,
            epoch_time,
        })
    }

    /// Console line (§7.1), TensorBoard scalars (§7.2) and the host's epoch progress.
    fn log_epoch(&self, s: &EpochStats) {
        let b = self.cfg.batch_size() as f64;
        let fps_step = b / s.step_time.max(1e-9);
        let fps_step_inference = b / s.play_time.max(1e-9);
        let fps_total = b / s.epoch_time.max(1e-9);
        let (epoch, frame) = (self.epoch, self.frame);
        if self.cfg.print_stats {
            let epochs = match self.cfg.max_epochs {
                -1 => format!("{epoch}"),
                m => format!("{epoch}/{m}"),
            };
            let frames = match self.cfg.max_frames {
                -1 => format!("{frame}"),
                m => format!("{frame}/{m}"),
            };
            self.say(&format!(
                "fps step: {fps_step:.0} fps step and policy inference: {fps_step_inference:.0} fps total: {fps_total:.0} epoch: {epochs} frames: {frames}"
            ));
        }
        let x = frame as i64;
        let mut scalars = vec![
            ("performance/step_inference_rl_update_fps", x, fps_total),
            ("performance/step_inference_fps", x, fps_step_inference),
            ("performance/step_fps", x, fps_step),
            ("performance/rl_update_time", x, s.update_time),
            ("performance/step_inference_time", x, s.play_time),
            ("performance/step_time", x, s.step_time),
            // Not an rl_games tag: the GAE share of step_inference_time, for `rlhost bench`.
            ("performance/gae_time", x, s.gae_time),
            ("losses/a_loss", x, s.update.a_loss),
            ("losses/c_loss", x, s.update.c_loss),
            ("losses/entropy", x, s.update.entropy),
            ("info/last_lr", x, s.update.last_lr),
            ("info/lr_mul", x, 1.0),
            ("info/e_clip", x, self.cfg.e_clip),
            ("info/kl", x, s.update.kl),
            ("info/epochs", x, epoch as f64),
        ];
        if self.cfg.bounds_loss_coef.is_some() {
            scalars.push(("losses/bounds_loss", x, s.update.b_loss));
        }
        if !self.meters.rewards.is_empty() {
            let t = self.phase_times.total as i64;
            for (tag, meter) in [
                ("rewards", self.meters.rewards),
                ("shaped_rewards", self.meters.shaped_rewards),
                ("episode_lengths", self.meters.lengths),
            ] {
                let v = meter.mean();
                scalars.push((leak(format!("{tag}/step")), x, v));
                scalars.push((leak(format!("{tag}/iter")), epoch as i64, v));
                scalars.push((leak(format!("{tag}/time")), t, v));
            }
        }
        let scalars: Vec<Scalar> =
            scalars.into_iter().map(|(tag, step, value)| Scalar { tag: RString::from(tag), step, value }).collect();
        self.observer.scalars(RSlice::from_slice(&scalars));
        self.observer.epoch(EpochProgress {
            epoch,
            max_epochs: self.cfg.max_epochs,
            frame,
            max_frames: self.cfg.max_frames,
            fps_total,
            mean_reward: self.mean_reward().unwrap_or(f64::NAN),
        });
    }

    /// Checkpoint triggers and stop conditions (§4.14). Returns whether training should stop.
    fn checkpoints_and_stop(&mut self) -> Result<bool, PluginError> {
        let name = self.cfg.name.clone();
        let mut should_exit = false;
        let mean = self.mean_reward();
        if let Some(mean) = mean {
            let r = mean as f32;
            if self.cfg.save_frequency > 0 && self.epoch.is_multiple_of(self.cfg.save_frequency as u64) {
                self.save_announced(&self.nn_dir.join(names::periodic(&name, self.epoch, r)))?;
            }
            if mean > self.best_reward && self.epoch as i64 >= self.cfg.save_best_after {
                self.say(&format!("saving next best rewards:  [{}]", checkpoint::reward_text(r)));
                self.best_reward = mean;
                self.save_announced(&self.nn_dir.join(names::best(&name)))?;
                if let Some(score) = self.cfg.score_to_win {
                    if self.best_reward > score {
                        self.say("Maximum reward achieved. Network won!");
                        self.save_announced(&self.nn_dir.join(names::won(&name, self.epoch, r)))?;
                        should_exit = true;
                    }
                }
            }
        }
        if self.cfg.max_epochs != -1 && self.epoch as i64 >= self.cfg.max_epochs {
            if mean.is_none() {
                self.say("WARNING: Max epochs reached before any env terminated at least once");
            }
            self.save_announced(&self.nn_dir.join(names::max_epochs(&name, self.epoch, mean.map(|m| m as f32))))?;
            self.say("MAX EPOCHS NUM!");
            should_exit = true;
        }
        if self.cfg.max_frames != -1 && self.frame as i64 >= self.cfg.max_frames {
            if mean.is_none() {
                self.say("WARNING: Max frames reached before any env terminated at least once");
            }
            self.save_announced(&self.nn_dir.join(names::max_frames(&name, self.frame, mean.map(|m| m as f32))))?;
            self.say("MAX FRAMES NUM!");
            should_exit = true;
        }
        Ok(should_exit)
    }

    fn save_announced(&mut self, path: &Path) -> Result<(), PluginError> {
        self.say(&format!("=> saving checkpoint '{}'", path.display()));
        self.save_checkpoint(path)
    }

    // --------------------------------------------------------------------------------------------
    // Checkpoints
    // --------------------------------------------------------------------------------------------

    fn metadata(&self) -> HashMap<String, String> {
        let json_f32 = |v: &[f32]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let meter = |m: AverageMeter| serde_json::json!([m.mean(), m.current_size()]);
        let cfg = &self.cfg;
        let mut m = HashMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put("format", checkpoint::FORMAT.into());
        put("format_version", checkpoint::FORMAT_VERSION.into());
        put("algo", checkpoint::ALGO.into());
        put("plugin_id", PLUGIN_ID.into());
        put("plugin_version", env!("CARGO_PKG_VERSION").into());
        put("epoch", self.epoch.to_string());
        put("frame", self.frame.to_string());
        put("best_reward", format!("{}", self.best_reward));
        put("last_lr", format!("{}", self.trainer.adam.lr));
        put("entropy_coef", format!("{}", self.trainer.entropy_coef));
        put("observation_shape", serde_json::to_string(&self.obs_shape).unwrap_or_default());
        put("action_dim", self.action_low.len().to_string());
        put("action_low", json_f32(&self.action_low));
        put("action_high", json_f32(&self.action_high));
        put("network", self.params.network_json());
        put("normalize_input", cfg.normalize_input.to_string());
        put("normalize_value", cfg.normalize_value.to_string());
        put("clip_actions", cfg.clip_actions.to_string());
        put("config", self.params.raw.to_string());
        put(
            "episode_meters",
            serde_json::json!({
                "rewards": meter(self.meters.rewards),
                "shaped_rewards": meter(self.meters.shaped_rewards),
                "lengths": meter(self.meters.lengths),
            })
            .to_string(),
        );
        m
    }

    /// Writes the whole state to `path` atomically.
    pub fn save_checkpoint(&mut self, path: &Path) -> Result<(), PluginError> {
        let mut tensors = self.state_tensors();
        let env_state = self.env.get_state()?;
        if !env_state.is_empty() {
            tensors.push(("env_state".into(), Tensor::from_slice(&env_state)));
        }
        if !self.needs_reset {
            let c = &self.rollout.carry;
            tensors.push(("rollout.obs".into(), c.obs.shallow_clone()));
            tensors.push(("rollout.dones".into(), c.dones.shallow_clone()));
            tensors.push(("rollout.episode".into(), c.episode.shallow_clone()));
        }
        let bytes = checkpoint::serialize(&tensors, self.metadata())?;
        checkpoint::write_atomic(path, &bytes)
    }

    /// Restores everything `save_checkpoint` wrote; nothing changes unless every check passes.
    pub fn restore_checkpoint(&mut self, path: &Path) -> Result<(), PluginError> {
        let ck = LoadedCheckpoint::read(path)?;
        let shape_text = ck.meta("observation_shape")?;
        let shape: Vec<i64> = serde_json::from_str(shape_text)
            .map_err(|_| ck.error(format!("metadata observation_shape '{shape_text}' is not a JSON array")))?;
        if shape != self.obs_shape {
            return Err(
                ck.error(format!("observation shape {shape:?} does not match the environment's {:?}", self.obs_shape))
            );
        }
        let action_dim: usize = ck.meta_parse("action_dim")?;
        if action_dim != self.action_low.len() {
            return Err(
                ck.error(format!("action_dim {action_dim} does not match the environment's {}", self.action_low.len()))
            );
        }
        // Read and check every tensor before changing anything.
        let dev = self.device;
        let mut assignments: Vec<(Tensor, Tensor)> = Vec::new();
        for (name, p) in self.state_tensors() {
            if name == "optimizer.step" || name.ends_with(".count") {
                continue;
            }
            let kind = p.kind();
            let loaded = ck.tensor(&name, kind, &p.size(), dev)?;
            assignments.push((p, loaded));
        }
        let scalar = |name: &str| -> Result<f64, PluginError> {
            Ok(ck.tensor(name, Kind::Double, &[], Device::Cpu)?.double_value(&[]))
        };
        let obs_count = self.model.obs_rms.as_ref().map(|_| scalar("running_mean_std.count")).transpose()?;
        let value_count = self.model.value_rms.as_ref().map(|_| scalar("value_mean_std.count")).transpose()?;
        let step = scalar("optimizer.step")?;
        let epoch: u64 = ck.meta_parse("epoch")?;
        let frame: u64 = ck.meta_parse("frame")?;
        let best_reward: f64 = ck.meta_parse("best_reward")?;
        let last_lr: f64 = ck.meta_parse("last_lr")?;
        let entropy_coef: Option<f64> = ck.meta_opt("entropy_coef").and_then(|t| t.parse().ok());
        let carry = if ck.has("rollout.obs") {
            let c = &self.rollout.carry;
            Some((
                ck.tensor("rollout.obs", Kind::Float, &c.obs.size(), dev)?,
                ck.tensor("rollout.dones", Kind::Float, &c.dones.size(), dev)?,
                ck.tensor("rollout.episode", Kind::Float, &c.episode.size(), dev)?,
            ))
        } else {
            None
        };

        tch::no_grad(|| {
            for (mut dst, src) in assignments {
                dst.copy_(&src);
            }
        });
        // The statistics' tensors were copied into above; their counts are host values.
        if let (Some(r), Some(c)) = (&mut self.model.obs_rms, obs_count) {
            r.count = c;
        }
        if let (Some(r), Some(c)) = (&mut self.model.value_rms, value_count) {
            r.count = c;
        }
        self.trainer.adam.step = step;
        self.trainer.adam.lr = last_lr;
        if let Some(e) = entropy_coef {
            self.trainer.entropy_coef = e;
        }
        self.epoch = epoch;
        self.frame = frame;
        self.best_reward = best_reward;
        // The exploration noise continues the stream an uninterrupted run would have drawn.
        self.rollout.skip_noise(epoch);
        if let Some(meters) =
            ck.meta_opt("episode_meters").and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        {
            let w = self.cfg.games_to_track;
            let read = |key: &str| -> Option<AverageMeter> {
                let v = meters.get(key)?;
                Some(AverageMeter::with_state(w, v.get(0)?.as_f64()?, v.get(1)?.as_u64()? as usize))
            };
            if let (Some(r), Some(s), Some(l)) = (read("rewards"), read("shaped_rewards"), read("lengths")) {
                self.meters = EpisodeMeters { rewards: r, shaped_rewards: s, lengths: l };
            }
        }
        // The environment continues where it was only if it stored its state; then the rollout carry
        // (current observations, dones, running episode sums) is valid too. Otherwise reset.
        self.needs_reset = true;
        if let Some(state) = ck.raw_bytes("env_state") {
            self.env
                .set_state(&state)
                .map_err(|e| ck.error(format!("the environment refused env_state: {}", e.message)))?;
            if let Some((obs, dones, episode)) = carry {
                let c = &mut self.rollout.carry;
                c.obs.copy_(&obs);
                c.dones.copy_(&dones);
                c.episode.copy_(&episode);
                self.needs_reset = false;
            }
        }
        Ok(())
    }
}

/// Timings and losses of one epoch.
struct EpochStats {
    update: UpdateStats,
    step_time: f64,
    play_time: f64,
    gae_time: f64,
    update_time: f64,
    epoch_time: f64,
}

/// Scalar tags are built once per distinct name; interning keeps `log_epoch` simple.
fn leak(tag: String) -> &'static str {
    use std::sync::Mutex;
    static TAGS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut tags = TAGS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = tags.iter().find(|t| **t == tag) {
        return t;
    }
    let t: &'static str = Box::leak(tag.into_boxed_str());
    tags.push(t);
    t
}

fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}

impl NativeAgent for PpoAgent {
    fn train(&mut self) -> Result<TrainSummary, PluginError> {
        self.train_loop()
    }

    fn restore(&mut self, path: &Path) -> Result<(), PluginError> {
        self.restore_checkpoint(path)
    }

    fn save(&mut self, path: &Path) -> Result<(), PluginError> {
        self.save_checkpoint(path)
    }

    fn set_sigma(&mut self, sigma: f32) -> Result<SigmaOverride, PluginError> {
        match self.model.net.fixed_sigma() {
            Some(p) => {
                // Quirk 9: the raw parameter (a log-std under `exp`) is written.
                let mut p = p.shallow_clone();
                tch::no_grad(|| {
                    let _ = p.fill_(sigma as f64);
                });
                Ok(SigmaOverride::Applied)
            }
            None => {
                self.say("Cannot set new sigma because fixed_sigma is False");
                Ok(SigmaOverride::NotFixed)
            }
        }
    }
}
