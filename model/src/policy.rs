//! `continuous_a2c_logstd`: the network plus its observation and value normalisers (docs/rl_games.md §5.3),
//! how it acts, and how its actions become environment actions (§4.4).
use crate::checkpoint::{LoadedCheckpoint, OBS_RMS};
use crate::network::{neglogp, ActorCritic, PolicyOutput, SeqInput};
use crate::normalizer::RunningMeanStd;
use crate::spec::NetworkConfig;
use rlhost_sdk::PluginError;
use tch::{Device, Kind, Tensor};

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
        Model {
            net: ActorCritic::for_shape(cfg, obs_shape, actions, device),
            obs_rms: normalize_input.then(|| RunningMeanStd::new(obs_shape, device)),
            value_rms: normalize_value.then(|| RunningMeanStd::new(&[1], device)),
        }
    }

    /// A model for acting: the actor's weights and (with `normalize_input`) the observation
    /// statistics read from `ckpt`; the critic stays zero and is never run.
    ///
    /// The checkpoint must hold exactly the actor layers `cfg` describes: an extra
    /// `actor_mlp` layer or the other kind of σ means the metadata does not match the weights.
    pub fn for_acting(
        ckpt: &LoadedCheckpoint,
        cfg: &NetworkConfig,
        obs_shape: &[i64],
        actions: i64,
        normalize_input: bool,
        device: Device,
    ) -> Result<Self, PluginError> {
        // No random init: loading a checkpoint leaves the generator (the action noise) alone.
        let net = ActorCritic::zeros_for_shape(cfg, obs_shape, actions, device);
        let params = net.actor_parameters();
        if let Some(extra) =
            ckpt.names_with_prefix("a2c_network.actor_mlp.").find(|k| !params.iter().any(|(name, _)| name == k))
        {
            return Err(ckpt.error(format!(
                "unexpected tensor '{extra}' for network.mlp.units {:?} (the network metadata does not match the weights)",
                cfg.mlp.units
            )));
        }
        if cfg.head.fixed_sigma && ckpt.has("a2c_network.sigma.weight") {
            return Err(ckpt.error("network says fixed_sigma but the checkpoint has a sigma head"));
        }
        if !cfg.head.fixed_sigma && ckpt.has("a2c_network.sigma") {
            return Err(ckpt.error("network says fixed_sigma: false but the checkpoint has a fixed sigma"));
        }
        // Read and check everything before writing anything.
        let mut loaded = Vec::with_capacity(params.len());
        for (name, p) in params {
            let stored = ckpt.finite_tensor(&name, Kind::Float, &p.size(), device)?;
            loaded.push((p, stored));
        }
        let obs_rms = if normalize_input {
            let stat = |what: &str| ckpt.finite_tensor(&format!("{OBS_RMS}.{what}"), Kind::Double, obs_shape, device);
            let mut rms = RunningMeanStd::new(obs_shape, device);
            rms.mean = stat("running_mean")?;
            rms.var = stat("running_var")?;
            ckpt.check_variance(&format!("{OBS_RMS}.running_var"), &rms.var)?;
            let count = format!("{OBS_RMS}.count");
            if ckpt.has(&count) {
                rms.count = ckpt.tensor(&count, Kind::Double, &[], Device::Cpu)?.double_value(&[]);
                ckpt.check_count(&count, rms.count)?;
            }
            Some(rms)
        } else {
            None
        };
        tch::no_grad(|| {
            for (mut dst, src) in loaded {
                dst.copy_(&src);
            }
        });
        Ok(Model { net, obs_rms, value_rms: None })
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

    /// [`forward_train`](Self::forward_train) of a recurrent network over the minibatch's
    /// sequences (`seq`: their start states, dones and length).
    pub fn forward_train_seq(&mut self, obs: &Tensor, seq: &SeqInput<'_>) -> PolicyOutput {
        if let Some(rms) = &mut self.obs_rms {
            tch::no_grad(|| rms.update(obs));
        }
        self.net.forward_seq(&self.normalize_obs(obs), seq).0
    }

    /// One-step sequences from `states` (a rollout or player step, eval mode).
    fn step_input<'a>(states: &'a [Tensor]) -> SeqInput<'a> {
        SeqInput { states, dones: None, seq_length: 1, train: false }
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
        tch::no_grad(|| self.sample(self.net.forward(&self.normalize_obs(obs))))
    }

    /// [`act`](Self::act) of a recurrent network from `states` (one step per env): the step and
    /// the states after it.
    pub fn act_seq(&self, obs: &Tensor, states: &[Tensor]) -> (Act, Vec<Tensor>) {
        tch::no_grad(|| {
            let (out, next) = self.net.forward_seq(&self.normalize_obs(obs), &Self::step_input(states));
            (self.sample(out), next)
        })
    }

    fn sample(&self, out: PolicyOutput) -> Act {
        let action = &out.mu + &out.sigma * out.mu.randn_like();
        let neglogp = neglogp(&action, &out.mu, &out.sigma, &out.log_sigma);
        let value = self.denormalize_value(out.value);
        Act { action, neglogp, value, mu: out.mu, sigma: out.sigma }
    }

    /// Bootstrap value of the last observations, de-normalised (N, 1).
    ///
    /// rl_games' `get_values` runs the whole policy forward, which samples an action it then
    /// ignores: the same (N, A) draw is made here, so the next rollout's noise is rl_games'.
    pub fn value(&self, obs: &Tensor) -> Tensor {
        self.value_seq(obs, &[])
    }

    /// [`value`](Self::value) of a recurrent network from `states` (rl_games' `get_values`
    /// reads `self.rnn_states` and drops the states it returns).
    pub fn value_seq(&self, obs: &Tensor, states: &[Tensor]) -> Tensor {
        tch::no_grad(|| {
            let x = self.normalize_obs(obs);
            let out = if self.net.is_rnn() {
                self.net.forward_seq(&x, &Self::step_input(states)).0
            } else {
                self.net.forward(&x)
            };
            let _ = out.mu.randn_like();
            self.denormalize_value(out.value)
        })
    }

    /// A player's unclipped actions (N, A) for (N, *obs_shape) observations: μ when
    /// `deterministic`, else `μ + σ·ξ` with ξ ~ N(0, I) (rl_games' `get_action`).
    pub fn actions(&self, obs: &Tensor, deterministic: bool) -> Tensor {
        tch::no_grad(|| {
            let out = self.net.forward_actor(&self.normalize_obs(obs));
            Self::pick(out.mu, &out.sigma, deterministic)
        })
    }

    /// [`actions`](Self::actions) of a recurrent network from `states` (one step per env): the
    /// actions and the states after the step.
    pub fn actions_seq(&self, obs: &Tensor, states: &[Tensor], deterministic: bool) -> (Tensor, Vec<Tensor>) {
        tch::no_grad(|| {
            let (out, next) = self.net.forward_actor_seq(&self.normalize_obs(obs), &Self::step_input(states));
            (Self::pick(out.mu, &out.sigma, deterministic), next)
        })
    }

    fn pick(mu: Tensor, sigma: &Tensor, deterministic: bool) -> Tensor {
        if deterministic {
            mu
        } else {
            &mu + sigma * mu.randn_like()
        }
    }
}

/// Policy actions → environment actions (docs/rl_games.md §4.4): `clamp(a, −1, 1)` rescaled to [low, high]
/// when `clip_actions`, else `a` unchanged.
#[derive(Debug)]
pub struct ActionMap {
    /// Whether to clip and rescale (`clip_actions`).
    pub clip: bool,
    /// (high − low)/2 per action dim.
    half_range: Tensor,
    /// (high + low)/2 per action dim.
    mid: Tensor,
}

impl ActionMap {
    /// A map for the bounds `low`, `high` on `device` (where the actions will be).
    pub fn new(clip: bool, low: &[f32], high: &[f32], device: Device) -> Self {
        let low = Tensor::from_slice(low).to_device(device);
        let high = Tensor::from_slice(high).to_device(device);
        ActionMap { clip, half_range: (&high - &low) / 2.0, mid: (&high + &low) / 2.0 }
    }

    /// `((high − low)/2, (high + low)/2)` as [`apply`](Self::apply) uses them (float32, per action dim).
    pub fn rescale(&self) -> (&Tensor, &Tensor) {
        (&self.half_range, &self.mid)
    }

    /// Environment actions for (N, A) policy actions.
    pub fn apply(&self, actions: &Tensor) -> Tensor {
        if self.clip {
            actions.clamp(-1.0, 1.0) * &self.half_range + &self.mid
        } else {
            actions.shallow_clone()
        }
    }
}
