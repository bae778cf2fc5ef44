//! The agent's hooks for training across processes ([`crate::distributed`]): the start-of-training
//! broadcast, the end-of-epoch pooling and checks, the shared stop decision, and rank 0 as the
//! only rank that prints and saves. Without a process group every hook is a no-op.
use super::PpoAgent;
use crate::distributed::Distributed;
use rlhost_model::normalizer::RunningMeanStd;
use rlhost_sdk::PluginError;
use tch::Tensor;

impl PpoAgent {
    /// Whether this rank prints, reports to the host and saves (rank 0, or the only process).
    pub(super) fn is_leader(&self) -> bool {
        self.dist.as_ref().is_none_or(Distributed::is_leader)
    }

    /// Frames one epoch adds over all ranks (rl_games: `curr_frames * world_size`).
    pub(super) fn frames_per_epoch(&self) -> u64 {
        self.cfg.batch_size() as u64 * self.dist.as_ref().map_or(1, |d| u64::from(d.world_size()))
    }

    /// rl_games' start of `train()`: every rank takes rank 0's weights, normaliser statistics
    /// and optimiser moments (the central value's too).
    pub(super) fn take_leaders_state(&mut self) -> Result<(), PluginError> {
        let Some(d) = &self.dist else { return Ok(()) };
        if d.is_leader() {
            self.say(&format!("multi_gpu: broadcasting rank 0's parameters to {} ranks", d.world_size()));
        }
        // Parameters, means and variances are views of the live tensors; the counts and step
        // numbers are plain numbers, equal on every rank (the same batches, or the same checkpoint).
        let live: Vec<Tensor> = self.state_tensors().into_iter().filter(|(_, t)| t.dim() > 0).map(|(_, t)| t).collect();
        d.broadcast_from_leader(&live)
    }

    /// After an epoch's update: the normalisers pooled over the ranks and, with
    /// `multi_gpu_check_sync`, the check that every rank holds rank 0's state.
    pub(super) fn synchronise_epoch(&mut self) -> Result<(), PluginError> {
        let Some(d) = self.dist.clone() else { return Ok(()) };
        let mut normalizers: Vec<&mut RunningMeanStd> = Vec::new();
        normalizers.extend(self.model.obs_rms.as_mut());
        normalizers.extend(self.model.value_rms.as_mut());
        if let Some(c) = self.critic.as_mut() {
            normalizers.extend(c.model.states_rms.as_mut());
            normalizers.extend(c.model.value_rms.as_mut());
        }
        d.pool_normalizers(&mut normalizers)?;
        self.phase_times.grad_all_reduce = d.grad_seconds();
        if self.multi_gpu_check_sync {
            let values = d.check_in_sync(&self.state_tensors(), self.epoch)?;
            self.say(&format!(
                "multi_gpu_check_sync: epoch {}: {} ranks hold identical state ({values} values)",
                self.epoch,
                d.world_size()
            ));
        }
        Ok(())
    }

    /// Whether any rank was interrupted (Ctrl-C may reach the ranks in different epochs).
    pub(super) fn any_rank_interrupted(&self, interrupted: bool) -> Result<bool, PluginError> {
        match &self.dist {
            Some(d) => d.any("agreeing on an interrupt", interrupted),
            None => Ok(interrupted),
        }
    }

    /// rl_games' `should_exit` broadcast: rank 0's decision (its episodes decide `score_to_win`).
    pub(super) fn leaders_stop_decision(&self, should_exit: bool) -> Result<bool, PluginError> {
        let Some(d) = &self.dist else { return Ok(should_exit) };
        let decision = d.broadcast_values("broadcast of the stop decision", &[f64::from(u8::from(should_exit))])?;
        Ok(decision[0] != 0.0)
    }
}
