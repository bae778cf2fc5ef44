//! The machinery the four environments share: batching, time limits, same-step auto-reset,
//! per-environment seeding, staggered starts, and the [`NativeVecEnv`] implementation.
//!
//! Every step is a fixed number of tensor ops whatever N is: the physics runs on the whole
//! batch, and the environments that finished are re-initialised together through one index
//! (`nonzero`, a gather and a scatter), never by a per-environment Rust loop.
use crate::config::EnvConfig;
use crate::dynamics::{Dynamics, Spec, Transition};
use crate::rng::{self, Stream};
use rlhost_sdk::api::space::{OBS, STATES};
use rlhost_sdk::api::{ActionSpace, ActionSpace_NE, AutoReset, AutoReset_NE, EnvArgs, EnvInfo, TensorSpec};
use rlhost_sdk::tensor::{check_device_available, dl_device, tch_device};
use rlhost_sdk::{ErrorKind, NativeVecEnv, PluginError, StepBuffers};
use std::marker::PhantomData;
use tch::{Device, Kind, Tensor};

/// N environments of one task `D`, all state in float64 tensors on one device.
#[derive(Debug)]
pub struct ClassicEnv<D: Dynamics> {
    spec: Spec,
    num_envs: i64,
    device: Device,
    max_steps: i64,
    random_start: bool,
    /// Whether the privileged `states` group (the float64 state as float32) is emitted.
    emit_states: bool,
    /// Images as (C, H, W) (`env_config.channels_first`).
    channels_first: bool,
    /// (N,) int64: `mix(seed + i)`, the root of environment i's random stream.
    keys: Tensor,
    /// (N,) int64: how many episodes each environment has started.
    episodes: Tensor,
    /// (N,) int64: steps taken in the current episode.
    elapsed: Tensor,
    /// (N, STATE_DIM) float64.
    state: Tensor,
    _dynamics: PhantomData<fn() -> D>,
}

fn shape_error(message: String) -> PluginError {
    PluginError::new(ErrorKind::Shape, message)
}

impl<D: Dynamics> ClassicEnv<D> {
    /// Creates and resets `num_envs` environments; environment i is seeded from `seed + i`.
    pub fn new(num_envs: u32, seed: u64, device: Device, config: &EnvConfig) -> Result<Self, PluginError> {
        let spec = D::spec();
        if num_envs == 0 {
            return Err(PluginError::new(ErrorKind::Config, format!("{}: num_envs must be at least 1", spec.name)));
        }
        check_device_available(spec.name, device)?;
        if config.channels_first && D::image_shape().is_none() {
            return Err(PluginError::new(
                ErrorKind::Config,
                format!("{}: env_config.channels_first applies to image observations only", spec.name),
            ));
        }
        let n = num_envs as i64;
        let max_steps = config.max_episode_steps.unwrap_or(spec.max_episode_steps) as i64;
        let counters = Tensor::zeros([n], (Kind::Int64, device));
        let mut env = ClassicEnv {
            state: Tensor::zeros([n, spec.state_dim], (Kind::Double, device)),
            spec,
            num_envs: n,
            device,
            max_steps,
            random_start: config.init_at_random_ep_len,
            emit_states: config.states,
            channels_first: config.channels_first,
            keys: rng::env_keys(seed, n, device),
            episodes: counters.copy(),
            elapsed: counters,
            _dynamics: PhantomData,
        };
        env.reset_all();
        Ok(env)
    }

    /// Creates the environments an [`EnvArgs`] describes (its `config_json` is `env_config`).
    pub fn from_args(args: &EnvArgs) -> Result<Self, PluginError> {
        let config = EnvConfig::from_json(args.config_json.as_str())?;
        ClassicEnv::new(args.num_envs, args.seed, tch_device(args.device)?, &config)
    }

    /// The task's spaces and default limits.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The step limit in force (the default or the `max_episode_steps` override).
    pub fn max_episode_steps(&self) -> i64 {
        self.max_steps
    }

    /// Number of environments.
    pub fn num_envs(&self) -> i64 {
        self.num_envs
    }

    /// The device holding the state.
    pub fn device(&self) -> Device {
        self.device
    }

    /// A copy of the (N, STATE_DIM) float64 state.
    pub fn state(&self) -> Tensor {
        self.state.copy()
    }

    /// Replaces the state with `state` (N, STATE_DIM), converted to float64 on the env's device.
    pub fn set_state_f64(&mut self, state: &Tensor) -> Result<(), PluginError> {
        let expected = [self.num_envs, self.spec.state_dim];
        if state.size() != expected {
            return Err(shape_error(format!("state: expected shape {expected:?}, got {:?}", state.size())));
        }
        self.state = state.to_device(self.device).to_kind(Kind::Double).copy();
        Ok(())
    }

    /// A copy of the (N,) int64 steps taken in each current episode.
    pub fn elapsed_steps(&self) -> Tensor {
        self.elapsed.copy()
    }

    /// Sets the (N,) steps taken in each current episode (the time-limit counters).
    pub fn set_elapsed_steps(&mut self, elapsed: &Tensor) -> Result<(), PluginError> {
        if elapsed.size() != [self.num_envs] {
            return Err(shape_error(format!(
                "elapsed steps: expected shape [{}], got {:?}",
                self.num_envs,
                elapsed.size()
            )));
        }
        self.elapsed = elapsed.to_device(self.device).to_kind(Kind::Int64).copy();
        Ok(())
    }

    /// A copy of the (N,) int64 number of episodes each environment has started.
    pub fn episode_counters(&self) -> Tensor {
        self.episodes.copy()
    }

    /// The (N, OBS_DIM) float32 observations of the current state.
    pub fn observation(&self) -> Tensor {
        D::observe(&self.state).to_kind(Kind::Float)
    }

    /// Starts a new episode in every environment (staggered when `init_at_random_ep_len`).
    fn reset_all(&mut self) {
        if self.random_start {
            let u = rng::uniform(&self.keys, &self.episodes, Stream::EpisodeProgress, 1).squeeze_dim(1);
            // floor(u * limit) is in [0, limit - 1], so every first episode lasts at least one step.
            self.elapsed = (u * self.max_steps as f64).floor().to_kind(Kind::Int64);
        } else {
            self.elapsed = self.elapsed.zeros_like();
        }
        let all = Tensor::arange(self.num_envs, (Kind::Int64, self.device));
        self.start_episodes(&all, !self.random_start);
    }

    /// Draws new initial states for the environments in `idx` (int64 indices) and advances
    /// their episode counters; clears their step counters when `clear_elapsed`.
    fn start_episodes(&mut self, idx: &Tensor, clear_elapsed: bool) {
        let episodes = self.episodes.index_select(0, idx);
        let u = rng::uniform(&self.keys.index_select(0, idx), &episodes, Stream::InitialState, self.spec.state_dim);
        let _ = self.state.index_copy_(0, idx, &D::initial_state(&u));
        let _ = self.episodes.index_copy_(0, idx, &(episodes + 1));
        if clear_elapsed {
            let _ = self.elapsed.index_fill_(0, idx, 0);
        }
    }
}

/// Fails with [`ErrorKind::NonFinite`] naming the first environment whose action is NaN or infinite.
fn check_finite(actions: &Tensor) -> Result<(), PluginError> {
    let bad = actions.isfinite().logical_not().any_dim(1, false);
    // One host sync per step: the error has to be known before the state changes.
    if bad.any().int64_value(&[]) == 0 {
        return Ok(());
    }
    let env = bad.nonzero().int64_value(&[0, 0]);
    let row: Vec<f32> = Vec::try_from(actions.get(env).to_kind(Kind::Float).to_device(Device::Cpu)).unwrap_or_default();
    let what = if row.iter().any(|v| v.is_nan()) { "NaN" } else { "infinite" };
    Err(PluginError::new(
        ErrorKind::NonFinite,
        format!("{what} action in env {env}: {row:?}; no environment was stepped"),
    ))
}

impl<D: Dynamics> NativeVecEnv for ClassicEnv<D> {
    fn info(&self) -> EnvInfo {
        let spec = &self.spec;
        let policy = match D::image_shape() {
            // Bytes need no per-element bounds: [0, 255] is the type's.
            Some([h, w, c]) => TensorSpec {
                name: OBS.into(),
                shape: if self.channels_first { vec![c, h, w] } else { vec![h, w, c] }.into(),
                dtype: rlhost_sdk::api::DlDataType::U8,
                low: Vec::new().into(),
                high: Vec::new().into(),
            },
            None => TensorSpec::float32(OBS, &[spec.obs_low.len() as i64], spec.obs_low.clone(), spec.obs_high.clone()),
        };
        let mut observations = vec![policy];
        if self.emit_states {
            let d = spec.state_dim as usize;
            observations.push(TensorSpec::float32(
                STATES,
                &[spec.state_dim],
                vec![f32::NEG_INFINITY; d],
                vec![f32::INFINITY; d],
            ));
        }
        EnvInfo {
            num_envs: self.num_envs as u32,
            observations: observations.into(),
            action_space: ActionSpace_NE::new(ActionSpace::Box {
                low: spec.action_low.clone().into(),
                high: spec.action_high.clone().into(),
            }),
            agents: 1,
            value_size: 1,
            max_episode_steps: self.max_steps as u32,
            device: dl_device(self.device),
            autoreset: AutoReset_NE::new(AutoReset::SameStep),
        }
    }

    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError> {
        self.reset_all();
        self.write_observations(observations);
        Ok(())
    }

    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        check_finite(actions)?;
        let Transition { next_state, reward, terminated } = D::step(&self.state, &actions.to_kind(Kind::Double));
        self.state = next_state;
        let _ = self.elapsed.g_add_scalar_(1);
        // As Gymnasium's TimeLimit: a time-out is reported even when the last step is also terminal.
        let truncated = self.elapsed.ge(self.max_steps);
        let finished = terminated.logical_or(&truncated).nonzero().squeeze_dim(1);
        if finished.size()[0] > 0 {
            self.start_episodes(&finished, true);
        }
        self.write_observations(out.observations_mut());
        out.rewards_mut().copy_(&reward);
        out.terminated_mut().copy_(&terminated);
        out.truncated_mut().copy_(&truncated);
        Ok(())
    }
}

impl<D: Dynamics> ClassicEnv<D> {
    /// The policy observations, and the physical state when `states` is on.
    fn write_observations(&self, out: &mut [Tensor]) {
        let observed = D::observe(&self.state);
        out[0].copy_(&if self.channels_first { observed.permute([0, 3, 1, 2]) } else { observed });
        if self.emit_states {
            out[1].copy_(&self.state);
        }
    }
}
