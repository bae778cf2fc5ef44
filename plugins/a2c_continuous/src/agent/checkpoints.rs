//! Checkpoint triggers and stop conditions (docs/rl_games.md §4.14), the metadata, save and restore (the
//! contract is `CHECKPOINT.md` of `rlhost-model`).
use super::rng::{self, GENERATOR_DEVICE, GENERATOR_STATE};
use super::{PpoAgent, PLUGIN_ID, SCALER_GROWTH_TRACKER, SCALER_SCALE};
use crate::meters::{AverageMeter, EpisodeMeters};
use rlhost_model::central_value::{CHECKPOINT_PREFIX, MODULE, OPTIMIZER_PREFIX};
use rlhost_model::checkpoint::{self, keys, names, LoadedCheckpoint, OBS_RMS, VALUE_RMS};
use rlhost_sdk::PluginError;
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Checkpoint name prefix of a recurrent central value's current states (`.0`, `.1`, ...).
const CRITIC_RNN_STATES: &str = "rollout.critic_rnn_states";

impl PpoAgent {
    /// Checkpoint triggers and stop conditions (§4.14). Returns whether training should stop.
    pub(super) fn checkpoints_and_stop(&mut self) -> Result<bool, PluginError> {
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

    pub(super) fn save_announced(&mut self, path: &Path) -> Result<(), PluginError> {
        if !self.is_leader() {
            return Ok(()); // rl_games: rank 0 alone saves.
        }
        self.say(&format!("=> saving checkpoint '{}'", path.display()));
        self.save_checkpoint(path)
    }

    fn metadata(&self) -> HashMap<String, String> {
        let json_f32 = |v: &[f32]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let meter = |m: AverageMeter| serde_json::json!([m.mean(), m.current_size()]);
        let cfg = &self.cfg;
        let mut m = HashMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put(keys::FORMAT, checkpoint::FORMAT.into());
        put(keys::FORMAT_VERSION, checkpoint::FORMAT_VERSION.into());
        put(keys::ALGO, checkpoint::ALGO.into());
        put("plugin_id", PLUGIN_ID.into());
        put("plugin_version", env!("CARGO_PKG_VERSION").into());
        put("epoch", self.epoch.to_string());
        put("frame", self.frame.to_string());
        put("best_reward", format!("{}", self.best_reward));
        put("last_lr", format!("{}", self.trainer.adam.lr));
        put("entropy_coef", format!("{}", self.trainer.entropy_coef));
        if let Some(c) = &self.critic {
            put(CENTRAL_VALUE_LR, format!("{}", c.adam.lr));
        }
        put(keys::OBSERVATION_SHAPE, serde_json::to_string(&self.obs_shape).unwrap_or_default());
        put(keys::OBSERVATION_DTYPE, if self.obs_uint8 { "uint8" } else { "float32" }.into());
        put(keys::ACTION_DIM, self.action_low.len().to_string());
        put(keys::ACTION_LOW, json_f32(&self.action_low));
        put(keys::ACTION_HIGH, json_f32(&self.action_high));
        put(keys::NETWORK, self.params.network_json());
        put(keys::NORMALIZE_INPUT, cfg.normalize_input.to_string());
        put(keys::NORMALIZE_VALUE, cfg.normalize_value.to_string());
        put(keys::CLIP_ACTIONS, cfg.clip_actions.to_string());
        put(GENERATOR_DEVICE, rng::device_kind(self.device).into());
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
            tensors.push((checkpoint::ENV_STATE.into(), Tensor::from_slice(&env_state)));
        }
        match rng::saved_state(self.device) {
            Ok(state) => tensors.push((GENERATOR_STATE.into(), state)),
            Err(why) => self.say(&format!("checkpoint '{}' without {GENERATOR_STATE}: {why}", path.display())),
        }
        if !self.needs_reset {
            let c = &self.rollout.carry;
            tensors.push(("rollout.obs".into(), c.obs.shallow_clone()));
            tensors.push(("rollout.dones".into(), c.dones.shallow_clone()));
            tensors.push(("rollout.episode".into(), c.episode.shallow_clone()));
            if let Some(states) = &c.states {
                tensors.push(("rollout.states".into(), states.shallow_clone()));
            }
            for (i, s) in c.rnn_states.iter().enumerate() {
                tensors.push((format!("rollout.rnn_states.{i}"), s.shallow_clone()));
            }
            for (i, s) in c.critic_rnn_states.iter().enumerate() {
                tensors.push((format!("{CRITIC_RNN_STATES}.{i}"), s.shallow_clone()));
            }
        }
        let bytes = checkpoint::serialize(&tensors, self.metadata())?;
        checkpoint::write_atomic(path, &bytes)
    }

    /// Restores everything `save_checkpoint` wrote; nothing changes unless every check passes.
    pub fn restore_checkpoint(&mut self, path: &Path) -> Result<(), PluginError> {
        let ck = LoadedCheckpoint::read(path)?;
        ck.check_env(&self.obs_shape, self.action_low.len())?;
        // Read and check every tensor before changing anything.
        let dev = self.device;
        let mut assignments: Vec<(Tensor, Tensor)> = Vec::new();
        for (name, p) in self.state_tensors() {
            if name.ends_with("optimizer.step") || name.ends_with(".count") || name.starts_with("scaler.") {
                continue;
            }
            let kind = p.kind();
            let loaded = ck.finite_tensor(&name, kind, &p.size(), dev)?;
            if name.ends_with(".running_var") {
                ck.check_variance(&name, &loaded)?;
            }
            assignments.push((p, loaded));
        }
        let scalar = |name: &str| -> Result<f64, PluginError> {
            Ok(ck.tensor(name, Kind::Double, &[], Device::Cpu)?.double_value(&[]))
        };
        let count = |name: &str| -> Result<f64, PluginError> {
            let c = scalar(name)?;
            ck.check_count(name, c)?;
            Ok(c)
        };
        let obs_count = self.model.obs_rms.as_ref().map(|_| count("running_mean_std.count")).transpose()?;
        let value_count = self.model.value_rms.as_ref().map(|_| count("value_mean_std.count")).transpose()?;
        let steps = |name: &str| -> Result<f64, PluginError> {
            let step = scalar(name)?;
            if !(step.is_finite() && step >= 0.0) {
                return Err(ck.error(format!("tensor '{name}' must be a finite count >= 0, got {step}")));
            }
            Ok(step)
        };
        let step = steps("optimizer.step")?;
        // The central value's statistics counts, Adam steps and LR (§4.17).
        let critic_state = match &self.critic {
            Some(c) => {
                let prefix = format!("{CHECKPOINT_PREFIX}.{MODULE}");
                let states_count =
                    c.model.states_rms.as_ref().map(|_| count(&format!("{prefix}.{OBS_RMS}.count"))).transpose()?;
                let value_count =
                    c.model.value_rms.as_ref().map(|_| count(&format!("{prefix}.{VALUE_RMS}.count"))).transpose()?;
                let step = steps(&format!("{OPTIMIZER_PREFIX}.step"))?;
                let lr: f64 = ck.meta_parse(CENTRAL_VALUE_LR)?;
                if !(lr.is_finite() && lr > 0.0) {
                    return Err(ck.error(format!("metadata '{CENTRAL_VALUE_LR}' must be in (0, inf), got {lr}")));
                }
                Some((states_count, value_count, step, lr))
            }
            None => None,
        };
        // rl_games: `if self.mixed_precision and 'scaler' in weights: scaler.load_state_dict(...)`.
        let scaler_state = match &self.trainer.scaler {
            Some(_) if ck.has(SCALER_SCALE) => {
                let scale = scalar(SCALER_SCALE)?;
                if !(scale.is_finite() && scale > 0.0) {
                    return Err(ck.error(format!("tensor '{SCALER_SCALE}' must be in (0, inf), got {scale}")));
                }
                let tracker = steps(SCALER_GROWTH_TRACKER)?;
                if tracker.fract() != 0.0 || tracker > i32::MAX as f64 {
                    return Err(ck.error(format!(
                        "tensor '{SCALER_GROWTH_TRACKER}' must be a whole count of steps, got {tracker}"
                    )));
                }
                Some((scale, tracker as i64))
            }
            _ => None,
        };
        let epoch: u64 = counter(&ck, "epoch")?;
        let frame: u64 = counter(&ck, "frame")?;
        let best_reward: f64 = ck.meta_parse("best_reward")?;
        if best_reward.is_nan() {
            return Err(ck.error("metadata 'best_reward' is NaN"));
        }
        let last_lr: f64 = ck.meta_parse("last_lr")?;
        if !(last_lr.is_finite() && last_lr > 0.0) {
            return Err(ck.error(format!("metadata 'last_lr' must be in (0, inf), got {last_lr}")));
        }
        let entropy_coef: Option<f64> =
            ck.meta_opt("entropy_coef").and_then(|t| t.trim().parse().ok()).filter(|e: &f64| e.is_finite());
        let rng_plan = rng::plan(&ck, dev, epoch, self.rollout.draws_per_epoch())?;
        let carry = if ck.has("rollout.obs") {
            let c = &self.rollout.carry;
            let states = match &c.states {
                Some(s) => Some(ck.finite_tensor("rollout.states", Kind::Float, &s.size(), dev)?),
                None => None,
            };
            // A recurrent policy's (and central value's) states; a checkpoint without them
            // continues from zero states.
            let saved_states = |prefix: &str, live: &[Tensor]| -> Result<Vec<Tensor>, PluginError> {
                live.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let name = format!("{prefix}.{i}");
                        if ck.has(&name) {
                            ck.finite_tensor(&name, Kind::Float, &s.size(), dev)
                        } else {
                            Ok(s.zeros_like())
                        }
                    })
                    .collect()
            };
            let rnn_states = saved_states("rollout.rnn_states", &c.rnn_states)?;
            let critic_rnn_states = saved_states(CRITIC_RNN_STATES, &c.critic_rnn_states)?;
            Some((
                [rnn_states, critic_rnn_states],
                ck.finite_tensor("rollout.obs", Kind::Float, &c.obs.size(), dev)?,
                ck.finite_tensor("rollout.dones", Kind::Float, &c.dones.size(), dev)?,
                ck.finite_tensor("rollout.episode", Kind::Float, &c.episode.size(), dev)?,
                states,
            ))
        } else {
            None
        };

        // The first change: a generator state the shim refuses leaves everything as it was.
        rng::apply(rng_plan, &ck, dev, &self.rollout, &self.observer)?;
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
        if let (Some(c), Some((states_count, value_count, step, lr))) = (&mut self.critic, critic_state) {
            if let (Some(r), Some(n)) = (&mut c.model.states_rms, states_count) {
                r.count = n;
            }
            if let (Some(r), Some(n)) = (&mut c.model.value_rms, value_count) {
                r.count = n;
            }
            c.adam.step = step;
            c.adam.lr = lr;
            // rl_games restarts these at 0 on restore; an uninterrupted run has them equal to
            // the agent's, which is what a resume continues.
            c.epoch = epoch;
            c.frame = frame;
        }
        self.trainer.adam.step = step;
        self.trainer.adam.lr = last_lr;
        if let (Some(scaler), Some((scale, tracker))) = (&mut self.trainer.scaler, scaler_state) {
            scaler.load(scale, tracker);
        }
        if let Some(e) = entropy_coef {
            self.trainer.entropy_coef = e;
        }
        self.epoch = epoch;
        self.frame = frame;
        self.best_reward = best_reward;
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
        if let Some(state) = ck.env_state() {
            self.env
                .set_state(&state)
                .map_err(|e| ck.error(format!("the environment refused env_state: {}", e.message)))?;
            if let Some(([rnn_states, critic_rnn_states], obs, dones, episode, states)) = carry {
                let c = &mut self.rollout.carry;
                for (dst, src) in c.rnn_states.iter_mut().zip(&rnn_states) {
                    dst.copy_(src);
                }
                for (dst, src) in c.critic_rnn_states.iter_mut().zip(&critic_rnn_states) {
                    dst.copy_(src);
                }
                if let (Some(dst), Some(src)) = (&mut c.states, states) {
                    dst.copy_(&src);
                }
                c.obs.copy_(&obs);
                c.dones.copy_(&dones);
                c.episode.copy_(&episode);
                self.needs_reset = false;
            }
        }
        Ok(())
    }
}

/// Metadata key of the central value's current learning rate.
pub const CENTRAL_VALUE_LR: &str = "central_value_lr";

/// The largest `epoch` / `frame` a checkpoint may hold (2^53: exact as a TensorBoard step).
const MAX_COUNTER: u64 = 1 << 53;

/// A counter from the metadata, refused when beyond [`MAX_COUNTER`].
fn counter(ck: &LoadedCheckpoint, key: &str) -> Result<u64, PluginError> {
    let v: u64 = ck.meta_parse(key)?;
    if v > MAX_COUNTER {
        return Err(ck.error(format!("metadata '{key}' must be in [0, 2^53], got {v}")));
    }
    Ok(v)
}
