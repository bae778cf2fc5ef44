//! Learning-rate (and entropy) schedules (docs/rl_games.md §4.10).
use crate::config::LrScheduleConfig;

/// A scheduler: `(lr, entropy_coef) ← update(lr, entropy_coef, epoch, frame, kl)`.
#[derive(Debug, Clone)]
pub struct Scheduler {
    cfg: LrScheduleConfig,
    start_lr: f64,
    start_entropy_coef: f64,
}

/// Entropy coefficient the linear schedule anneals towards.
const MIN_ENTROPY_COEF: f64 = 1e-4;

impl Scheduler {
    /// A scheduler starting from the configured LR and entropy coefficient.
    pub fn new(cfg: LrScheduleConfig, start_lr: f64, start_entropy_coef: f64) -> Self {
        Scheduler { cfg, start_lr, start_entropy_coef }
    }

    /// The new `(lr, entropy_coef)`. `epoch` is 1-based; `frame` is the count before this epoch.
    pub fn update(&self, lr: f64, entropy_coef: f64, epoch: u64, frame: u64, kl: f64) -> (f64, f64) {
        match self.cfg {
            LrScheduleConfig::Identity => (lr, entropy_coef),
            LrScheduleConfig::Adaptive { kl_threshold, min_lr, max_lr, lr_multiplier } => {
                let lr = if kl > 2.0 * kl_threshold {
                    (lr / lr_multiplier).max(min_lr)
                } else if kl < 0.5 * kl_threshold {
                    (lr * lr_multiplier).min(max_lr)
                } else {
                    lr
                };
                (lr, entropy_coef)
            }
            LrScheduleConfig::Linear { min_lr, max_steps, use_epochs, schedule_entropy } => {
                let steps = if use_epochs { epoch as f64 } else { frame as f64 };
                let frac = (max_steps - steps).max(0.0) / max_steps;
                let lr = min_lr + (self.start_lr - min_lr) * frac;
                let entropy_coef = if schedule_entropy {
                    MIN_ENTROPY_COEF + (self.start_entropy_coef - MIN_ENTROPY_COEF) * frac
                } else {
                    entropy_coef
                };
                (lr, entropy_coef)
            }
        }
    }
}
