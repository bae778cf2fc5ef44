//! The host-side environment wrapper: the role of Isaac Lab's `RlGamesVecEnvWrapper`.
//!
//! It sits between an environment plugin and the agent: clamps actions (`env.clip_actions`) and
//! observations (`env.clip_observations`), moves tensors when the agent's device differs from the
//! environment's, and reports every finished episode's return and length to the observer.
//! Action rescaling from [-1, 1] to the bounds stays with the agent, as in rl_games.
use crate::observer::{EpisodeBatch, HostObserver};
use rlhost_plugin_api::abi_stable::sabi_trait::TD_Opaque;
use rlhost_plugin_api::abi_stable::std_types::{RSlice, RVec};
use rlhost_plugin_api::{EnvInfo, PResult, PluginError, StepOutput, TensorView, VecEnv, VecEnvBox, VecEnv_TO};
use rlhost_sdk::tensor::{dl_device, tensor_from_view};
use rlhost_sdk::{guard, EnvHandle, StepTensors};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// Isaac Lab's `env:` block options the wrapper applies.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WrapperOptions {
    /// Clamp observations to ±this.
    pub clip_observations: Option<f64>,
    /// Clamp actions to ±this; the action space becomes ±this, as in Isaac Lab.
    pub clip_actions: Option<f64>,
}

/// An environment plugin seen through the wrapper.
pub struct HostEnv {
    env: EnvHandle,
    options: WrapperOptions,
    agent_device: Device,
    info: EnvInfo,
    /// Env-device buffers, used only when the agent's device differs.
    staging: Option<(Tensor, StepTensors)>,
    episode_return: Tensor,
    episode_length: Tensor,
    /// Environments still in their first episode since reset (partial under staggered starts).
    first_episode: Tensor,
    /// Frames stepped: the agent's count at the last `set_train_info`, plus env steps × N since.
    frames: u64,
    observer: Arc<HostObserver>,
}

impl HostEnv {
    /// Wraps `env` for an agent on `agent_device`.
    pub fn new(env: EnvHandle, options: WrapperOptions, agent_device: Device, observer: Arc<HostObserver>) -> Self {
        let mut info = env.info().clone();
        info.device = dl_device(agent_device);
        if let Some(c) = options.clip_actions {
            let bound = c as f32;
            info.action_low = info.action_low.iter().map(|_| -bound).collect();
            info.action_high = info.action_high.iter().map(|_| bound).collect();
        }
        let env_device = env.device();
        let staging = (env_device != agent_device).then(|| {
            let actions = Tensor::zeros([env.num_envs(), env.info().action_dim() as i64], (Kind::Float, env_device));
            (actions, env.step_buffers())
        });
        let n = env.num_envs();
        HostEnv {
            episode_return: Tensor::zeros([n], (Kind::Float, agent_device)),
            episode_length: Tensor::zeros([n], (Kind::Float, agent_device)),
            first_episode: Tensor::ones([n], (Kind::Bool, agent_device)),
            frames: 0,
            env,
            options,
            agent_device,
            info,
            staging,
            observer,
        }
    }

    /// Boxes the wrapper for an agent plugin.
    pub fn boxed(self) -> VecEnvBox {
        VecEnv_TO::from_value(self, TD_Opaque)
    }

    fn clip_obs(&self, obs: &mut Tensor) {
        if let Some(c) = self.options.clip_observations {
            let _ = obs.clamp_(-c, c);
        }
    }

    /// Accumulates rewards and reports finished episodes (one device sync per step).
    fn track_episodes(&mut self, out: &StepTensors) -> Result<(), PluginError> {
        self.frames += self.env.num_envs() as u64;
        let _ = self.episode_return.g_add_(&out.rewards);
        let _ = self.episode_length.g_add_scalar_(1.0);
        let done = out.dones();
        if !bool::try_from(done.any()).unwrap_or(false) {
            return Ok(());
        }
        let finished = done.nonzero().squeeze_dim(1);
        let to_host = |t: &Tensor, what: &str| -> Result<Tensor, PluginError> {
            t.index_select(0, &finished)
                .to_device(Device::Cpu)
                .f_contiguous()
                .map_err(|e| rlhost_sdk::tch_error(rlhost_plugin_api::ErrorKind::Other, what, e))
        };
        let read_err = |e| rlhost_sdk::tch_error(rlhost_plugin_api::ErrorKind::Other, "episode results", e);
        let batch = EpisodeBatch {
            frame: self.frames,
            envs: Vec::<i64>::try_from(finished.to_device(Device::Cpu)).map_err(read_err)?,
            returns: Vec::<f32>::try_from(to_host(&self.episode_return, "episode returns")?).map_err(read_err)?,
            lengths: Vec::<f32>::try_from(to_host(&self.episode_length, "episode lengths")?).map_err(read_err)?,
            first: Vec::<bool>::try_from(to_host(&self.first_episode, "first episodes")?).map_err(read_err)?,
        };
        let _ = self.episode_return.masked_fill_(&done, 0.0);
        let _ = self.episode_length.masked_fill_(&done, 0.0);
        let _ = self.first_episode.masked_fill_(&done, 0);
        self.observer.record_episodes(&batch);
        Ok(())
    }

    fn step_tensors(&mut self, actions: &Tensor, out: &mut StepTensors) -> Result<(), PluginError> {
        let clipped;
        let actions = match self.options.clip_actions {
            Some(c) => {
                clipped = actions.clamp(-c, c);
                &clipped
            }
            None => actions,
        };
        match &mut self.staging {
            None => self.env.step(actions, out)?,
            Some((env_actions, env_out)) => {
                env_actions.copy_(actions);
                self.env.step(env_actions, env_out)?;
                out.obs.copy_(&env_out.obs);
                out.rewards.copy_(&env_out.rewards);
                out.terminated.copy_(&env_out.terminated);
                out.truncated.copy_(&env_out.truncated);
            }
        }
        self.clip_obs(&mut out.obs);
        self.track_episodes(out)
    }
}

impl VecEnv for HostEnv {
    fn info(&self) -> EnvInfo {
        self.info.clone()
    }

    fn reset(&mut self, obs: TensorView<'_>) -> PResult<()> {
        guard(|| {
            // SAFETY: the view is valid for this call; the tensor is dropped before returning.
            let mut obs = unsafe { tensor_from_view(&obs)? };
            match &self.staging {
                None => self.env.reset(&obs)?,
                Some((_, env_out)) => {
                    self.env.reset(&env_out.obs)?;
                    obs.copy_(&env_out.obs);
                }
            }
            let _ = self.episode_return.zero_();
            let _ = self.episode_length.zero_();
            let _ = self.first_episode.fill_(1);
            self.clip_obs(&mut obs);
            Ok(())
        })
    }

    fn step(&mut self, actions: TensorView<'_>, out: StepOutput<'_>) -> PResult<()> {
        guard(|| {
            // SAFETY: the views are valid for this call; the tensors are dropped before returning.
            let (actions, mut buffers) = unsafe { (tensor_from_view(&actions)?, StepTensors::from_views(&out)?) };
            if actions.device() != self.agent_device {
                return Err(PluginError::new(
                    rlhost_plugin_api::ErrorKind::Device,
                    format!("actions: expected device {:?}, got {:?}", self.agent_device, actions.device()),
                ));
            }
            self.step_tensors(&actions, &mut buffers)
        })
    }

    fn set_train_info(&mut self, frame: u64) -> PResult<()> {
        // The agent's count wins: a resumed run's episode rows continue from its checkpoint's frame.
        self.frames = frame;
        guard(|| self.env.set_train_info(frame))
    }

    fn get_state(&self) -> PResult<RVec<u8>> {
        guard(|| self.env.get_state().map(RVec::from))
    }

    fn set_state(&mut self, state: RSlice<'_, u8>) -> PResult<()> {
        guard(|| self.env.set_state(state.as_slice()))
    }
}
