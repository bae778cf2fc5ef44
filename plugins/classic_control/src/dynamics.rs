//! The per-environment physics contract that [`crate::batch::ClassicEnv`] drives.
//!
//! A [`Dynamics`] is pure: it maps a batch of float64 states and actions to the next states,
//! rewards and terminal flags. Time limits, auto-reset, seeding and the plugin API live in
//! `batch.rs` once, for all four environments.
use tch::{Kind, Tensor};

/// What one batched physics step produces.
#[derive(Debug)]
pub struct Transition {
    /// (N, STATE_DIM) float64 next states (before any auto-reset).
    pub next_state: Tensor,
    /// (N,) float64 rewards.
    pub reward: Tensor,
    /// (N,) bool: the next state is terminal.
    pub terminated: Tensor,
}

/// Static description of one environment's spaces and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The registered name (`Pendulum-v1`).
    pub name: &'static str,
    /// Number of float64 state variables.
    pub state_dim: i64,
    /// Lower observation bounds.
    pub obs_low: Vec<f32>,
    /// Upper observation bounds.
    pub obs_high: Vec<f32>,
    /// Lower action bounds.
    pub action_low: Vec<f32>,
    /// Upper action bounds.
    pub action_high: Vec<f32>,
    /// Gymnasium's default `max_episode_steps`.
    pub max_episode_steps: u32,
}

/// Batched physics of one classic-control task; every method is a fixed number of tensor ops.
pub trait Dynamics: Send + 'static {
    /// Spaces and limits.
    fn spec() -> Spec;
    /// Initial states (N, STATE_DIM) from uniforms `u` in [0, 1) of the same shape.
    fn initial_state(u: &Tensor) -> Tensor;
    /// One step from `state` (N, STATE_DIM) float64 with `action` (N, A) float64.
    fn step(state: &Tensor, action: &Tensor) -> Transition;
    /// Observations (N, OBS_DIM) float64 of `state`, or (N, H, W, C) uint8 images when
    /// [`image_shape`](Self::image_shape) says so.
    fn observe(state: &Tensor) -> Tensor;
    /// (H, W, C) when the observations are uint8 images rather than the float vector of `spec`.
    fn image_shape() -> Option<[i64; 3]> {
        None
    }
}

/// Column `k` of a (N, D) tensor, as (N,).
pub fn col(t: &Tensor, k: i64) -> Tensor {
    t.select(1, k)
}

/// Stacks (N,) columns into (N, D).
pub fn stack(cols: &[Tensor]) -> Tensor {
    Tensor::stack(cols, 1)
}

/// `low + (high - low) * u`: maps uniforms in [0, 1) to [low, high), as numpy's `uniform`.
pub fn scale_uniform(u: &Tensor, low: f64, high: f64) -> Tensor {
    u * (high - low) + low
}

/// Rounds float64 values to the nearest float32, for states Gymnasium stores as float32.
pub fn round_f32(t: &Tensor) -> Tensor {
    t.to_kind(Kind::Float).to_kind(Kind::Double)
}
