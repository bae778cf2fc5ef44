//! Training agents and inference players.
use crate::error::PResult;
use crate::tensor::TensorView;
use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RStr};
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
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigmaOverride {
    /// The fixed (log-std) sigma parameter was set.
    Applied,
    /// The network has a state-dependent sigma; nothing was changed.
    NotFixed,
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
    // Methods added in a later 1.x go after this one, so older plugins stay loadable.
    #[sabi(last_prefix_field)]
    fn set_sigma(&mut self, sigma: f32) -> PResult<SigmaOverride>;
}

/// A policy restored from a checkpoint, for evaluation and deployment.
#[sabi_trait]
pub trait Player: Send {
    /// Restores the policy from a checkpoint file.
    fn restore(&mut self, path: RStr<'_>) -> PResult<()>;

    /// Sets a fixed sigma parameter, as [`Agent::set_sigma`].
    fn set_sigma(&mut self, sigma: f32) -> PResult<SigmaOverride>;

    /// Plays `games_num` games in the environment it was built with.
    fn run(&mut self) -> PResult<PlayStats>;

    /// One policy step: reads `obs` (N, D) and writes env-unit actions into `actions` (N, A).
    // Methods added in a later 1.x go after this one, so older plugins stay loadable.
    #[sabi(last_prefix_field)]
    fn act(&mut self, obs: TensorView<'_>, actions: TensorView<'_>, deterministic: bool) -> PResult<()>;
}

/// An owned, boxed agent.
pub type AgentBox = Agent_TO<'static, RBox<()>>;
/// An owned, boxed player.
pub type PlayerBox = Player_TO<'static, RBox<()>>;
