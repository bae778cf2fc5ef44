//! The tensor-level client of a boxed [`VecEnvBox`], used by agents, players and the host.
use crate::buffers::StepBuffers;
use crate::tensor::{tch_device, ViewParts};
use rlhost_plugin_api::abi_stable::std_types::RSlice;
use rlhost_plugin_api::{EnvExtra, EnvInfo, PluginError, TensorSpec, VecEnvBox};
use tch::{Device, Tensor};

/// A boxed environment with its cached [`EnvInfo`].
pub struct EnvHandle {
    env: VecEnvBox,
    info: EnvInfo,
    device: Device,
}

impl EnvHandle {
    /// Wraps a boxed environment, reading its info once.
    pub fn new(env: VecEnvBox) -> Result<Self, PluginError> {
        let info = env.info();
        let device = tch_device(info.device)?;
        Ok(EnvHandle { env, info, device })
    }

    /// Observation groups, action space, batch size and device.
    pub fn info(&self) -> &EnvInfo {
        &self.info
    }

    /// The policy's observation spec (group `obs`, else the first).
    pub fn policy_observation(&self) -> &TensorSpec {
        self.info.policy_observation().expect("EnvHandle::new checked there is an observation group")
    }

    /// The environment's device.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Number of environments.
    pub fn num_envs(&self) -> i64 {
        self.info.num_envs as i64
    }

    /// Buffers for [`EnvHandle::step`] on the environment's device.
    pub fn step_buffers(&self) -> Result<StepBuffers, PluginError> {
        StepBuffers::new(&self.info, self.device)
    }

    /// Resets every environment into `observations` (one buffer per group, for example
    /// `buffers.observations()` of [`EnvHandle::step_buffers`]).
    pub fn reset(&mut self, observations: &[Tensor]) -> Result<(), PluginError> {
        let parts: Vec<ViewParts> = observations.iter().map(ViewParts::of).collect::<Result<_, _>>()?;
        let views: Vec<_> = parts.iter().map(ViewParts::view).collect();
        self.env.reset(RSlice::from_slice(&views)).into_result()
    }

    /// Steps with `actions` in env units, filling `out`.
    pub fn step(&mut self, actions: &Tensor, out: &StepBuffers) -> Result<(), PluginError> {
        let a = ViewParts::of(actions)?;
        let parts = out.view_parts()?;
        let observations = parts.observation_views();
        self.env.step(a.view(), parts.output(&observations)).into_result()
    }

    /// The extras reported since the last call.
    pub fn take_extras(&mut self) -> Result<Vec<EnvExtra>, PluginError> {
        self.env.take_extras().into_result().map(|v| v.into_vec())
    }

    /// Forwards the frame counter at the start of an epoch.
    pub fn set_train_info(&mut self, frame: u64) -> Result<(), PluginError> {
        self.env.set_train_info(frame).into_result()
    }

    /// The environment's checkpoint state.
    pub fn get_state(&self) -> Result<Vec<u8>, PluginError> {
        self.env.get_state().into_result().map(|v| v.into_vec())
    }

    /// Restores the environment's checkpoint state.
    pub fn set_state(&mut self, state: &[u8]) -> Result<(), PluginError> {
        self.env.set_state(state.into()).into_result()
    }

    /// Releases the simulator.
    pub fn close(&mut self) -> Result<(), PluginError> {
        self.env.close().into_result()
    }

    /// Gives the boxed environment back.
    pub fn into_inner(self) -> VecEnvBox {
        self.env
    }
}
