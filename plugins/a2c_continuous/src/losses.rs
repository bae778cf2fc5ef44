//! PPO loss terms and the policy KL (docs/rl_games.md §4.8, §4.10), each on its own.
use crate::config::BoundLossType;
use tch::{Kind, Tensor};

/// Per-sample clipped surrogate `max(−Â·ρ, −Â·clip(ρ, 1−ε, 1+ε))`, ρ = exp(old_nlp − nlp).
///
/// `smooth` replaces the hard clip with rl_games' sigmoid clamp; `ppo = false` gives `nlp·Â`.
pub fn actor_loss(
    old_neglogp: &Tensor,
    neglogp: &Tensor,
    advantages: &Tensor,
    e_clip: f64,
    smooth: bool,
    ppo: bool,
) -> Tensor {
    if !ppo {
        return neglogp * advantages;
    }
    let ratio = (old_neglogp - neglogp).exp();
    let (lo, hi) = (1.0 - e_clip, 1.0 + e_clip);
    let clipped = if smooth {
        ((((&ratio - lo) / (hi - lo)) - 0.5) * 4.0).sigmoid() * (hi - lo) + lo
    } else {
        ratio.clamp(lo, hi)
    };
    let surr1 = advantages * &ratio;
    let surr2 = advantages * clipped;
    (-surr1).maximum(&(-surr2))
}

/// Per-sample value loss (rows × value dims): `(R − V)²`, or the clipped version
/// `max((V − R)², (V_old + clamp(V − V_old, −ε, ε) − R)²)` (ε = e_clip, quirk 6).
pub fn critic_loss(old_values: &Tensor, values: &Tensor, returns: &Tensor, e_clip: f64, clip_value: bool) -> Tensor {
    if clip_value {
        let clipped = old_values + (values - old_values).clamp(-e_clip, e_clip);
        let unclipped_loss = (values - returns).square();
        let clipped_loss = (clipped - returns).square();
        unclipped_loss.maximum(&clipped_loss)
    } else {
        (returns - values).square()
    }
}

/// Per-sample μ-bound penalty, summed over action dims.
pub fn bound_loss(mu: &Tensor, kind: BoundLossType) -> Tensor {
    match kind {
        BoundLossType::Bound => {
            let soft_bound = 1.1;
            let high = (mu - soft_bound).clamp_min(0.0).square();
            let low = (mu + soft_bound).clamp_max(0.0).square();
            (high + low).sum_dim_intlist(-1, false, Kind::Float)
        }
        BoundLossType::Regularisation => mu.square().sum_dim_intlist(-1, false, Kind::Float),
        BoundLossType::Zero => mu.zeros_like().sum_dim_intlist(-1, false, Kind::Float),
    }
}

/// Mean KL(new‖old) with rl_games' 1e-5 fudge terms (quirk 8):
/// `Σ_a ln(σ_old/σ_new + 1e-5) + (σ_new² + (μ_old − μ_new)²)/(2(σ_old² + 1e-5)) − 0.5`.
pub fn policy_kl(mu_new: &Tensor, sigma_new: &Tensor, mu_old: &Tensor, sigma_old: &Tensor) -> Tensor {
    let c1 = (sigma_old / sigma_new + 1e-5).log();
    let c2 = (sigma_new.square() + (mu_old - mu_new).square()) / ((sigma_old.square() + 1e-5) * 2.0);
    (c1 + c2 - 0.5).sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float)
}
