//! `continuous_a2c_logstd`: the network plus its observation and value normalisers (spec §5.3).
use crate::config::NetworkConfig;
use crate::network::{neglogp, ActorCritic, PolicyOutput};
use crate::normalizer::RunningMeanStd;
use tch::{Device, Tensor};

/// The network and the running statistics that belong to it (`running_mean_std`, `value_mean_std`).
#[derive(Debug)]
pub struct Model {
    /// The actor-critic network.
    pub net: ActorCritic,
    /// Observation statistics (`normalize_input`).
    pub obs_rms: Option<RunningMeanStd>,
    /// Value statistics (`normalize_value`), shape (1,).
    pub value_rms: Option<RunningMeanStd>,
}

/// One rollout policy step (no gradients).
#[derive(Debug)]
pub struct Act {
    /// Sampled, unclipped action (N, A).
    pub action: Tensor,
    /// −ln π(action) (N,).
    pub neglogp: Tensor,
    /// De-normalised value (N, 1).
    pub value: Tensor,
    /// Mean (N, A).
    pub mu: Tensor,
    /// Standard deviation (N, A).
    pub sigma: Tensor,
}

impl Model {
    /// A fresh model.
    pub fn new(
        cfg: &NetworkConfig,
        obs_shape: &[i64],
        actions: i64,
        normalize_input: bool,
        normalize_value: bool,
        device: Device,
    ) -> Self {
        let obs_size: i64 = obs_shape.iter().product();
        Model {
            net: ActorCritic::new(cfg, obs_size, actions, device),
            obs_rms: normalize_input.then(|| RunningMeanStd::new(obs_shape, device)),
            value_rms: normalize_value.then(|| RunningMeanStd::new(&[1], device)),
        }
    }

    /// Normalises observations with frozen statistics (eval mode).
    pub fn normalize_obs(&self, obs: &Tensor) -> Tensor {
        match &self.obs_rms {
            Some(rms) => rms.normalize(obs),
            None => obs.shallow_clone(),
        }
    }

    /// Training-mode forward: updates the observation statistics with this batch first (quirk 1),
    /// then normalises. Values stay in normalised space.
    pub fn forward_train(&mut self, obs: &Tensor) -> PolicyOutput {
        if let Some(rms) = &mut self.obs_rms {
            tch::no_grad(|| rms.update(obs));
        }
        self.net.forward(&self.normalize_obs(obs))
    }

    /// Value in environment units (de-normalised).
    fn denormalize_value(&self, value: Tensor) -> Tensor {
        match &self.value_rms {
            Some(rms) => rms.denormalize(&value),
            None => value,
        }
    }

    /// Rollout step: sample `a = μ + σ·ξ` and return its neg-log-prob and the de-normalised value.
    pub fn act(&self, obs: &Tensor) -> Act {
        tch::no_grad(|| {
            let out = self.net.forward(&self.normalize_obs(obs));
            let action = &out.mu + &out.sigma * out.mu.randn_like();
            let neglogp = neglogp(&action, &out.mu, &out.sigma, &out.log_sigma);
            let value = self.denormalize_value(out.value);
            Act { action, neglogp, value, mu: out.mu, sigma: out.sigma }
        })
    }

    /// Bootstrap value of the last observations, de-normalised (N, 1).
    ///
    /// rl_games' `get_values` runs the whole policy forward, which samples an action it then
    /// ignores: the same (N, A) draw is made here, so the next rollout's noise is rl_games'.
    pub fn value(&self, obs: &Tensor) -> Tensor {
        tch::no_grad(|| {
            let out = self.net.forward(&self.normalize_obs(obs));
            let _ = out.mu.randn_like();
            self.denormalize_value(out.value)
        })
    }
}
