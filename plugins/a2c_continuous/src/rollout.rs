//! Experience collection (docs/rl_games.md §4.3–§4.4): H steps of N environments into preallocated (H, N, …)
//! buffers, all on the training device, then bootstrap values and GAE.
use crate::central_value::CentralValueTrain;
use crate::config::{PpoConfig, RewardShaper};
use crate::gae::compute_gae;
use rlhost_model::network::ActorCritic;
use rlhost_model::policy::{Act, ActionMap, Model};
use rlhost_sdk::api::space::STATES;
use rlhost_sdk::{EnvHandle, ErrorKind, PluginError, StepBuffers};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Preallocated rollout storage; row `t` of every buffer is written at step `t`.
#[derive(Debug)]
pub struct RolloutBuffers {
    /// (H, N, *obs_shape).
    pub obs: Tensor,
    /// The privileged `states` (H, N, *state_shape), recorded for a central value (§4.17).
    pub states: Option<Tensor>,
    /// Unclipped sampled actions (H, N, A).
    pub actions: Tensor,
    /// (H, N).
    pub neglogp: Tensor,
    /// De-normalised values (H, N).
    pub values: Tensor,
    /// (H, N, A).
    pub mus: Tensor,
    /// (H, N, A).
    pub sigmas: Tensor,
    /// Shaped (+ bootstrap) rewards (H, N).
    pub rewards: Tensor,
    /// The environment's rewards as returned (H, N), for the non-finite check.
    pub raw_rewards: Tensor,
    /// Done flag produced by the previous step (H, N), float32.
    pub dones: Tensor,
    /// Per step: [finished episodes, Σ raw return, Σ shaped return, Σ length] of the finished ones (H, 4).
    pub episode_sums: Tensor,
    /// A recurrent policy's states at every `seq_length` boundary, (H / seq_length, layers, N,
    /// units) per state tensor (rl_games' `mb_rnn_states`); empty without an RNN.
    pub rnn_states: Vec<Tensor>,
    /// A recurrent central value's states at the same boundaries (its own `mb_rnn_states`).
    pub critic_rnn_states: Vec<Tensor>,
}

/// What is carried from one rollout to the next (and stored in checkpoints under `rollout.*`).
#[derive(Debug)]
pub struct Carry {
    /// Current observations (N, *obs_shape).
    pub obs: Tensor,
    /// Current privileged states (N, *state_shape), with a central value.
    pub states: Option<Tensor>,
    /// Done flags of the last step (N,), float32; ones after a reset (quirk 11).
    pub dones: Tensor,
    /// Running episode [raw return, shaped return, length] per env (N, 3).
    pub episode: Tensor,
    /// A recurrent policy's current states, (layers, N, units) each; empty without an RNN.
    pub rnn_states: Vec<Tensor>,
    /// A recurrent central value's current states (`CentralValueTrain.rnn_states`).
    pub critic_rnn_states: Vec<Tensor>,
}

/// Timings of one rollout, in seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct RolloutTimes {
    /// Inside `env.step` only.
    pub env_step: f64,
    /// Rollout + bootstrap + GAE (rl_games' `play_time`).
    pub play: f64,
    /// GAE only.
    pub gae: f64,
}

/// Rollout state: buffers, carry, env-side buffers and the action mapping.
#[derive(Debug)]
pub struct Rollout {
    pub buf: RolloutBuffers,
    pub carry: Carry,
    /// Advantages (H, N) of the last rollout.
    pub advantages: Tensor,
    step: StepBuffers,
    /// Index of the policy's observation group in the step buffers.
    obs_group: usize,
    /// Index of the `states` group, when they are recorded.
    states_group: Option<usize>,
    /// uint8 (image) observations, stored as `x / 255` float32 (rl_games' `_preproc_obs`).
    obs_uint8: bool,
    env_actions: Tensor,
    /// Policy → env actions, on the training device.
    action_map: ActionMap,
    device: Device,
}

impl Rollout {
    /// Draws and discards the exploration noise of `epochs` rollouts, so a restored agent continues
    /// libtorch's generator where an uninterrupted run would be (the fallback for checkpoints
    /// without a saved generator state). Polls `stop` every 1024 draws; `false` when it stopped.
    ///
    /// It mirrors the consumption of `Model::act` (one (N, A) standard-normal draw per step) and
    /// `Model::value` (one more for the bootstrap): horizon + 1 draws per epoch; with a central
    /// value the bootstrap is the critic's, which draws nothing: horizon draws.
    pub fn skip_noise(&self, epochs: u64, stop: &dyn Fn() -> bool) -> bool {
        let step_noise = self.buf.actions.get(0);
        for i in 0..epochs * self.draws_per_epoch() {
            if i % 1024 == 0 && stop() {
                return false;
            }
            let _ = step_noise.randn_like();
        }
        true
    }

    /// The (N, A) standard-normal draws of one epoch: one per step, and one for the bootstrap
    /// unless a central value gives it (then only the critic runs, §4.17).
    pub fn draws_per_epoch(&self) -> u64 {
        self.horizon() + if self.buf.states.is_some() { 0 } else { 1 }
    }

    /// Steps per rollout (H).
    pub fn horizon(&self) -> u64 {
        self.buf.actions.size()[0] as u64
    }

    /// Allocates everything for `horizon` steps of `env`'s batch on `device`; with `states`, the
    /// environment's `states` group is recorded too (a central value reads it; it must exist).
    pub fn new(env: &EnvHandle, horizon: i64, device: Device, states: bool) -> Result<Self, PluginError> {
        let info = env.info();
        let n = env.num_envs();
        let (low, high) = info.box_bounds().expect("the agent checked for a box action space");
        let a = low.len() as i64;
        let obs_spec = env.policy_observation();
        let obs_group = info.observation(&obs_spec.name).map_or(0, |(i, _)| i);
        let obs_shape: Vec<i64> = obs_spec.shape.to_vec();
        let with = |lead: &[i64], tail: &[i64]| -> Vec<i64> { lead.iter().chain(tail).copied().collect() };
        let f32_zeros = |shape: Vec<i64>| Tensor::zeros(shape, (Kind::Float, device));
        let states_group = if states {
            let Some((i, spec)) = info.observation(STATES) else {
                return Err(PluginError::new(
                    ErrorKind::Shape,
                    "central_value_config needs the environment's privileged 'states' observation group, and the environment has none (classic-control envs: env_config.states: true)",
                ));
            };
            if spec.dtype != rlhost_sdk::api::DlDataType::F32 {
                return Err(PluginError::new(
                    ErrorKind::Unsupported,
                    format!("the 'states' group is {}; the central value MLP takes float32", spec.dtype),
                ));
            }
            Some((i, spec.shape.to_vec()))
        } else {
            None
        };
        let states_buffer = |lead: &[i64]| states_group.as_ref().map(|(_, shape)| f32_zeros(with(lead, shape)));
        Ok(Rollout {
            buf: RolloutBuffers {
                states: states_buffer(&[horizon, n]),
                obs: f32_zeros(with(&[horizon, n], &obs_shape)),
                actions: f32_zeros(vec![horizon, n, a]),
                neglogp: f32_zeros(vec![horizon, n]),
                values: f32_zeros(vec![horizon, n]),
                mus: f32_zeros(vec![horizon, n, a]),
                sigmas: f32_zeros(vec![horizon, n, a]),
                rewards: f32_zeros(vec![horizon, n]),
                raw_rewards: f32_zeros(vec![horizon, n]),
                dones: f32_zeros(vec![horizon, n]),
                episode_sums: f32_zeros(vec![horizon, 4]),
                rnn_states: Vec::new(),
                critic_rnn_states: Vec::new(),
            },
            carry: Carry {
                states: states_buffer(&[n]),
                obs: f32_zeros(with(&[n], &obs_shape)),
                dones: Tensor::ones([n], (Kind::Float, device)),
                episode: f32_zeros(vec![n, 3]),
                rnn_states: Vec::new(),
                critic_rnn_states: Vec::new(),
            },
            advantages: f32_zeros(vec![horizon, n]),
            step: env.step_buffers()?,
            obs_group,
            states_group: states_group.map(|(i, _)| i),
            obs_uint8: obs_spec.dtype == rlhost_sdk::api::DlDataType::U8,
            env_actions: Tensor::zeros([n, a], (Kind::Float, env.device())),
            // `clip_actions` is applied per call (it is a `PpoConfig` field, passed to `play`).
            action_map: ActionMap::new(true, low, high, device),
            device,
        })
    }

    /// Allocates the recurrent states of `net` (zero, as rl_games' `init_tensors`) and their
    /// per-sequence record for sequences of `seq_length` steps; nothing without an RNN.
    pub fn init_rnn(&mut self, net: &ActorCritic, seq_length: i64) {
        self.carry.rnn_states = net.zero_rnn_states(self.carry.obs.size()[0], self.device);
        self.buf.rnn_states = self.state_record(&self.carry.rnn_states, seq_length);
    }

    /// The same for a recurrent central value's states (its `rnn_states`, `mb_rnn_states`).
    pub fn init_critic_rnn(&mut self, critic: &CentralValueTrain, seq_length: i64) {
        self.carry.critic_rnn_states = critic.model.net.zero_rnn_states(self.carry.obs.size()[0], self.device);
        self.buf.critic_rnn_states = self.state_record(&self.carry.critic_rnn_states, seq_length);
    }

    /// A zero (H / seq_length, layers, N, units) record per state tensor.
    fn state_record(&self, states: &[Tensor], seq_length: i64) -> Vec<Tensor> {
        let seqs = self.horizon() as i64 / seq_length;
        states.iter().map(|s| s.zeros_like().unsqueeze(0).repeat([seqs, 1, 1, 1])).collect()
    }

    /// Resets every environment; dones become ones, episode accumulators and the policy's
    /// recurrent states zeros (rl_games' `reset_envs` takes the policy's default RNN state, and
    /// leaves a central value's states as they are).
    pub fn reset(&mut self, env: &mut EnvHandle) -> Result<(), PluginError> {
        env.reset(self.step.observations())?;
        self.copy_observations();
        let _ = self.carry.dones.fill_(1.0);
        let _ = self.carry.episode.zero_();
        for s in &mut self.carry.rnn_states {
            let _ = s.zero_();
        }
        Ok(())
    }

    /// The policy step of a recurrent policy (`play_steps_rnn`): the states (the policy's and a
    /// recurrent central value's, `pre_step_rnn`) are recorded at each `seq_length` boundary
    /// before the step, and the policy's replaced by the ones the step returns.
    fn act_recurrent(&mut self, model: &Model, t: i64, seq_length: i64) -> Act {
        if t % seq_length == 0 {
            let carried = self.carry.rnn_states.iter().chain(&self.carry.critic_rnn_states);
            for (s, record) in carried.zip(self.buf.rnn_states.iter().chain(&self.buf.critic_rnn_states)) {
                record.get(t / seq_length).copy_(s);
            }
        }
        let (act, next) = model.act_seq(&self.carry.obs, &self.carry.rnn_states);
        self.carry.rnn_states = next;
        act
    }

    /// `zero_rnn_on_done`: the states (the policy's, and a central value's: `post_step_rnn`) of
    /// the envs that just finished an episode become zero.
    fn zero_finished_states(&mut self, dones: &Tensor) {
        let finished = dones.gt(0.0).view([1, -1, 1]);
        for s in self.carry.rnn_states.iter_mut().chain(&mut self.carry.critic_rnn_states) {
            let _ = s.masked_fill_(&finished, 0.0);
        }
    }

    /// The step buffers' observations (and states) into the carry.
    fn copy_observations(&mut self) {
        let obs = self.step.obs(self.obs_group);
        if self.obs_uint8 {
            // rl_games stores the bytes and divides in the model call; dividing once here gives
            // the same float32 values.
            self.carry.obs.copy_(&(obs.to_kind(Kind::Float) / 255.0));
        } else {
            self.carry.obs.copy_(obs);
        }
        if let (Some(states), Some(group)) = (&mut self.carry.states, self.states_group) {
            states.copy_(self.step.obs(group));
        }
    }

    /// The central value's V(s) of the current carry (N,), `None` without one. A recurrent
    /// central value steps its states with every call (`get_value` assigns them), the
    /// bootstrap's included.
    fn central_value(&mut self, critic: Option<&CentralValueTrain>) -> Option<Tensor> {
        let (c, states) = (critic?, self.carry.states.as_ref()?);
        let (value, next) = c.value(states, &self.carry.critic_rnn_states);
        if c.model.net.is_rnn() {
            self.carry.critic_rnn_states = next;
        }
        Some(value.squeeze_dim(1))
    }

    /// Env action (§4.4): `clamp(a, −1, 1)` rescaled to [low, high] when `clip_actions`, else `a`.
    fn write_env_actions(&mut self, action: &Tensor, clip_actions: bool) {
        self.action_map.clip = clip_actions;
        self.env_actions.copy_(&self.action_map.apply(action));
    }

    /// Collects one rollout and computes advantages (`play_steps`). With a `critic` (the central
    /// value, §4.17) every value (V(s_t), the time-out bootstrap, the last values) is its own.
    pub fn play(
        &mut self,
        env: &mut EnvHandle,
        model: &Model,
        critic: Option<&CentralValueTrain>,
        cfg: &PpoConfig,
    ) -> Result<RolloutTimes, PluginError> {
        let start = Instant::now();
        let mut times = RolloutTimes::default();
        let recurrent = !self.carry.rnn_states.is_empty();
        for t in 0..cfg.horizon_length {
            let act = if recurrent { self.act_recurrent(model, t, cfg.seq_length) } else { model.act(&self.carry.obs) };
            let value = self.central_value(critic).unwrap_or_else(|| act.value.squeeze_dim(1));
            self.buf.obs.get(t).copy_(&self.carry.obs);
            if let (Some(buf), Some(states)) = (&self.buf.states, &self.carry.states) {
                buf.get(t).copy_(states);
            }
            self.buf.dones.get(t).copy_(&self.carry.dones);
            self.buf.actions.get(t).copy_(&act.action);
            self.buf.neglogp.get(t).copy_(&act.neglogp);
            self.buf.values.get(t).copy_(&value);
            self.buf.mus.get(t).copy_(&act.mu);
            self.buf.sigmas.get(t).copy_(&act.sigma);

            self.write_env_actions(&act.action, cfg.clip_actions);
            let step_start = Instant::now();
            env.step(&self.env_actions, &self.step)?;
            times.env_step += step_start.elapsed().as_secs_f64();

            let rewards = self.step.rewards().to_device(self.device);
            let truncated = self.step.truncated().to_device(self.device).to_kind(Kind::Float);
            let terminated = self.step.terminated().to_device(self.device).to_kind(Kind::Float);
            let dones = terminated.maximum(&truncated);
            let mut shaped = shape_reward(&rewards, &cfg.reward_shaper);
            if cfg.value_bootstrap {
                // Quirk 4: the time-out bootstrap uses V(s_t), the value of the state acted in.
                shaped += &value * cfg.gamma * &truncated;
            }
            self.buf.rewards.get(t).copy_(&shaped);
            self.buf.raw_rewards.get(t).copy_(&rewards);
            self.track_episodes(t, &rewards, &shaped, &dones);
            if recurrent && cfg.zero_rnn_on_done {
                self.zero_finished_states(&dones);
            }
            self.copy_observations();
            self.carry.dones.copy_(&dones);
        }
        // rl_games' `get_values`: with a central value only the critic runs (no policy forward,
        // so no action draw); without, the whole policy (`Model::value` makes its draw).
        let last_values = match self.central_value(critic) {
            Some(v) => v,
            None => model.value_seq(&self.carry.obs, &self.carry.rnn_states).squeeze_dim(1),
        };
        let gae_start = Instant::now();
        self.advantages = tch::no_grad(|| {
            compute_gae(
                &self.buf.rewards,
                &self.buf.values,
                &self.buf.dones,
                &last_values,
                &self.carry.dones,
                cfg.gamma,
                cfg.tau,
            )
        });
        times.gae = gae_start.elapsed().as_secs_f64();
        times.play = start.elapsed().as_secs_f64();
        Ok(times)
    }

    /// Accumulates episode returns and lengths; stores the sums of the episodes that ended at `t`.
    fn track_episodes(&mut self, t: i64, rewards: &Tensor, shaped: &Tensor, dones: &Tensor) {
        let ep = &mut self.carry.episode;
        let _ = ep.select(1, 0).g_add_(rewards);
        let _ = ep.select(1, 1).g_add_(shaped);
        let _ = ep.select(1, 2).g_add_scalar_(1.0);
        let row = self.buf.episode_sums.get(t);
        row.get(0).copy_(&dones.sum(Kind::Float));
        row.narrow(0, 1, 3).copy_(&dones.matmul(ep));
        let keep: Tensor = 1.0 - dones;
        let _ = ep.g_mul_(&keep.unsqueeze(1));
    }

    /// The per-step episode sums of the last rollout and whether all of it was finite
    /// ([`crate::nonfinite::all_finite`]), read to the host together: one sync per epoch.
    pub fn epoch_readout(&self) -> (Vec<[f32; 4]>, bool) {
        let flat = Tensor::cat(&[self.buf.episode_sums.view([-1]), crate::nonfinite::all_finite(self).view([1])], 0)
            .to_device(Device::Cpu)
            .contiguous();
        let mut values = vec![0f32; flat.numel()];
        let n = values.len();
        flat.copy_data(&mut values, n);
        let finite = values.pop() == Some(1.0);
        (values.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect(), finite)
    }
}

/// `r' = clamp((r + shift)·scale, min, max)`, then `ln r'` if `log_val`.
pub fn shape_reward(rewards: &Tensor, shaper: &RewardShaper) -> Tensor {
    let mut r = (rewards + shaper.shift_value) * shaper.scale_value;
    if shaper.min_val.is_finite() || shaper.max_val.is_finite() {
        r = r.clamp(shaper.min_val, shaper.max_val);
    }
    if shaper.log_val {
        r = r.log();
    }
    r
}
