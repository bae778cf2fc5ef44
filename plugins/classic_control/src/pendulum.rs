//! `Pendulum-v1`: Gymnasium's inverted pendulum swing-up, batched.
//!
//! State (θ, θ̇) float64; observation (cos θ, sin θ, θ̇); action a torque in [−2, 2].
use crate::dynamics::{col, scale_uniform, stack, Dynamics, Spec, Transition};
use std::f64::consts::PI;
use tch::{Kind, Tensor};

/// The name configs use for this environment.
pub const NAME: &str = "Pendulum-v1";

const G: f64 = 10.0;
const M: f64 = 1.0;
const L: f64 = 1.0;
const DT: f64 = 0.05;
const MAX_SPEED: f64 = 8.0;
const MAX_TORQUE: f64 = 2.0;

/// The pendulum's physics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pendulum;

/// `((x + π) mod 2π) − π` with a floored modulo, as numpy's `%`.
fn angle_normalize(x: &Tensor) -> Tensor {
    (x + PI).remainder(2.0 * PI) - PI
}

impl Dynamics for Pendulum {
    fn spec() -> Spec {
        Spec {
            name: NAME,
            state_dim: 2,
            obs_low: vec![-1.0, -1.0, -MAX_SPEED as f32],
            obs_high: vec![1.0, 1.0, MAX_SPEED as f32],
            action_low: vec![-MAX_TORQUE as f32],
            action_high: vec![MAX_TORQUE as f32],
            max_episode_steps: 200,
        }
    }

    fn initial_state(u: &Tensor) -> Tensor {
        stack(&[scale_uniform(&col(u, 0), -PI, PI), scale_uniform(&col(u, 1), -1.0, 1.0)])
    }

    fn step(state: &Tensor, action: &Tensor) -> Transition {
        let (th, thdot) = (col(state, 0), col(state, 1));
        // Gymnasium receives a float32 action, and under numpy 2's promotion rules `0.001 * u**2`
        // and `3.0 / (m l²) * u` are float32 products added to float64 terms: the same precision
        // here keeps trajectories bit for bit equal to Gymnasium's.
        let u = col(action, 0).to_kind(Kind::Float).clamp(-MAX_TORQUE, MAX_TORQUE);
        let u_cost = (&u * &u * 0.001).to_kind(Kind::Double);
        let u_accel = (&u * (3.0 / (M * L * L))).to_kind(Kind::Double);
        let costs = angle_normalize(&th).square() + thdot.square() * 0.1 + u_cost;
        let newthdot = (thdot + (th.sin() * (3.0 * G / (2.0 * L)) + u_accel) * DT).clamp(-MAX_SPEED, MAX_SPEED);
        let newth = th + &newthdot * DT;
        let terminated = costs.zeros_like().to_kind(Kind::Bool);
        Transition { next_state: stack(&[newth, newthdot]), reward: -costs, terminated }
    }

    fn observe(state: &Tensor) -> Tensor {
        let th = col(state, 0);
        stack(&[th.cos(), th.sin(), col(state, 1)])
    }
}
