//! The `train()` loop and one epoch: rollout and GAE, then the update (docs/rl_games.md §4.2).
use super::PpoAgent;
use crate::central_value::{CriticBatch, CriticStats};
use crate::update::{prepare_batch, UpdateStats};
use rlhost_model::checkpoint::names;
use rlhost_sdk::api::TrainSummary;
use rlhost_sdk::PluginError;
use std::time::Instant;

impl PpoAgent {
    pub(super) fn train_loop(&mut self) -> Result<TrainSummary, PluginError> {
        self.take_leaders_state()?;
        if self.needs_reset {
            self.rollout.reset(&mut self.env)?;
            self.needs_reset = false;
        }
        loop {
            if self.any_rank_interrupted(self.observer.should_stop())? {
                let path = self.nn_dir.join(names::interrupted(&self.cfg.name, self.epoch));
                self.save_announced(&path)?;
                return Ok(self.summary(true));
            }
            self.epoch += 1;
            let stats = self.train_epoch()?;
            if self.is_leader() {
                self.log_epoch(&stats);
            }
            let should_exit = self.checkpoints_and_stop()?;
            if self.leaders_stop_decision(should_exit)? {
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

        let times = self.rollout.play(&mut self.env, &self.model, self.critic.as_ref(), &self.cfg)?;
        // Episode sums and the finiteness flag in one read; a NaN is named before the update.
        let (episode_sums, finite) = self.rollout.epoch_readout();
        if !finite {
            return Err(crate::nonfinite::locate(&self.rollout, self.epoch));
        }
        self.meters.update_from_step_sums(&episode_sums);

        let update_start = Instant::now();
        let value_rms = match &mut self.critic {
            Some(c) => c.model.value_rms.as_mut(),
            None => self.model.value_rms.as_mut(),
        };
        let mut batch = prepare_batch(&self.rollout, value_rms, &self.cfg);
        // rl_games' `train_central_value`: the critic first, then the policy (§4.17).
        let critic = match (&mut self.critic, &batch.states) {
            (Some(c), Some(states)) => {
                let input = CriticBatch {
                    states,
                    old_values: &batch.old_values,
                    returns: &batch.returns,
                    sequences: batch.critic_sequences.as_ref(),
                    seq_length: self.cfg.seq_length,
                };
                Some(c.train_net(&input, self.epoch)?)
            }
            _ => None,
        };
        let update = self.trainer.train_epoch(&mut self.model, &mut batch, &self.cfg, self.epoch, self.frame)?;
        let update_time = update_start.elapsed().as_secs_f64();

        self.synchronise_epoch()?;
        self.frame += self.frames_per_epoch();
        let epoch_time = epoch_start.elapsed().as_secs_f64();

        let p = &mut self.phase_times;
        p.env_step += times.env_step;
        p.gae += times.gae;
        p.inference += times.play - times.env_step - times.gae;
        p.update += update_time;
        p.total += epoch_time;
        p.epochs += 1;
        Ok(EpochStats { update, critic, step_time: times.env_step, play_time: times.play, update_time, epoch_time })
    }
}

/// Timings and losses of one epoch.
pub(super) struct EpochStats {
    pub(super) update: UpdateStats,
    /// The central value's losses and LR (`losses/cval_loss`, `info/cval_lr`).
    pub(super) critic: Option<CriticStats>,
    pub(super) step_time: f64,
    pub(super) play_time: f64,
    pub(super) update_time: f64,
    pub(super) epoch_time: f64,
}
