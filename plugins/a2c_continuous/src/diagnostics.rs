//! `use_diagnostics: True`: rl_games 1.6.5's `PpoDiagnostics` (`rl_games/common/diagnostics.py`,
//! docs/rl_games.md §7.3), computed as it computes them, in float32 on the training device.
//!
//! Per minibatch, from the rollout values and returns (normalised when `normalize_value`) and
//! the neg-log-probs of the forward before the step: the explained variance and the clip
//! fraction. Logged per epoch (x = epoch): `diagnostics/exp_var` (mean over every minibatch of
//! the epoch), `diagnostics/clip_frac/<mini_epoch>` (mean over that mini-epoch's minibatches,
//! mini-epochs counted from 0) and, with `normalize_value`, `diagnostics/rms_value/mean|var`
//! (the value normaliser after the update; see [`crate::agent`]'s logging). Training is unchanged.
use tch::{Kind, Tensor};

/// `torch_ext.explained_variance` without masks: `1 − Var[y − ŷ] / Var[y]`, population variances
/// over all elements.
pub fn explained_variance(y_pred: &Tensor, y: &Tensor) -> Tensor {
    let var_y = y.var(false);
    let var_dy = (y - y_pred).var(false);
    1.0 - var_dy / var_y
}

/// `torch_ext.policy_clip_fraction` without masks: the fraction of rows whose log-ratio
/// `old − new` neg-log-prob lies outside `[ln(1 − ε), ln(1 + ε)]`.
pub fn policy_clip_fraction(new_neglogp: &Tensor, old_neglogp: &Tensor, e_clip: f64) -> Tensor {
    let logratio = old_neglogp - new_neglogp;
    let outside = logratio.lt((1.0 - e_clip).ln()).logical_or(&logratio.gt((1.0 + e_clip).ln()));
    outside.to_kind(Kind::Float).mean(Kind::Float)
}

/// The accumulator of one epoch (`PpoDiagnostics.exp_vars` and `clip_fracs`).
#[derive(Debug, Default)]
pub struct Diagnostics {
    exp_vars: Vec<Tensor>,
    clip_fracs: Vec<Tensor>,
    mini_epoch_clip_fracs: Vec<Tensor>,
}

/// One epoch's diagnostics, ready to log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiagnosticsStats {
    /// Mean explained variance over every minibatch of the epoch.
    pub exp_var: f64,
    /// Mean clip fraction of each mini-epoch, in order.
    pub clip_frac: Vec<f64>,
}

impl Diagnostics {
    /// `mini_batch`: `values`/`returns` are the minibatch's rollout values and returns.
    pub fn mini_batch(
        &mut self,
        values: &Tensor,
        returns: &Tensor,
        new_neglogp: &Tensor,
        old_neglogp: &Tensor,
        e_clip: f64,
    ) {
        tch::no_grad(|| {
            self.exp_vars.push(explained_variance(&values.detach(), &returns.detach()));
            self.clip_fracs.push(policy_clip_fraction(&new_neglogp.detach(), &old_neglogp.detach(), e_clip));
        });
    }

    /// `mini_epoch`: closes a mini-epoch's clip fraction.
    pub fn mini_epoch(&mut self) {
        let fracs = std::mem::take(&mut self.clip_fracs);
        if !fracs.is_empty() {
            self.mini_epoch_clip_fracs.push(Tensor::stack(&fracs, 0).mean(Kind::Float));
        }
    }

    /// `epoch`: the epoch's values (the accumulator starts afresh).
    pub fn finish(&mut self) -> DiagnosticsStats {
        let exp_vars = std::mem::take(&mut self.exp_vars);
        let fracs = std::mem::take(&mut self.mini_epoch_clip_fracs);
        let exp_var = if exp_vars.is_empty() {
            f64::NAN
        } else {
            Tensor::stack(&exp_vars, 0).mean(Kind::Float).double_value(&[])
        };
        DiagnosticsStats { exp_var, clip_frac: fracs.iter().map(|f| f.double_value(&[])).collect() }
    }
}
