//! Plain-Rust traits for plugin objects, and adapters exposing them through the ABI-stable
//! traits with every call under [`guard`](crate::guard).
use crate::env_handle::StepTensors;
use crate::guard::guard;
use crate::tensor::{check_view, tensor_from_view};
use rlhost_plugin_api::abi_stable::sabi_trait::TD_Opaque;
use rlhost_plugin_api::abi_stable::std_types::{RSlice, RStr, RVec};
use rlhost_plugin_api::{
    Agent, AgentBox, Agent_TO, DlDataType, EnvInfo, ErrorKind, PResult, PlayStats, Player, PlayerBox, Player_TO,
    PluginError, SigmaOverride, StepOutput, TensorView, TrainSummary, VecEnv, VecEnvBox, VecEnv_TO,
};
use std::path::Path;
use tch::Tensor;

/// The error for a builder name the plugin does not offer, listing the ones it does.
pub fn unknown_builder(kind: &str, name: &str, known: &[&str]) -> PluginError {
    let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    PluginError::new(ErrorKind::NotFound, format!("unknown {kind} '{name}' (known: {known})"))
}

/// A batched environment written against tch tensors.
pub trait NativeVecEnv: Send + 'static {
    /// Spaces, bounds, batch size and device; read once by the adapter.
    fn info(&self) -> EnvInfo;
    /// Writes the first observations of every environment into `obs`.
    fn reset(&mut self, obs: &mut Tensor) -> Result<(), PluginError>;
    /// Applies `actions` (already checked for shape, dtype and device) and fills `out`.
    fn step(&mut self, actions: &Tensor, out: &mut StepTensors) -> Result<(), PluginError>;
    /// Curriculum hook called at every epoch start.
    fn set_train_info(&mut self, _frame: u64) -> Result<(), PluginError> {
        Ok(())
    }
    /// State stored in checkpoints.
    fn get_state(&self) -> Result<Vec<u8>, PluginError> {
        Ok(Vec::new())
    }
    /// Restores [`NativeVecEnv::get_state`]'s output.
    fn set_state(&mut self, _state: &[u8]) -> Result<(), PluginError> {
        Ok(())
    }
}

struct EnvAdapter<E> {
    env: E,
    info: EnvInfo,
    action_shape: [i64; 2],
    obs_shape: Vec<i64>,
    flag_shape: [i64; 1],
}

impl<E: NativeVecEnv> VecEnv for EnvAdapter<E> {
    fn info(&self) -> EnvInfo {
        self.info.clone()
    }

    fn reset(&mut self, obs: TensorView<'_>) -> PResult<()> {
        guard(|| {
            check_view("observation buffer", &obs, DlDataType::F32, &self.obs_shape, self.info.device)?;
            // SAFETY: the view is valid for this call and the tensor is dropped before returning.
            let mut obs = unsafe { tensor_from_view(&obs)? };
            self.env.reset(&mut obs)
        })
    }

    fn step(&mut self, actions: TensorView<'_>, out: StepOutput<'_>) -> PResult<()> {
        guard(|| {
            let device = self.info.device;
            check_view("actions", &actions, DlDataType::F32, &self.action_shape, device)?;
            check_view("observation buffer", &out.obs, DlDataType::F32, &self.obs_shape, device)?;
            check_view("reward buffer", &out.rewards, DlDataType::F32, &self.flag_shape, device)?;
            check_view("terminated buffer", &out.terminated, DlDataType::BOOL, &self.flag_shape, device)?;
            check_view("truncated buffer", &out.truncated, DlDataType::BOOL, &self.flag_shape, device)?;
            // SAFETY: every view is valid for this call; the tensors are dropped before returning.
            let (actions, mut buffers) = unsafe { (tensor_from_view(&actions)?, StepTensors::from_views(&out)?) };
            self.env.step(&actions, &mut buffers)
        })
    }

    fn set_train_info(&mut self, frame: u64) -> PResult<()> {
        guard(|| self.env.set_train_info(frame))
    }

    fn get_state(&self) -> PResult<RVec<u8>> {
        guard(|| self.env.get_state().map(RVec::from))
    }

    fn set_state(&mut self, state: RSlice<'_, u8>) -> PResult<()> {
        guard(|| self.env.set_state(state.as_slice()))
    }
}

/// Boxes an environment for the boundary.
pub fn vec_env_box<E: NativeVecEnv>(env: E) -> VecEnvBox {
    let info = env.info();
    let n = info.num_envs as i64;
    let mut obs_shape = vec![n];
    obs_shape.extend(info.observation_shape.iter());
    let action_shape = [n, info.action_dim() as i64];
    VecEnv_TO::from_value(EnvAdapter { env, info, action_shape, obs_shape, flag_shape: [n] }, TD_Opaque)
}

/// A training algorithm written in plain Rust.
pub trait NativeAgent: Send + 'static {
    /// Trains until a stop condition.
    fn train(&mut self) -> Result<TrainSummary, PluginError>;
    /// Restores from a checkpoint.
    fn restore(&mut self, path: &Path) -> Result<(), PluginError>;
    /// Saves a checkpoint atomically.
    fn save(&mut self, path: &Path) -> Result<(), PluginError>;
    /// Applies a `--sigma` override.
    fn set_sigma(&mut self, sigma: f32) -> Result<SigmaOverride, PluginError>;
}

struct AgentAdapter<A>(A);

impl<A: NativeAgent> Agent for AgentAdapter<A> {
    fn train(&mut self) -> PResult<TrainSummary> {
        guard(|| self.0.train())
    }
    fn restore(&mut self, path: RStr<'_>) -> PResult<()> {
        guard(|| self.0.restore(Path::new(path.as_str())))
    }
    fn save(&mut self, path: RStr<'_>) -> PResult<()> {
        guard(|| self.0.save(Path::new(path.as_str())))
    }
    fn set_sigma(&mut self, sigma: f32) -> PResult<SigmaOverride> {
        guard(|| self.0.set_sigma(sigma))
    }
}

/// Boxes an agent for the boundary.
pub fn agent_box<A: NativeAgent>(agent: A) -> AgentBox {
    Agent_TO::from_value(AgentAdapter(agent), TD_Opaque)
}

/// An inference player written in plain Rust.
pub trait NativePlayer: Send + 'static {
    /// Restores from a checkpoint.
    fn restore(&mut self, path: &Path) -> Result<(), PluginError>;
    /// Applies a `--sigma` override.
    fn set_sigma(&mut self, sigma: f32) -> Result<SigmaOverride, PluginError>;
    /// Plays the configured number of games.
    fn run(&mut self) -> Result<PlayStats, PluginError>;
    /// One policy step: `obs` (N, D) in, env-unit actions written into `actions` (N, A).
    fn act(&mut self, obs: &Tensor, actions: &mut Tensor, deterministic: bool) -> Result<(), PluginError>;
}

struct PlayerAdapter<P>(P);

impl<P: NativePlayer> Player for PlayerAdapter<P> {
    fn restore(&mut self, path: RStr<'_>) -> PResult<()> {
        guard(|| self.0.restore(Path::new(path.as_str())))
    }
    fn set_sigma(&mut self, sigma: f32) -> PResult<SigmaOverride> {
        guard(|| self.0.set_sigma(sigma))
    }
    fn run(&mut self) -> PResult<PlayStats> {
        guard(|| self.0.run())
    }
    fn act(&mut self, obs: TensorView<'_>, actions: TensorView<'_>, deterministic: bool) -> PResult<()> {
        guard(|| {
            // SAFETY: both views are valid for this call; the tensors are dropped before returning.
            let (obs, mut actions) = unsafe { (tensor_from_view(&obs)?, tensor_from_view(&actions)?) };
            self.0.act(&obs, &mut actions, deterministic)
        })
    }
}

/// Boxes a player for the boundary.
pub fn player_box<P: NativePlayer>(player: P) -> PlayerBox {
    Player_TO::from_value(PlayerAdapter(player), TD_Opaque)
}
