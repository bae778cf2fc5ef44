//! `CartPoleContinuous`: Gymnasium CartPole-v1's Euler dynamics with a continuous force.
//!
//! The action in [−1, 1] scales Gymnasium's ±10 N push: force = clamp(a, −1, 1) × 10.
//! Termination thresholds and the reward of 1 per step (terminal step included) follow v1.
use crate::dynamics::{col, scale_uniform, stack, Dynamics, Spec, Transition};
use tch::{Kind, Tensor};

/// The name configs use for this environment.
pub const NAME: &str = "CartPoleContinuous";

const GRAVITY: f64 = 9.8;
const MASS_CART: f64 = 1.0;
const MASS_POLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
const LENGTH: f64 = 0.5;
const POLEMASS_LENGTH: f64 = MASS_POLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
const X_THRESHOLD: f64 = 2.4;

/// The cart-pole's physics.
#[derive(Debug, Clone, Copy, Default)]
pub struct CartPole;

impl Dynamics for CartPole {
    fn spec() -> Spec {
        let high = [(X_THRESHOLD * 2.0) as f32, f32::INFINITY, (THETA_THRESHOLD * 2.0) as f32, f32::INFINITY];
        Spec {
            name: NAME,
            state_dim: 4,
            obs_low: high.iter().map(|h| -h).collect(),
            obs_high: high.to_vec(),
            action_low: vec![-1.0],
            action_high: vec![1.0],
            max_episode_steps: 500,
        }
    }

    fn initial_state(u: &Tensor) -> Tensor {
        scale_uniform(u, -0.05, 0.05)
    }

    fn step(state: &Tensor, action: &Tensor) -> Transition {
        let (x, x_dot, theta, theta_dot) = (col(state, 0), col(state, 1), col(state, 2), col(state, 3));
        let force = col(action, 0).clamp(-1.0, 1.0) * FORCE_MAG;
        let (costheta, sintheta) = (theta.cos(), theta.sin());
        let temp = (force + theta_dot.square() * &sintheta * POLEMASS_LENGTH) / TOTAL_MASS;
        let thetaacc = (&sintheta * GRAVITY - &costheta * &temp)
            / ((costheta.square() * (MASS_POLE / TOTAL_MASS)).neg() + 4.0 / 3.0)
            / LENGTH;
        let xacc = temp - &thetaacc * &costheta * (POLEMASS_LENGTH / TOTAL_MASS);
        let next =
            stack(&[&x + &x_dot * TAU, &x_dot + xacc * TAU, &theta + &theta_dot * TAU, &theta_dot + thetaacc * TAU]);
        let (nx, ntheta) = (col(&next, 0), col(&next, 2));
        let terminated = nx.abs().gt(X_THRESHOLD).logical_or(&ntheta.abs().gt(THETA_THRESHOLD));
        let reward = terminated.ones_like().to_kind(Kind::Double);
        Transition { next_state: next, reward, terminated }
    }

    fn observe(state: &Tensor) -> Tensor {
        state.shallow_clone()
    }
}
