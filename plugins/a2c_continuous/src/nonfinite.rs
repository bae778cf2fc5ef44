//! Where a NaN came from (issue 18): once per epoch, one flag over the rollout (read with the
//! episode sums, so no extra host sync), and only when it fails, the first step and env at fault:
//! the environment's observations or rewards, the policy's actions or values, or the reward shaper.
use crate::rollout::Rollout;
use rlhost_sdk::{ErrorKind, PluginError};
use tch::{Device, Kind, Tensor};

/// 1.0 when every observation, action, value and (raw and shaped) reward of the rollout is finite,
/// else 0.0: a float32 scalar on the training device (no sync).
pub fn all_finite(r: &Rollout) -> Tensor {
    let b = &r.buf;
    let ok = |t: &Tensor| t.isfinite().all();
    [&r.carry.obs, &b.actions, &b.values, &b.raw_rewards, &b.rewards]
        .into_iter()
        .fold(ok(&b.obs), |acc, t| acc.logical_and(&ok(t)))
        .to_kind(Kind::Float)
}

/// Per (step, env): whether `t` (H, N, …) has a non-finite element, as host rows.
fn bad(t: &Tensor) -> Vec<Vec<bool>> {
    let size = t.size();
    let flat = t.isfinite().logical_not().reshape([size[0], size[1], -1]).any_dim(2, false);
    let flat = flat.to_device(Device::Cpu).contiguous();
    let (h, n) = (size[0] as usize, size[1] as usize);
    let v = Vec::<bool>::try_from(flat.view([-1])).unwrap_or_else(|_| vec![true; h * n]);
    v.chunks(n.max(1)).map(<[bool]>::to_vec).collect()
}

/// The error naming the first non-finite value of the rollout of `epoch` (call when
/// [`all_finite`] read 0).
pub fn locate(r: &Rollout, epoch: u64) -> PluginError {
    let b = &r.buf;
    let next_obs = Tensor::cat(&[b.obs.narrow(0, 1, b.obs.size()[0] - 1), r.carry.obs.unsqueeze(0)], 0);
    let [obs_in, action, value, reward, next, shaped] =
        [&b.obs, &b.actions, &b.values, &b.raw_rewards, &next_obs, &b.rewards].map(bad);
    let first = |rows: &[Vec<bool>], t: usize| rows[t].iter().position(|&x| x);
    let say = |what: String| {
        PluginError::new(ErrorKind::NonFinite, format!("{what}; training stopped, the last checkpoint on disk is kept"))
    };
    if let Some(i) = first(&obs_in, 0) {
        return say(format!("the environment returned a non-finite observation at epoch {epoch} (env {i}, at reset)"));
    }
    for t in 0..obs_in.len() {
        if let Some(i) = first(&action, t) {
            return say(format!("the policy produced a non-finite action from a finite observation at epoch {epoch} (env {i}, step {t})"));
        }
        if let Some(i) = first(&value, t) {
            return say(format!(
                "the critic produced a non-finite value from a finite observation at epoch {epoch} (env {i}, step {t})"
            ));
        }
        if let Some(i) = first(&reward, t) {
            return say(format!("the environment returned a non-finite reward at epoch {epoch} (env {i}, step {t})"));
        }
        if let Some(i) = first(&next, t) {
            return say(format!(
                "the environment returned a non-finite observation at epoch {epoch} (env {i}, step {t})"
            ));
        }
        if let Some(i) = first(&shaped, t) {
            let raw = b.raw_rewards.double_value(&[t as i64, i as i64]);
            return say(format!(
                "params.config.reward_shaper turned the finite reward {raw} into a non-finite one at epoch {epoch} (env {i}, step {t})"
            ));
        }
    }
    say(format!("a non-finite value in the rollout of epoch {epoch}"))
}
