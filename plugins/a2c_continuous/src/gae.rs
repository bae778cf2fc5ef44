//! Generalised advantage estimation (docs/rl_games.md §4.5), a backward scan over the horizon.
//!
//! Inputs are (H, N) float32: shaped rewards `r`, de-normalised values `v`, stored dones `d`
//! (row t = done produced by step t−1, so `d[0]` is never read), plus `v_H` = last values and
//! `d_H` = last dones (N,). With `A_H = 0`, for t = H−1 … 0:
//! ```text
//! m_{t+1} = 1 − d_{t+1}
//! δ_t     = r_t + γ·v_{t+1}·m_{t+1} − v_t
//! A_t     = δ_t + γ·λ·m_{t+1}·A_{t+1}
//! ```
//! Two implementations with the same float32 arithmetic: a tensor loop on (N,) rows (any device)
//! and a plain loop over host memory (CPU tensors), which avoids 5·H small kernel calls.
use tch::{Device, Kind, Tensor};

/// Advantages (H, N) on the inputs' device.
pub fn compute_gae(
    rewards: &Tensor,
    values: &Tensor,
    dones: &Tensor,
    last_values: &Tensor,
    last_dones: &Tensor,
    gamma: f64,
    tau: f64,
) -> Tensor {
    if rewards.device() == Device::Cpu {
        compute_gae_cpu(rewards, values, dones, last_values, last_dones, gamma, tau)
    } else {
        compute_gae_tensor(rewards, values, dones, last_values, last_dones, gamma, tau)
    }
}

/// The tensor loop: 5 element-wise ops on (N,) rows per step (rl_games' PyTorch backend).
pub fn compute_gae_tensor(
    rewards: &Tensor,
    values: &Tensor,
    dones: &Tensor,
    last_values: &Tensor,
    last_dones: &Tensor,
    gamma: f64,
    tau: f64,
) -> Tensor {
    let horizon = rewards.size()[0];
    let advantages = rewards.zeros_like();
    let mut last_gae = last_values.zeros_like();
    let gamma_tau = gamma * tau;
    for t in (0..horizon).rev() {
        let (next_values, next_not_done) = if t == horizon - 1 {
            (last_values.shallow_clone(), 1.0 - last_dones)
        } else {
            (values.get(t + 1), 1.0 - dones.get(t + 1))
        };
        let delta = rewards.get(t) + next_values * gamma * &next_not_done - values.get(t);
        last_gae = delta + next_not_done * gamma_tau * last_gae;
        advantages.get(t).copy_(&last_gae);
    }
    advantages
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    let t = t.to_kind(Kind::Float).contiguous().view([-1]);
    let mut out = vec![0f32; t.numel()];
    let n = out.len();
    t.copy_data(&mut out, n);
    out
}

/// The host loop over CPU tensors, same arithmetic order as the tensor loop.
pub fn compute_gae_cpu(
    rewards: &Tensor,
    values: &Tensor,
    dones: &Tensor,
    last_values: &Tensor,
    last_dones: &Tensor,
    gamma: f64,
    tau: f64,
) -> Tensor {
    let size = rewards.size();
    let (horizon, n) = (size[0] as usize, size[1] as usize);
    let (r, v, d, v_last, d_last) =
        (to_vec(rewards), to_vec(values), to_vec(dones), to_vec(last_values), to_vec(last_dones));
    let (g, gl) = (gamma as f32, (gamma * tau) as f32);
    let mut adv = vec![0f32; horizon * n];
    let mut last_gae = vec![0f32; n];
    for t in (0..horizon).rev() {
        for e in 0..n {
            let (next_value, next_not_done) = if t == horizon - 1 {
                (v_last[e], 1.0 - d_last[e])
            } else {
                (v[(t + 1) * n + e], 1.0 - d[(t + 1) * n + e])
            };
            let delta = r[t * n + e] + next_value * g * next_not_done - v[t * n + e];
            last_gae[e] = delta + next_not_done * gl * last_gae[e];
            adv[t * n + e] = last_gae[e];
        }
    }
    Tensor::from_slice(&adv).view([horizon as i64, n as i64])
}
