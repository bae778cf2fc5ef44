//! Training agents and inference players.
use crate::error::PResult;
use crate::tensor::TensorView;
use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RStr, RString, RVec};
use abi_stable::StableAbi;

/// The outcome of [`Agent::train`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq)]
pub struct TrainSummary {
    /// Best mean episode return seen (`-inf` when no episode finished).
    pub best_reward: f64,
    /// The last epoch run (1-based).
    pub epoch: u64,
    /// Frames collected in total.
    pub frame: u64,
    /// Whether training stopped because the host asked (Ctrl-C).
    pub interrupted: bool,
}

/// The outcome of [`Player::run`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq)]
pub struct PlayStats {
    /// Games finished.
    pub games: u64,
    /// Mean return per game.
    pub mean_reward: f64,
    /// Mean steps per game.
    pub mean_steps: f64,
}

/// What a `--sigma` override did.
#[non_exhaustive]
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u8; 8], align = u64, traits(Debug, Clone, PartialEq, Eq))))]
pub enum SigmaOverride {
    /// The fixed (log-std) sigma parameter was set.
    Applied,
    /// The network has a state-dependent sigma; nothing was changed.
    NotFixed,
}

/// Cumulative wall time of one phase of training, for `rlhost bench`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PhaseTime {
    /// The phase: `env_step`, `inference`, `gae`, `update`, `total` (an algorithm may add others).
    pub phase: RString,
    /// Seconds spent in it since the agent was built.
    pub seconds: f64,
}

/// A training algorithm instance, bound to its environment and observer.
#[sabi_trait]
pub trait Agent: Send {
    /// Runs training until a stop condition; checkpoints go to the run's `nn/` folder.
    fn train(&mut self) -> PResult<TrainSummary>;

    /// Restores weights, optimiser, normalisers and counters from a checkpoint file.
    fn restore(&mut self, path: RStr<'_>) -> PResult<()>;

    /// Writes a checkpoint to `path` atomically.
    fn save(&mut self, path: RStr<'_>) -> PResult<()>;

    /// Sets every element of a fixed sigma parameter (a log-std under rl_games' `exp`).
    fn set_sigma(&mut self, sigma: f32) -> PResult<SigmaOverride_NE>;

    /// Cumulative time per phase since construction (epochs run: the `epochs` entry).
    // Methods added in a later 2.x go after this one, with a default body.
    #[sabi(last_prefix_field)]
    fn phase_times(&self) -> RVec<PhaseTime>;
}

/// A policy restored from a checkpoint, for evaluation and deployment.
#[sabi_trait]
pub trait Player: Send {
    /// Restores the policy from a checkpoint file.
    fn restore(&mut self, path: RStr<'_>) -> PResult<()>;

    /// Sets a fixed sigma parameter, as [`Agent::set_sigma`].
    fn set_sigma(&mut self, sigma: f32) -> PResult<SigmaOverride_NE>;

    /// Plays `games_num` games in the environment it was built with.
    fn run(&mut self) -> PResult<PlayStats>;

    /// One policy step: reads the policy observations `obs` (N, *obs_shape) and writes
    /// environment-unit actions into `actions`.
    fn act(&mut self, obs: TensorView<'_>, actions: TensorView<'_>, deterministic: bool) -> PResult<()>;

    /// Writes the deterministic policy as an ONNX file at `path`; `options_json` is a JSON object
    /// of exporter options. A player that cannot export answers [`crate::ErrorKind::Unsupported`].
    // Methods added in a later 2.x go after this one, with a default body.
    #[sabi(last_prefix_field)]
    fn export_onnx(&mut self, path: RStr<'_>, options_json: RStr<'_>) -> PResult<()>;
}

/// An owned, boxed agent.
pub type AgentBox = Agent_TO<'static, RBox<()>>;
/// An owned, boxed player.
pub type PlayerBox = Player_TO<'static, RBox<()>>;
