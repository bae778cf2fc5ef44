//! Plain-Rust traits for plugin objects, and adapters exposing them through the ABI-stable
//! traits with every call under [`guard`](crate::guard).
use crate::buffers::{BufferIdentities, StepBuffers};
use crate::guard::guard;
use crate::tensor::{check_view, kind_of, tensor_from_view};
use rlhost_plugin_api::abi_stable::sabi_trait::TD_Opaque;
use rlhost_plugin_api::abi_stable::std_types::{RSlice, RStr, RVec};
use rlhost_plugin_api::{
    ActionSpace, Agent, AgentBox, Agent_TO, DlDataType, EnvExtra, EnvInfo, ErrorKind, PResult, PhaseTime, PlayStats,
    Player, PlayerBox, Player_TO, PluginError, SigmaOverride, SigmaOverride_NE, StepOutput, TensorView, TrainSummary,
    VecEnv, VecEnvBox, VecEnv_TO,
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
    /// Observation groups, action space, batch size and device; read once by the adapter.
    fn info(&self) -> EnvInfo;
    /// Writes the first observations of every environment into `observations` (one per group).
    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError>;
    /// Applies `actions` (already checked for shape, dtype and device) and fills `out`.
    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError>;
    /// The extras since the last call (see [`crate::ExtrasCollector`]).
    fn take_extras(&mut self) -> Result<Vec<EnvExtra>, PluginError> {
        Ok(Vec::new())
    }
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
    /// Releases the simulator.
    fn close(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
}

/// The dtype and shape the actions of a batch of `n` environments have in `space`.
pub fn action_layout(space: Option<&ActionSpace>, n: i64) -> Result<(DlDataType, Vec<i64>), PluginError> {
    match space {
        Some(ActionSpace::Box { low, .. }) => Ok((DlDataType::F32, vec![n, low.len() as i64])),
        Some(ActionSpace::Discrete { .. }) => Ok((DlDataType::I64, vec![n])),
        Some(ActionSpace::MultiDiscrete { nvec }) => Ok((DlDataType::I64, vec![n, nvec.len() as i64])),
        _ => Err(PluginError::new(ErrorKind::Unsupported, "action space of a later plugin API minor")),
    }
}

struct EnvAdapter<E> {
    env: E,
    info: EnvInfo,
    names: std::sync::Arc<[String]>,
    obs_shapes: Vec<(DlDataType, Vec<i64>)>,
    action: (DlDataType, Vec<i64>),
    flag_shape: [i64; 1],
}

impl<E: NativeVecEnv> EnvAdapter<E> {
    fn check_observations(&self, views: &[TensorView<'_>]) -> Result<(), PluginError> {
        if views.len() != self.obs_shapes.len() {
            return Err(PluginError::new(
                ErrorKind::Shape,
                format!(
                    "expected {} observation buffers ({}), got {}",
                    self.names.len(),
                    self.names.join(", "),
                    views.len()
                ),
            ));
        }
        for ((view, (dtype, shape)), name) in views.iter().zip(&self.obs_shapes).zip(self.names.iter()) {
            check_view(&format!("observation buffer '{name}'"), view, *dtype, shape, self.info.device)?;
        }
        Ok(())
    }

    fn who(&self) -> &'static str {
        "the environment"
    }
}

impl<E: NativeVecEnv> VecEnv for EnvAdapter<E> {
    fn info(&self) -> EnvInfo {
        self.info.clone()
    }

    fn reset(&mut self, observations: RSlice<'_, TensorView<'_>>) -> PResult<()> {
        guard(|| {
            self.check_observations(observations.as_slice())?;
            // SAFETY: every view is valid for this call; the tensors are dropped before returning.
            let mut obs: Vec<Tensor> =
                observations.iter().map(|v| unsafe { tensor_from_view(v) }).collect::<Result<_, _>>()?;
            let before = BufferIdentities::of(&obs);
            self.env.reset(&mut obs)?;
            before.check(&BufferIdentities::of(&obs), self.who(), |i| format!("observations '{}'", self.names[i]))
        })
    }

    fn step(&mut self, actions: TensorView<'_>, out: StepOutput<'_>) -> PResult<()> {
        guard(|| {
            let device = self.info.device;
            check_view("actions", &actions, self.action.0, &self.action.1, device)?;
            self.check_observations(out.observations.as_slice())?;
            check_view("reward buffer", &out.rewards, DlDataType::F32, &self.flag_shape, device)?;
            check_view("terminated buffer", &out.terminated, DlDataType::BOOL, &self.flag_shape, device)?;
            check_view("truncated buffer", &out.truncated, DlDataType::BOOL, &self.flag_shape, device)?;
            // SAFETY: every view is valid for this call; the tensors are dropped before returning.
            let (actions, mut buffers) =
                unsafe { (tensor_from_view(&actions)?, StepBuffers::from_views(&self.names, &out)?) };
            let before = buffers.identities();
            self.env.step(&actions, &mut buffers)?;
            buffers.check_unchanged(&before, self.who())
        })
    }

    fn take_extras(&mut self) -> PResult<RVec<EnvExtra>> {
        guard(|| self.env.take_extras().map(RVec::from))
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

    fn close(&mut self) -> PResult<()> {
        guard(|| self.env.close())
    }
}

/// Boxes an environment for the boundary; fails when its info cannot describe buffers.
pub fn vec_env_box<E: NativeVecEnv>(env: E) -> Result<VecEnvBox, PluginError> {
    let info = env.info();
    let n = info.num_envs as i64;
    if info.observations.is_empty() {
        return Err(PluginError::new(ErrorKind::Shape, "the environment declares no observation group"));
    }
    let obs_shapes = info
        .observations
        .iter()
        .map(|s| {
            kind_of(s.dtype).ok_or_else(|| {
                PluginError::new(ErrorKind::Shape, format!("observation '{}': unsupported dtype {}", s.name, s.dtype))
            })?;
            let mut shape = vec![n];
            shape.extend(s.shape.iter());
            Ok((s.dtype, shape))
        })
        .collect::<Result<Vec<_>, PluginError>>()?;
    let action = action_layout(info.action_space(), n)?;
    let names = crate::buffers::group_names(&info);
    Ok(VecEnv_TO::from_value(EnvAdapter { env, info, names, obs_shapes, action, flag_shape: [n] }, TD_Opaque))
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
    /// Cumulative seconds per phase (`env_step`, `inference`, `gae`, `update`, `total`) and the
    /// number of `epochs` they cover.
    fn phase_times(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
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
    fn set_sigma(&mut self, sigma: f32) -> PResult<SigmaOverride_NE> {
        guard(|| self.0.set_sigma(sigma).map(SigmaOverride_NE::new))
    }
    fn phase_times(&self) -> RVec<PhaseTime> {
        // A panic here is not expected; it must still not unwind into the host.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.phase_times()))
            .unwrap_or_default()
            .into_iter()
            .map(|(phase, seconds)| PhaseTime { phase: phase.into(), seconds })
            .collect()
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
    /// One policy step: `obs` (N, *obs_shape) in, env-unit actions written into `actions`.
    fn act(&mut self, obs: &Tensor, actions: &mut Tensor, deterministic: bool) -> Result<(), PluginError>;
    /// Writes the deterministic policy as ONNX; players without an exporter keep this default.
    fn export_onnx(&mut self, _path: &Path, _options_json: &str) -> Result<(), PluginError> {
        Err(PluginError::new(ErrorKind::Unsupported, "this player does not support export"))
    }
}

struct PlayerAdapter<P>(P);

impl<P: NativePlayer> Player for PlayerAdapter<P> {
    fn restore(&mut self, path: RStr<'_>) -> PResult<()> {
        guard(|| self.0.restore(Path::new(path.as_str())))
    }
    fn set_sigma(&mut self, sigma: f32) -> PResult<SigmaOverride_NE> {
        guard(|| self.0.set_sigma(sigma).map(SigmaOverride_NE::new))
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
    fn export_onnx(&mut self, path: RStr<'_>, options_json: RStr<'_>) -> PResult<()> {
        guard(|| self.0.export_onnx(Path::new(path.as_str()), options_json.as_str()))
    }
}

/// Boxes a player for the boundary.
pub fn player_box<P: NativePlayer>(player: P) -> PlayerBox {
    Player_TO::from_value(PlayerAdapter(player), TD_Opaque)
}
