//! The training agent: rl_games' `A2CAgent` (docs/rl_games.md §4.2): construction, state and the
//! [`NativeAgent`] entry points. By job:
//! - [`epoch`]: the `train()` loop and one epoch (rollout, GAE, update);
//! - [`logging`]: the console line and TensorBoard scalars (§7);
//! - [`checkpoints`]: checkpoint triggers (§4.14), metadata, save and restore (§6, `CHECKPOINT.md`
//!   in `rlhost-model`);
//! - [`rng`]: the exploration noise's generator state across checkpoints.
mod checkpoints;
mod epoch;
mod logging;
mod multi_gpu;
pub mod rng;

use crate::adam::Adam;
use crate::central_value::CentralValueTrain;
use crate::config::{Params, PpoConfig};
use crate::distributed::{Distributed, DistributedConfig};
use crate::grad_scaler::GradScaler;
use crate::meters::EpisodeMeters;
use crate::rollout::Rollout;
use crate::schedule::Scheduler;
use crate::update::Trainer;
use rlhost_model::central_value::{CHECKPOINT_PREFIX, MODULE, OPTIMIZER_PREFIX};
use rlhost_model::checkpoint::{OBS_RMS, VALUE_RMS};
use rlhost_model::normalizer::RunningMeanStd;
use rlhost_model::policy::Model;
use rlhost_sdk::api::{AlgoArgs, AutoReset, ObserverBox, SigmaOverride, TrainSummary};
use rlhost_sdk::tensor::tch_device;
use rlhost_sdk::{EnvHandle, ErrorKind, NativeAgent, PluginError};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

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
    /// Epochs these times cover.
    pub epochs: u64,
    /// Inside the gradient all-reduces across processes (part of `update`; 0 on one process).
    pub grad_all_reduce: f64,
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
    /// The observations are uint8 images (recorded in checkpoints for the exporter).
    obs_uint8: bool,
    action_low: Vec<f32>,
    action_high: Vec<f32>,
    model: Model,
    /// rl_games' asymmetric critic (`central_value_config`, docs/rl_games.md §4.17).
    critic: Option<CentralValueTrain>,
    trainer: Trainer,
    rollout: Rollout,
    epoch: u64,
    frame: u64,
    best_reward: f64,
    meters: EpisodeMeters,
    /// Whether the environment must be reset before the next rollout (no valid carry).
    needs_reset: bool,
    phase_times: PhaseTimes,
    /// The process group when training across processes (`multi_gpu`).
    dist: Option<Distributed>,
    /// `multi_gpu_check_sync`: compare every rank's state with rank 0's after each epoch.
    multi_gpu_check_sync: bool,
}

fn config_error(message: String) -> PluginError {
    PluginError::new(ErrorKind::Config, message)
}

impl PpoAgent {
    /// Builds the agent from the host's arguments.
    pub fn new(args: AlgoArgs) -> Result<Self, PluginError> {
        // The host seeded libtorch with `args.seed` (rl_games' Runner does `torch.manual_seed`
        // before building the agent): the construction draws below are rl_games' draws.
        let AlgoArgs { params_json, env, observer, run_dir, device, seed: _ } = args;
        let device = tch_device(device)?;
        let mut warnings = Vec::new();
        let mut params = Params::parse_on(params_json.as_str(), device, &mut |w| warnings.push(w))?;
        let dist_cfg = DistributedConfig::parse(
            &rlhost_model::section::Section::new("params", &params.raw)?
                .section("config", "params.config")?
                .unwrap_or(rlhost_model::section::Section::empty("params.config")),
            device,
        )?;
        // The host's placement describes this launch, not the run: checkpoints do not keep it.
        if let Some(config) = params.raw.get_mut("config").and_then(|c| c.as_object_mut()) {
            config.remove("process_group");
        }
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
        if info.autoreset() != Some(AutoReset::SameStep) {
            return Err(PluginError::new(
                ErrorKind::Unsupported,
                format!("environment autoreset {:?} is not supported yet (only same-step)", info.autoreset()),
            ));
        }
        let Some((action_low, action_high)) = info.box_bounds() else {
            return Err(PluginError::new(
                ErrorKind::Unsupported,
                format!(
                    "a2c_continuous trains box action spaces; the environment's is {}",
                    info.action_space().map_or("unknown".to_string(), |s| s.describe())
                ),
            ));
        };
        if cfg.clip_actions {
            crate::config::ranges::check_action_bounds(action_low, action_high)?;
        }
        let (action_low, action_high) = (action_low.to_vec(), action_high.to_vec());
        let action_dim = action_low.len() as i64;
        if action_dim == 0 {
            return Err(PluginError::new(ErrorKind::Shape, "environment has no action dimensions"));
        }
        let obs = info.policy_observation().ok_or_else(|| PluginError::new(ErrorKind::Shape, "no observations"))?;
        let image = obs.dtype == rlhost_sdk::api::DlDataType::U8 && params.network.cnn.is_some();
        if obs.dtype != rlhost_sdk::api::DlDataType::F32 && !image {
            return Err(PluginError::new(
                ErrorKind::Unsupported,
                format!(
                    "observation '{}' is {}; a2c_continuous takes float32, or uint8 images with a network.cnn tower",
                    obs.name, obs.dtype
                ),
            ));
        }
        let obs_shape: Vec<i64> = obs.shape.to_vec();
        if let Some(cnn) = &params.network.cnn {
            rlhost_model::conv::check_input_fits(cnn, &obs_shape, "params.network.cnn")?;
        }
        let model =
            Model::new(&params.network, &obs_shape, action_dim, cfg.normalize_input, cfg.normalize_value, device);
        // Built after the actor-critic, as rl_games does: its draws follow the model's.
        let critic = match &cfg.central_value {
            Some(cv) => {
                let (_, states) = info.observation(rlhost_sdk::api::space::STATES).ok_or_else(|| {
                    PluginError::new(
                        ErrorKind::Shape,
                        "central_value_config needs the environment's privileged 'states' observation group, and the environment has none (classic-control envs: env_config.states: true)",
                    )
                })?;
                Some(CentralValueTrain::new(cv, &states.shape.to_vec(), cfg.normalize_value, device))
            }
            None => None,
        };
        let adam = Adam::new(model.net.named_parameters(), cfg.learning_rate, cfg.weight_decay);
        let scheduler = Scheduler::new(cfg.lr_schedule.clone(), cfg.learning_rate, cfg.entropy_coef);
        // Joined last: the other ranks wait here at most `multi_gpu_timeout` for this one.
        let dist = Distributed::join(&dist_cfg)?;
        let mut critic = critic;
        if let Some(c) = critic.as_mut() {
            c.dist = dist.clone();
        }
        // rl_games' `GradScaler('cuda', enabled=mixed_precision)`: off on the CPU, where torch disables it.
        let scaler = (cfg.mixed_precision && device.is_cuda()).then(|| GradScaler::new(device));
        let trainer = Trainer { adam, scheduler, entropy_coef: cfg.entropy_coef, dist: dist.clone(), scaler };
        let mut rollout = Rollout::new(&env, cfg.horizon_length, device, critic.is_some())?;
        if model.net.is_rnn() {
            check_sequences(&cfg)?;
            rollout.init_rnn(&model.net, cfg.seq_length);
        }
        if let Some(c) = critic.as_ref().filter(|c| c.model.net.is_rnn()) {
            check_critic_sequences(&cfg, c.cfg.minibatch_size, model.net.is_rnn())?;
            rollout.init_critic_rnn(c, cfg.seq_length);
        }
        let agent = PpoAgent {
            nn_dir: Path::new(run_dir.as_str()).join("nn"),
            meters: EpisodeMeters::new(cfg.games_to_track),
            action_low,
            action_high,
            params,
            cfg,
            env,
            observer,
            device,
            obs_shape,
            obs_uint8: image,
            model,
            critic,
            trainer,
            rollout,
            epoch: 0,
            frame: 0,
            best_reward: f64::NEG_INFINITY,
            needs_reset: true,
            phase_times: PhaseTimes::default(),
            dist,
            multi_gpu_check_sync: dist_cfg.check_sync,
        };
        Ok(agent)
    }

    /// A console line; across processes rank 0 alone prints (rl_games' `print_stats` off elsewhere).
    fn say(&self, text: &str) {
        if self.is_leader() {
            self.observer.message(text.into());
        }
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

    /// The central value network, when the config has one.
    pub fn critic(&self) -> Option<&CentralValueTrain> {
        self.critic.as_ref()
    }

    /// The agent's value normaliser (rl_games' `self.value_mean_std`): the central value's when
    /// there is one, else the model's (§4.17).
    pub fn value_rms(&self) -> Option<&RunningMeanStd> {
        match &self.critic {
            Some(c) => c.model.value_rms.as_ref(),
            None => self.model.value_rms.as_ref(),
        }
    }

    /// Every tensor a checkpoint holds (weights, statistics, optimisers), by name; the central
    /// value's under `assymetric_vf_nets.` and `assymetric_vf_optimizer.` (`CHECKPOINT.md`).
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> =
            self.model.net.named_parameters().into_iter().map(|(n, p)| (n, p.detach())).collect();
        push_rms(&mut out, OBS_RMS, self.model.obs_rms.as_ref());
        push_rms(&mut out, VALUE_RMS, self.model.value_rms.as_ref());
        push_adam(&mut out, "optimizer", &self.trainer.adam);
        if let Some(c) = &self.critic {
            let prefix = format!("{CHECKPOINT_PREFIX}.{MODULE}");
            out.extend(c.model.net.named_parameters().into_iter().map(|(n, p)| (format!("{prefix}.{n}"), p.detach())));
            push_rms(&mut out, &format!("{prefix}.{OBS_RMS}"), c.model.states_rms.as_ref());
            push_rms(&mut out, &format!("{prefix}.{VALUE_RMS}"), c.model.value_rms.as_ref());
            push_adam(&mut out, OPTIMIZER_PREFIX, &c.adam);
        }
        if let Some(scaler) = &self.trainer.scaler {
            out.push((SCALER_SCALE.into(), Tensor::from(scaler.current_scale())));
            out.push((SCALER_GROWTH_TRACKER.into(), Tensor::from(scaler.growth_tracker() as f64)));
        }
        out
    }
}

/// Checkpoint key of the mixed-precision loss scale (rl_games' `scaler` state dict, `scale`).
pub const SCALER_SCALE: &str = "scaler.scale";
/// Checkpoint key of the scaler's consecutive finite steps (`scaler` state dict, `_growth_tracker`).
pub const SCALER_GROWTH_TRACKER: &str = "scaler._growth_tracker";

/// rl_games' layout of a recurrent policy's batch: the horizon and each minibatch are whole
/// sequences (rl_games raises for the minibatch, and indexes past its state record otherwise).
fn check_sequences(cfg: &PpoConfig) -> Result<(), PluginError> {
    let s = cfg.seq_length;
    if cfg.horizon_length % s != 0 {
        return Err(config_error(format!(
            "params.config.seq_length: horizon_length {} is not divisible by seq_length {s} (a recurrent policy stores its states every seq_length steps)",
            cfg.horizon_length
        )));
    }
    if cfg.minibatch_size % s != 0 {
        return Err(config_error(format!(
            "params.config.seq_length: minibatch_size {} is not divisible by seq_length {s} (a recurrent policy trains on whole sequences)",
            cfg.minibatch_size
        )));
    }
    Ok(())
}

/// A recurrent central value's layout: rl_games records and resets its states only in the
/// rollout of a recurrent policy (`play_steps_rnn`), and trains it on whole sequences.
fn check_critic_sequences(cfg: &PpoConfig, minibatch_size: i64, policy_is_rnn: bool) -> Result<(), PluginError> {
    if !policy_is_rnn {
        return Err(config_error(
            "params.config.central_value_config.network.rnn: needs an rnn in params.network too (rl_games 1.6.5 records and resets the central value's states only in a recurrent policy's rollout)".into(),
        ));
    }
    let s = cfg.seq_length;
    if minibatch_size % s != 0 {
        return Err(config_error(format!(
            "params.config.central_value_config.minibatch_size: {minibatch_size} is not divisible by seq_length {s} (a recurrent central value trains on whole sequences)"
        )));
    }
    Ok(())
}

/// `<prefix>.running_mean`, `.running_var`, `.count` of a normaliser, if there is one.
fn push_rms(out: &mut Vec<(String, Tensor)>, prefix: &str, rms: Option<&RunningMeanStd>) {
    if let Some(r) = rms {
        out.push((format!("{prefix}.running_mean"), r.mean.shallow_clone()));
        out.push((format!("{prefix}.running_var"), r.var.shallow_clone()));
        out.push((format!("{prefix}.count"), Tensor::from(r.count)));
    }
}

/// `<prefix>.state.<param>.exp_avg`, `.exp_avg_sq` per parameter, and `<prefix>.step`.
fn push_adam(out: &mut Vec<(String, Tensor)>, prefix: &str, adam: &Adam) {
    for (i, (name, _)) in adam.params.iter().enumerate() {
        out.push((format!("{prefix}.state.{name}.exp_avg"), adam.exp_avg[i].shallow_clone()));
        out.push((format!("{prefix}.state.{name}.exp_avg_sq"), adam.exp_avg_sq[i].shallow_clone()));
    }
    out.push((format!("{prefix}.step"), Tensor::from(adam.step)));
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
        // Quirk 9: the raw parameter (a log-std under `exp`) is written. The host reports a
        // σ head's NotFixed with rl_games' "Cannot set new sigma" line.
        Ok(if self.model.net.set_fixed_sigma(sigma) { SigmaOverride::Applied } else { SigmaOverride::NotFixed })
    }

    fn phase_times(&self) -> Vec<(String, f64)> {
        let p = self.phase_times;
        [
            ("env_step", p.env_step),
            ("inference", p.inference),
            ("gae", p.gae),
            ("update", p.update),
            ("total", p.total),
            ("epochs", p.epochs as f64),
            ("grad_all_reduce", p.grad_all_reduce),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}
