//! Batched environments: the `IVecEnv` surface of rl_games and Isaac Lab.
use crate::error::PResult;
use crate::space::{ActionSpace, ActionSpace_NE, AutoReset, AutoReset_NE, TensorSpec};
use crate::tensor::{DlDevice, TensorView};
use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RSlice, RString, RVec};
use abi_stable::StableAbi;

/// What an environment offers: observation groups, action space, batch size and device.
///
/// Spaces describe one environment (no batch dimension), as in Gymnasium. This struct is frozen
/// within 2.x: facts a later minor adds arrive through new [`VecEnv`] methods.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct EnvInfo {
    /// Number of environments stepped together (N).
    pub num_envs: u32,
    /// The observation groups, `obs` first; optional `states` (privileged critic input).
    pub observations: RVec<TensorSpec>,
    /// The action space of one environment.
    pub action_space: ActionSpace_NE,
    /// Number of agents per environment (1 for single-agent tasks).
    pub agents: u32,
    /// Number of reward components (1 for scalar rewards).
    pub value_size: u32,
    /// Episode step limit after which an episode is truncated (0 when none).
    pub max_episode_steps: u32,
    /// Where the environment keeps its state and expects its actions.
    pub device: DlDevice,
    /// When finished environments restart.
    pub autoreset: AutoReset_NE,
}

impl EnvInfo {
    /// The observation group called `name`, with its index in [`EnvInfo::observations`].
    pub fn observation(&self, name: &str) -> Option<(usize, &TensorSpec)> {
        self.observations.iter().enumerate().find(|(_, s)| s.name == name)
    }

    /// The policy's observations: the `obs` group, else the first one.
    pub fn policy_observation(&self) -> Option<&TensorSpec> {
        self.observation(crate::space::OBS).map(|(_, s)| s).or_else(|| self.observations.first())
    }

    /// The action space, `None` for a kind a later 2.x added.
    pub fn action_space(&self) -> Option<&ActionSpace> {
        self.action_space.as_enum().ok()
    }

    /// The bounds of a box action space.
    pub fn box_bounds(&self) -> Option<(&[f32], &[f32])> {
        match self.action_space() {
            Some(ActionSpace::Box { low, high }) => Some((low.as_slice(), high.as_slice())),
            _ => None,
        }
    }

    /// Number of action dimensions (0 for an unknown space).
    pub fn action_dim(&self) -> usize {
        self.action_space().map_or(0, ActionSpace::dim)
    }

    /// When finished environments restart, `None` for a mode a later 2.x added.
    pub fn autoreset(&self) -> Option<AutoReset> {
        self.autoreset.as_enum().ok().copied()
    }
}

/// The caller-allocated buffers that [`VecEnv::step`] fills.
///
/// Shapes: `observations[g]` (N, *spec.shape) of `EnvInfo::observations[g]`'s dtype, in the same
/// order; `rewards` (N,) float32; `terminated` and `truncated` (N,) bool. All on the env's device.
/// The callee writes into this memory; it never replaces it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct StepOutput<'a> {
    /// Next observations per group (after a same-step auto-reset).
    pub observations: RSlice<'a, TensorView<'a>>,
    /// Rewards of this step.
    pub rewards: TensorView<'a>,
    /// Episodes that ended in a terminal state.
    pub terminated: TensorView<'a>,
    /// Episodes cut by the time limit (Isaac Lab's `time_outs`).
    pub truncated: TensorView<'a>,
}

/// How an [`EnvExtra`] was measured.
#[non_exhaustive]
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u8; 8], align = u64, traits(Debug, Clone, PartialEq, Eq))))]
pub enum ExtraKind {
    /// A plain per-step scalar (a top-level scalar of rl_games' `infos`): the latest value is
    /// reported; the host writes `<name>/frame`, `<name>/iter` and `<name>/time`.
    Log,
    /// An episode statistic (Isaac Lab's `extras["log"]`, which its wrapper hands rl_games as
    /// `infos["episode"]`): the mean over the values reported in the epoch; the host writes
    /// `Episode/<name>` against the epoch.
    Episode,
    /// An addition of a later minor, visible only to hosts built with it (compatibility test).
    #[cfg(feature = "next-minor-fixture")]
    NextMinorProbe,
}

/// A named scalar an environment reports (Isaac Lab's extras).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct EnvExtra {
    /// Per step or per episode.
    pub kind: ExtraKind_NE,
    /// The key, for example `Episode_Reward/track_lin_vel`.
    pub name: RString,
    /// The latest value (`Log`) or the mean over `count` reported values (`Episode`).
    pub value: f64,
    /// How many values `value` stands for.
    pub count: u64,
}

// The trait is declared through a macro so the compatibility-test build can append a method of
// a later minor (`#[cfg]` on a single `#[sabi_trait]` method is not supported).
macro_rules! declare_vec_env {
    ($($later_methods:tt)*) => {
/// A batch of environments stepped together.
#[sabi_trait]
        pub trait VecEnv: Send {
    /// Observation groups, action space, batch size and device.
    fn info(&self) -> EnvInfo;

    /// Resets every environment and writes the first observations into `observations`
    /// (one view per group, in [`EnvInfo::observations`] order).
    fn reset(&mut self, observations: RSlice<'_, TensorView<'_>>) -> PResult<()>;

    /// Applies `actions` in environment units and fills `out`: float32 (N, A) for a box space,
    /// int64 (N,) for discrete, int64 (N, K) for multi-discrete.
    fn step(&mut self, actions: TensorView<'_>, out: StepOutput<'_>) -> PResult<()>;

    /// The extras reported since the last call (logs: latest value; episode statistics: mean
    /// and count); the host calls it once per epoch.
    fn take_extras(&mut self) -> PResult<RVec<EnvExtra>>;

    /// Called at the start of every training epoch with the frame counter (curricula).
    fn set_train_info(&mut self, frame: u64) -> PResult<()>;

    /// Serialises whatever the environment wants stored in checkpoints (may be empty).
    fn get_state(&self) -> PResult<RVec<u8>>;

    /// Restores what [`VecEnv::get_state`] produced.
    fn set_state(&mut self, state: RSlice<'_, u8>) -> PResult<()>;

    /// Releases the simulator (Gymnasium's and Isaac Lab's `close`); the env is not used after.
    // Methods added in a later 2.x go after this one, with a default body, so plugins built
    // against 2.0 stay loadable in newer hosts and newer plugins in older hosts.
    #[sabi(last_prefix_field)]
    fn close(&mut self) -> PResult<()>;

    $($later_methods)*
}

    };
}

#[cfg(not(feature = "next-minor-fixture"))]
declare_vec_env! {}

#[cfg(feature = "next-minor-fixture")]
declare_vec_env! {
    /// An addition of a later minor (compatibility test only): a 2.0 plugin lacks it and the
    /// default body answers.
    fn next_minor_probe(&self) -> u32 {
        2_000
    }
}

/// An owned, boxed environment that can cross the boundary.
pub type VecEnvBox = VecEnv_TO<'static, RBox<()>>;
