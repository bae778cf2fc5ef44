//! Finished episodes recorded on the device and read to the host in one transfer per flush.
use crate::observer::EpisodeBatch;
use rlhost_plugin_api::{ErrorKind, PluginError};
use tch::{Device, Kind, Tensor};

/// Running returns and lengths per environment, and the per-step records of the episodes that
/// finished since the last flush. Nothing here synchronises with the device until [`Self::flush`].
pub struct EpisodeRecorder {
    episode_return: Tensor,
    episode_length: Tensor,
    /// Environments still in their first episode since reset (partial under staggered starts).
    first_episode: Tensor,
    /// Per step since the last flush: (4, N) rows of done, return, length, first.
    pending: Vec<Tensor>,
    /// Frames stepped since creation (env steps × N), at the first pending step.
    pending_from_frame: u64,
    num_envs: i64,
}

impl EpisodeRecorder {
    /// A recorder for `num_envs` environments on `device`.
    pub fn new(num_envs: i64, device: Device) -> Self {
        EpisodeRecorder {
            episode_return: Tensor::zeros([num_envs], (Kind::Float, device)),
            episode_length: Tensor::zeros([num_envs], (Kind::Float, device)),
            first_episode: Tensor::ones([num_envs], (Kind::Float, device)),
            pending: Vec::new(),
            pending_from_frame: 0,
            num_envs,
        }
    }

    /// Every environment starts a fresh (first) episode.
    pub fn reset(&mut self) {
        let _ = self.episode_return.zero_();
        let _ = self.episode_length.zero_();
        let _ = self.first_episode.fill_(1.0);
    }

    /// Adds one step's rewards (N,) and done flags (N,) bool.
    pub fn record_step(&mut self, rewards: &Tensor, dones: &Tensor) {
        let _ = self.episode_return.g_add_(&rewards.to_kind(Kind::Float));
        let _ = self.episode_length.g_add_scalar_(1.0);
        let done = dones.to_kind(Kind::Float);
        self.pending.push(Tensor::stack(&[&done, &self.episode_return, &self.episode_length, &self.first_episode], 0));
        let keep = 1.0 - &done;
        let _ = self.episode_return.g_mul_(&keep);
        let _ = self.episode_length.g_mul_(&keep);
        let _ = self.first_episode.g_mul_(&keep);
    }

    /// Sets the frame counter (the agent's, at an epoch start; call right after [`Self::flush`]).
    pub fn set_frame(&mut self, frame: u64) {
        debug_assert!(self.pending.is_empty(), "set_frame after flush");
        self.pending_from_frame = frame;
    }

    /// Steps recorded since the last flush.
    pub fn pending_steps(&self) -> usize {
        self.pending.len()
    }

    /// Frames stepped so far.
    pub fn frames(&self) -> u64 {
        self.pending_from_frame + (self.pending.len() as u64) * self.num_envs as u64
    }

    /// The finished episodes since the last flush, one batch per step that finished any.
    pub fn flush(&mut self) -> Result<Vec<EpisodeBatch>, PluginError> {
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        let steps = self.pending.len();
        let all = Tensor::stack(&self.pending, 0).to_device(Device::Cpu).contiguous();
        let values = Vec::<f32>::try_from(all.view([-1]))
            .map_err(|e| rlhost_sdk::tch_error(ErrorKind::Other, "episode results", e))?;
        let n = self.num_envs as usize;
        let mut batches = Vec::new();
        for step in 0..steps {
            let row = |k: usize| &values[(step * 4 + k) * n..(step * 4 + k + 1) * n];
            let (done, ret, len, first) = (row(0), row(1), row(2), row(3));
            let envs: Vec<i64> = (0..n).filter(|&i| done[i] != 0.0).map(|i| i as i64).collect();
            if envs.is_empty() {
                continue;
            }
            let pick = |v: &[f32]| envs.iter().map(|&i| v[i as usize]).collect::<Vec<f32>>();
            batches.push(EpisodeBatch {
                frame: self.pending_from_frame + (step as u64 + 1) * n as u64,
                returns: pick(ret),
                lengths: pick(len),
                first: envs.iter().map(|&i| first[i as usize] != 0.0).collect(),
                envs,
            });
        }
        self.pending_from_frame += (steps * n) as u64;
        self.pending.clear();
        Ok(batches)
    }
}
