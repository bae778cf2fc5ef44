//! The host-side environment wrapper: the role of Isaac Lab's `RlGamesVecEnvWrapper` and of
//! rl_games' `IsaacAlgoObserver`.
//!
//! It sits between an environment plugin and the agent: clamps actions (`env.clip_actions`) and
//! float observation groups (`env.clip_observations`), moves tensors when the agent's device
//! differs from the environment's, records every finished episode on the device (read once per
//! epoch, never per step), and writes the environment's extras to TensorBoard once per epoch.
//! Action rescaling from [-1, 1] to the bounds stays with the agent, as in rl_games.
use crate::episodes::EpisodeRecorder;
use crate::observer::HostObserver;
use rlhost_plugin_api::abi_stable::sabi_trait::TD_Opaque;
use rlhost_plugin_api::abi_stable::std_types::{RSlice, RVec};
use rlhost_plugin_api::{
    ActionSpace, ActionSpace_NE, EnvExtra, EnvInfo, ErrorKind, ExtraKind, PResult, PluginError, Scalar, StepOutput,
    TensorView, VecEnv, VecEnvBox, VecEnv_TO,
};
use rlhost_sdk::tensor::{check_device_available, device_name, dl_device, tensor_from_view};
use rlhost_sdk::{guard, EnvHandle, StepBuffers};
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

/// Steps between episode flushes when no epoch boundary comes (play mode).
const FLUSH_EVERY_STEPS: usize = 256;

/// An environment plugin seen through the wrapper.
pub struct HostEnv {
    env: EnvHandle,
    options: WrapperOptions,
    agent_device: Device,
    info: EnvInfo,
    /// The observation group names, shared by every step's buffers.
    names: std::sync::Arc<[String]>,
    /// Env-device buffers, used only when the agent's device differs.
    staging: Option<(Tensor, StepBuffers)>,
    episodes: EpisodeRecorder,
    observer: Arc<HostObserver>,
}

impl HostEnv {
    /// Wraps `env` for an agent on `agent_device`; fails when the env's device does not exist here.
    pub fn new(
        env: EnvHandle,
        options: WrapperOptions,
        agent_device: Device,
        observer: Arc<HostObserver>,
    ) -> Result<Self, PluginError> {
        let env_device = env.device();
        check_device_available("the environment's device", env_device)?;
        if env.info().observations.is_empty() {
            return Err(PluginError::new(ErrorKind::Shape, "the environment declares no observation group"));
        }
        let mut info = env.info().clone();
        info.device = dl_device(agent_device);
        if let (Some(c), Some(ActionSpace::Box { low, .. })) = (options.clip_actions, env.info().action_space()) {
            let (bound, dims) = (c as f32, low.len());
            info.action_space = ActionSpace_NE::new(ActionSpace::Box {
                low: vec![-bound; dims].into(),
                high: vec![bound; dims].into(),
            });
        }
        let staging = if env_device != agent_device {
            let (kind, shape) = rlhost_sdk::adapt::action_layout(env.info().action_space(), env.num_envs())?;
            let kind = rlhost_sdk::tensor::kind_of(kind).unwrap_or(Kind::Float);
            Some((Tensor::zeros(shape, (kind, env_device)), env.step_buffers()?))
        } else {
            None
        };
        Ok(HostEnv {
            names: rlhost_sdk::buffers::group_names(&info),
            episodes: EpisodeRecorder::new(env.num_envs()),
            env,
            options,
            agent_device,
            info,
            staging,
            observer,
        })
    }

    /// Boxes the wrapper for an agent plugin.
    pub fn boxed(self) -> VecEnvBox {
        VecEnv_TO::from_value(self, TD_Opaque)
    }

    /// Clamps every float observation group to ±`clip_observations`.
    fn clip_observations(&self, groups: &mut [Tensor]) {
        if let Some(c) = self.options.clip_observations {
            for g in groups.iter_mut().filter(|g| g.kind() == Kind::Float) {
                let _ = g.clamp_(-c, c);
            }
        }
    }

    fn step_tensors(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        let clipped;
        let actions = match (self.options.clip_actions, actions.kind()) {
            (Some(c), Kind::Float) => {
                clipped = actions.clamp(-c, c);
                &clipped
            }
            _ => actions,
        };
        match &mut self.staging {
            None => self.env.step(actions, out)?,
            Some((env_actions, env_out)) => {
                env_actions.copy_(actions);
                self.env.step(env_actions, env_out)?;
                for (i, group) in env_out.observations().iter().enumerate() {
                    out.obs_mut(i).copy_(group);
                }
                out.rewards_mut().copy_(env_out.rewards());
                out.terminated_mut().copy_(env_out.terminated());
                out.truncated_mut().copy_(env_out.truncated());
            }
        }
        self.clip_observations(out.observations_mut());
        self.episodes.record_step(out.rewards(), &out.dones());
        if self.episodes.pending_steps() >= FLUSH_EVERY_STEPS {
            self.flush_episodes()?;
        }
        Ok(())
    }

    /// Reads the recorded episodes to the host (one transfer) and hands them to the observer.
    fn flush_episodes(&mut self) -> Result<(), PluginError> {
        let batches = self.episodes.flush()?;
        for batch in &batches {
            self.observer.record_episodes(batch);
        }
        Ok(())
    }

    /// The epoch boundary: episodes and the environment's extras of the epoch just finished.
    fn end_epoch(&mut self) -> Result<(), PluginError> {
        self.flush_episodes()?;
        let extras = self.env.take_extras()?;
        if !extras.is_empty() {
            let (epoch, frame, seconds) =
                (self.observer.last_epoch(), self.episodes.frames(), self.observer.elapsed_s());
            self.observer.on_scalars(&extra_scalars(&extras, epoch, frame, seconds));
        }
        Ok(())
    }
}

/// rl_games' `IsaacAlgoObserver` tags: `Episode/<key>` against the epoch for episode statistics,
/// `<key>/frame`, `<key>/iter` and `<key>/time` for plain scalars.
pub fn extra_scalars(extras: &[EnvExtra], epoch: u64, frame: u64, seconds: f64) -> Vec<Scalar> {
    let scalar = |tag: String, step: i64, value: f64| Scalar { tag: tag.into(), step, value };
    let mut out = Vec::new();
    for e in extras {
        match e.kind.as_enum() {
            Ok(ExtraKind::Episode) => out.push(scalar(format!("Episode/{}", e.name), epoch as i64, e.value)),
            Ok(ExtraKind::Log) => {
                out.push(scalar(format!("{}/frame", e.name), frame as i64, e.value));
                out.push(scalar(format!("{}/iter", e.name), epoch as i64, e.value));
                out.push(scalar(format!("{}/time", e.name), seconds as i64, e.value));
            }
            // A kind a later API minor added: this host does not know how to log it.
            _ => {}
        }
    }
    out
}

impl Drop for HostEnv {
    fn drop(&mut self) {
        // The last epoch's episodes and extras; errors here have nowhere to go but the console.
        if let Err(e) = self.end_epoch() {
            self.observer.print(&format!("warning: final episode statistics not recorded: {e}"));
        }
    }
}

impl VecEnv for HostEnv {
    fn info(&self) -> EnvInfo {
        self.info.clone()
    }

    fn reset(&mut self, observations: RSlice<'_, TensorView<'_>>) -> PResult<()> {
        guard(|| {
            // SAFETY: the views are valid for this call; the tensors are dropped before returning.
            let mut groups: Vec<Tensor> =
                observations.iter().map(|v| unsafe { tensor_from_view(v) }).collect::<Result<_, _>>()?;
            match &self.staging {
                None => self.env.reset(&groups)?,
                Some((_, env_out)) => {
                    self.env.reset(env_out.observations())?;
                    for (dst, src) in groups.iter_mut().zip(env_out.observations()) {
                        dst.copy_(src);
                    }
                }
            }
            self.flush_episodes()?;
            self.episodes.reset();
            self.clip_observations(&mut groups);
            Ok(())
        })
    }

    fn step(&mut self, actions: TensorView<'_>, out: StepOutput<'_>) -> PResult<()> {
        guard(|| {
            // SAFETY: the views are valid for this call; the tensors are dropped before returning.
            let (actions, mut buffers) =
                unsafe { (tensor_from_view(&actions)?, StepBuffers::from_views(&self.names, &out)?) };
            if actions.device() != self.agent_device {
                return Err(PluginError::new(
                    ErrorKind::Device,
                    format!(
                        "actions: expected device {}, got {}",
                        device_name(self.agent_device),
                        device_name(actions.device())
                    ),
                ));
            }
            self.step_tensors(&actions, &mut buffers)
        })
    }

    fn take_extras(&mut self) -> PResult<RVec<EnvExtra>> {
        // The wrapper logs the extras itself, once per epoch.
        guard(|| Ok(RVec::new()))
    }

    fn set_train_info(&mut self, frame: u64) -> PResult<()> {
        guard(|| {
            self.end_epoch()?;
            // The agent's count wins: a resumed run's episode rows continue from its checkpoint's frame.
            self.episodes.set_frame(frame);
            self.env.set_train_info(frame)
        })
    }

    fn get_state(&self) -> PResult<RVec<u8>> {
        guard(|| self.env.get_state().map(RVec::from))
    }

    fn set_state(&mut self, state: RSlice<'_, u8>) -> PResult<()> {
        guard(|| self.env.set_state(state.as_slice()))
    }

    fn close(&mut self) -> PResult<()> {
        guard(|| {
            self.end_epoch()?;
            self.env.close()
        })
    }
}
