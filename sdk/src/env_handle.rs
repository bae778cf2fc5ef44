//! The tensor-level client of a boxed [`VecEnvBox`], used by agents, players and the host.
use crate::tensor::{tch_device, tensor_from_view, ViewParts};
use rlhost_plugin_api::{EnvInfo, PluginError, StepOutput, VecEnvBox};
use tch::{Device, Kind, Tensor};

/// The buffers one environment step fills, allocated once by the caller and reused.
#[derive(Debug)]
pub struct StepTensors {
    /// (N, *obs_shape) float32.
    pub obs: Tensor,
    /// (N,) float32.
    pub rewards: Tensor,
    /// (N,) bool.
    pub terminated: Tensor,
    /// (N,) bool.
    pub truncated: Tensor,
}

impl StepTensors {
    /// Zeroed buffers for `info` on `device`.
    pub fn new(info: &EnvInfo, device: Device) -> Self {
        let n = info.num_envs as i64;
        let mut obs_shape = vec![n];
        obs_shape.extend(info.observation_shape.iter());
        StepTensors {
            obs: Tensor::zeros(obs_shape, (Kind::Float, device)),
            rewards: Tensor::zeros([n], (Kind::Float, device)),
            terminated: Tensor::zeros([n], (Kind::Bool, device)),
            truncated: Tensor::zeros([n], (Kind::Bool, device)),
        }
    }

    /// Wraps the step buffers a caller passed as views, without copying.
    ///
    /// # Safety
    /// The views must be valid for the current call, and the tensors must be dropped before it returns.
    pub unsafe fn from_views(out: &StepOutput<'_>) -> Result<Self, PluginError> {
        Ok(StepTensors {
            obs: tensor_from_view(&out.obs)?,
            rewards: tensor_from_view(&out.rewards)?,
            terminated: tensor_from_view(&out.terminated)?,
            truncated: tensor_from_view(&out.truncated)?,
        })
    }

    /// `terminated | truncated`.
    pub fn dones(&self) -> Tensor {
        self.terminated.logical_or(&self.truncated)
    }
}

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

    /// Spaces, bounds, batch size and device.
    pub fn info(&self) -> &EnvInfo {
        &self.info
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
    pub fn step_buffers(&self) -> StepTensors {
        StepTensors::new(&self.info, self.device)
    }

    /// Resets every environment into `obs`.
    pub fn reset(&mut self, obs: &Tensor) -> Result<(), PluginError> {
        let parts = ViewParts::of(obs)?;
        self.env.reset(parts.view()).into_result()
    }

    /// Steps with `actions` (N, A) float32 in env units, filling `out`.
    pub fn step(&mut self, actions: &Tensor, out: &StepTensors) -> Result<(), PluginError> {
        let a = ViewParts::of(actions)?;
        let (o, r, te, tr) = (
            ViewParts::of(&out.obs)?,
            ViewParts::of(&out.rewards)?,
            ViewParts::of(&out.terminated)?,
            ViewParts::of(&out.truncated)?,
        );
        let output = StepOutput { obs: o.view(), rewards: r.view(), terminated: te.view(), truncated: tr.view() };
        self.env.step(a.view(), output).into_result()
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

    /// Gives the boxed environment back.
    pub fn into_inner(self) -> VecEnvBox {
        self.env
    }
}
