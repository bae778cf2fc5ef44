//! `AcrobotContinuous`: Gymnasium Acrobot-v1 ("book" dynamics) with a continuous torque.
//!
//! The action in [−1, 1] is the torque on the second joint (Acrobot-v1 offers −1, 0, +1).
//! One step integrates dt = 0.2 with a single RK4 stage as Gymnasium's `rk4(…, [0, dt])` does,
//! then wraps both angles to [−π, π] and bounds the velocities. Reward −1 per step, 0 on the
//! step that reaches the goal height (terminated).
use crate::dynamics::{col, round_f32, scale_uniform, stack, Dynamics, Spec, Transition};
use std::f64::consts::PI;
use tch::{Kind, Tensor};

/// The name configs use for this environment.
pub const NAME: &str = "AcrobotContinuous";

const DT: f64 = 0.2;
const L1: f64 = 1.0;
const M1: f64 = 1.0;
const M2: f64 = 1.0;
const LC1: f64 = 0.5;
const LC2: f64 = 0.5;
const I1: f64 = 1.0;
const I2: f64 = 1.0;
const G: f64 = 9.8;
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;

/// The acrobot's physics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Acrobot;

/// Gymnasium's `_dsdt` ("book" variant): d/dt of (θ1, θ2, θ̇1, θ̇2) under torque `a` (N,).
fn derivatives(s: &Tensor, a: &Tensor) -> Tensor {
    let (theta1, theta2, dtheta1, dtheta2) = (col(s, 0), col(s, 1), col(s, 2), col(s, 3));
    let (cos2, sin2) = (theta2.cos(), theta2.sin());
    let d1 = &cos2 * (M2 * 2.0 * L1 * LC2) + (M1 * LC1 * LC1 + M2 * (L1 * L1 + LC2 * LC2) + I1 + I2);
    let d2 = &cos2 * (M2 * L1 * LC2) + (M2 * LC2 * LC2 + I2);
    let phi2 = (&theta1 + &theta2 - PI / 2.0).cos() * (M2 * LC2 * G);
    let phi1 = dtheta2.square() * &sin2 * (-M2 * L1 * LC2) - &dtheta2 * &dtheta1 * &sin2 * (2.0 * M2 * L1 * LC2)
        + (&theta1 - PI / 2.0).cos() * ((M1 * LC1 + M2 * L1) * G)
        + &phi2;
    let ddtheta2 = (a + &d2 / &d1 * &phi1 - dtheta1.square() * &sin2 * (M2 * L1 * LC2) - phi2)
        / ((d2.square() / &d1).neg() + (M2 * LC2 * LC2 + I2));
    let ddtheta1 = (&d2 * &ddtheta2 + phi1).neg() / d1;
    stack(&[dtheta1, dtheta2, ddtheta1, ddtheta2])
}

/// Gymnasium's `wrap(x, m, M)`: shifts by whole periods into [m, M] (its while loops, batched).
fn wrap(x: &Tensor, m: f64, big_m: f64) -> Tensor {
    let diff = big_m - m;
    let above = ((x - big_m) / diff).ceil().clamp_min(0.0);
    let x = x - above * diff;
    let below = ((x.neg() + m) / diff).ceil().clamp_min(0.0);
    x + below * diff
}

impl Dynamics for Acrobot {
    fn spec() -> Spec {
        let high = [1.0, 1.0, 1.0, 1.0, MAX_VEL_1 as f32, MAX_VEL_2 as f32];
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
        // Gymnasium draws the initial state as float32.
        round_f32(&scale_uniform(u, -0.1, 0.1))
    }

    fn step(state: &Tensor, action: &Tensor) -> Transition {
        let torque = col(action, 0).clamp(-1.0, 1.0);
        let dt2 = DT / 2.0;
        let k1 = derivatives(state, &torque);
        let k2 = derivatives(&(state + &k1 * dt2), &torque);
        let k3 = derivatives(&(state + &k2 * dt2), &torque);
        let k4 = derivatives(&(state + &k3 * DT), &torque);
        let ns = state + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (DT / 6.0);
        let (theta1, theta2) = (wrap(&col(&ns, 0), -PI, PI), wrap(&col(&ns, 1), -PI, PI));
        let dtheta1 = col(&ns, 2).clamp(-MAX_VEL_1, MAX_VEL_1);
        let dtheta2 = col(&ns, 3).clamp(-MAX_VEL_2, MAX_VEL_2);
        let terminated = (theta1.cos().neg() - (&theta2 + &theta1).cos()).gt(1.0);
        let reward = terminated.to_kind(Kind::Double) - 1.0;
        Transition { next_state: stack(&[theta1, theta2, dtheta1, dtheta2]), reward, terminated }
    }

    fn observe(state: &Tensor) -> Tensor {
        let (theta1, theta2) = (col(state, 0), col(state, 1));
        stack(&[theta1.cos(), theta1.sin(), theta2.cos(), theta2.sin(), col(state, 2), col(state, 3)])
    }
}
