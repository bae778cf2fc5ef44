//! Finished episodes: each step's rewards and done flags are kept on the device, and read to the
//! host in one transfer per flush, where the per-environment sums run.
use crate::observer::EpisodeBatch;
use rlhost_plugin_api::{ErrorKind, PluginError};
use tch::{Device, Kind, Tensor};

/// Per-step (2, N) rows of rewards and done flags since the last flush, and the running
/// per-environment return, length and first-episode flag up to that flush (host values).
/// Nothing here synchronises with the device until [`Self::flush`]; the sums are float32 and
/// added step by step, as a device-side accumulator would add them.
pub struct EpisodeRecorder {
    pending: Vec<Tensor>,
    /// Frames stepped (env steps × N) up to the first pending step.
    pending_from_frame: u64,
    returns: Vec<f32>,
    lengths: Vec<f32>,
    /// Environments still in their first episode since reset (partial under staggered starts).
    first: Vec<bool>,
}

impl EpisodeRecorder {
    /// A recorder for `num_envs` environments.
    pub fn new(num_envs: i64) -> Self {
        let n = num_envs as usize;
        EpisodeRecorder {
            pending: Vec::new(),
            pending_from_frame: 0,
            returns: vec![0.0; n],
            lengths: vec![0.0; n],
            first: vec![true; n],
        }
    }

    /// Every environment starts a fresh (first) episode; call right after [`Self::flush`].
    pub fn reset(&mut self) {
        self.returns.iter_mut().for_each(|r| *r = 0.0);
        self.lengths.iter_mut().for_each(|l| *l = 0.0);
        self.first.iter_mut().for_each(|f| *f = true);
    }

    /// Keeps one step's rewards (N,) and done flags (N,) bool, on their device.
    pub fn record_step(&mut self, rewards: &Tensor, dones: &Tensor) {
        self.pending.push(Tensor::stack(&[rewards.to_kind(Kind::Float), dones.to_kind(Kind::Float)], 0));
    }

    /// Sets the frame counter (the agent's, at an epoch start; call right after [`Self::flush`]).
    pub fn set_frame(&mut self, frame: u64) {
        self.pending_from_frame = frame;
    }

    /// Steps recorded since the last flush.
    pub fn pending_steps(&self) -> usize {
        self.pending.len()
    }

    /// Frames stepped so far.
    pub fn frames(&self) -> u64 {
        self.pending_from_frame + (self.pending.len() * self.returns.len()) as u64
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
        let n = self.returns.len();
        let mut batches = Vec::new();
        for step in 0..steps {
            let rewards = &values[2 * step * n..(2 * step + 1) * n];
            let dones = &values[(2 * step + 1) * n..(2 * step + 2) * n];
            let mut batch =
                EpisodeBatch { frame: self.pending_from_frame + (step as u64 + 1) * n as u64, ..Default::default() };
            for i in 0..n {
                self.returns[i] += rewards[i];
                self.lengths[i] += 1.0;
                if dones[i] != 0.0 {
                    batch.envs.push(i as i64);
                    batch.returns.push(self.returns[i]);
                    batch.lengths.push(self.lengths[i]);
                    batch.first.push(self.first[i]);
                    (self.returns[i], self.lengths[i], self.first[i]) = (0.0, 0.0, false);
                }
            }
            if !batch.envs.is_empty() {
                batches.push(batch);
            }
        }
        self.pending_from_frame += (steps * n) as u64;
        self.pending.clear();
        Ok(batches)
    }
}
