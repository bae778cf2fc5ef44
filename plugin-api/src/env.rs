//! Batched environments: the `IVecEnv` surface of rl_games and Isaac Lab.
use crate::error::PResult;
use crate::tensor::{DlDevice, TensorView};
use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RSlice, RString, RVec};
use abi_stable::StableAbi;

/// What an environment offers: spaces, bounds, batch size and device.
///
/// Spaces describe one environment (no batch dimension), as in Gymnasium.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct EnvInfo {
    /// Number of environments stepped together (N).
    pub num_envs: u32,
    /// Shape of one observation, for example `[3]` for Pendulum.
    pub observation_shape: RVec<i64>,
    /// Lower observation bounds per element (may be `-inf`).
    pub observation_low: RVec<f32>,
    /// Upper observation bounds per element (may be `inf`).
    pub observation_high: RVec<f32>,
    /// Lower action bounds, one per action dimension.
    pub action_low: RVec<f32>,
    /// Upper action bounds, one per action dimension.
    pub action_high: RVec<f32>,
    /// Number of agents per environment (1 for single-agent tasks).
    pub agents: u32,
    /// Number of reward components (1 for scalar rewards).
    pub value_size: u32,
    /// Episode step limit after which an episode is truncated (0 when none).
    pub max_episode_steps: u32,
    /// Where the environment keeps its state and expects its actions.
    pub device: DlDevice,
    /// `same_step`: the observation returned on a done step is already the next episode's first.
    pub autoreset_mode: RString,
}

impl EnvInfo {
    /// Number of action dimensions.
    pub fn action_dim(&self) -> usize {
        self.action_low.len()
    }

    /// Number of elements in one observation.
    pub fn observation_size(&self) -> i64 {
        self.observation_shape.iter().product()
    }
}

/// The caller-allocated buffers that [`VecEnv::step`] fills.
///
/// Shapes: `obs` (N, *observation_shape) float32, `rewards` (N,) float32, `terminated` and
/// `truncated` (N,) bool. All on the environment's device.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct StepOutput<'a> {
    /// Next observations (after same-step auto-reset).
    pub obs: TensorView<'a>,
    /// Rewards of this step.
    pub rewards: TensorView<'a>,
    /// Episodes that ended in a terminal state.
    pub terminated: TensorView<'a>,
    /// Episodes cut by the time limit (Isaac Lab's `time_outs`).
    pub truncated: TensorView<'a>,
}

/// A batch of environments stepped together, with same-step auto-reset.
#[sabi_trait]
pub trait VecEnv: Send {
    /// Spaces, bounds, batch size and device.
    fn info(&self) -> EnvInfo;

    /// Resets every environment and writes the first observations into `obs`.
    fn reset(&mut self, obs: TensorView<'_>) -> PResult<()>;

    /// Applies `actions` (N, A) float32 in environment units and fills `out`.
    fn step(&mut self, actions: TensorView<'_>, out: StepOutput<'_>) -> PResult<()>;

    /// Called at the start of every training epoch with the frame counter (curricula).
    fn set_train_info(&mut self, frame: u64) -> PResult<()>;

    /// Serialises whatever the environment wants stored in checkpoints (may be empty).
    fn get_state(&self) -> PResult<RVec<u8>>;

    /// Restores what [`VecEnv::get_state`] produced.
    // Methods added in a later 1.x go after this one, so older plugins stay loadable.
    #[sabi(last_prefix_field)]
    fn set_state(&mut self, state: RSlice<'_, u8>) -> PResult<()>;
}

/// An owned, boxed environment that can cross the boundary.
pub type VecEnvBox = VecEnv_TO<'static, RBox<()>>;
