//! `MountainCarContinuous-v0`: Gymnasium's continuous mountain car, batched.
//!
//! State (position, velocity); Gymnasium keeps it as float32, so each step rounds the new
//! velocity and position to float32 where Gymnasium does, which keeps long rollouts (and the
//! `position == min_position` wall check) bit-compatible with it while the tensor stays float64.
use crate::dynamics::{col, round_f32, scale_uniform, stack, Dynamics, Spec, Transition};
use tch::{Kind, Tensor};

/// The name configs use for this environment.
pub const NAME: &str = "MountainCarContinuous-v0";

const MIN_POSITION: f64 = -1.2;
const MAX_POSITION: f64 = 0.6;
const MAX_SPEED: f64 = 0.07;
const GOAL_POSITION: f64 = 0.45;
const GOAL_VELOCITY: f64 = 0.0;
const POWER: f64 = 0.0015;

/// The mountain car's physics.
#[derive(Debug, Clone, Copy, Default)]
pub struct MountainCar;

impl Dynamics for MountainCar {
    fn spec() -> Spec {
        Spec {
            name: NAME,
            state_dim: 2,
            obs_low: vec![MIN_POSITION as f32, -MAX_SPEED as f32],
            obs_high: vec![MAX_POSITION as f32, MAX_SPEED as f32],
            action_low: vec![-1.0],
            action_high: vec![1.0],
            max_episode_steps: 999,
        }
    }

    fn initial_state(u: &Tensor) -> Tensor {
        let position = scale_uniform(&col(u, 0), -0.6, -0.4);
        let velocity = position.zeros_like();
        stack(&[position, velocity])
    }

    fn step(state: &Tensor, action: &Tensor) -> Transition {
        let (position, velocity) = (col(state, 0), col(state, 1));
        let raw = col(action, 0);
        let force = raw.clamp(-1.0, 1.0);
        let velocity =
            round_f32(&(velocity + force * POWER - (&position * 3.0).cos() * 0.0025)).clamp(-MAX_SPEED, MAX_SPEED);
        let position = round_f32(&(position + &velocity)).clamp(MIN_POSITION, MAX_POSITION);
        // An inelastic wall on the left: the car stops there.
        let at_wall = position.eq(MIN_POSITION).logical_and(&velocity.lt(0.0));
        let velocity = velocity.masked_fill(&at_wall, 0.0);
        let terminated = position.ge(GOAL_POSITION).logical_and(&velocity.ge(GOAL_VELOCITY));
        // Gymnasium charges the unclipped action.
        let reward = terminated.to_kind(Kind::Double) * 100.0 - raw.square() * 0.1;
        Transition { next_state: round_f32(&stack(&[position, velocity])), reward, terminated }
    }

    fn observe(state: &Tensor) -> Tensor {
        state.shallow_clone()
    }
}
