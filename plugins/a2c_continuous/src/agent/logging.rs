//! The console line (docs/rl_games.md §7.1), TensorBoard scalars (§7.2) and the host's epoch progress.
use super::epoch::EpochStats;
use super::PpoAgent;
use crate::diagnostics::DiagnosticsStats;
use abi_stable::std_types::{RSlice, RString};
use rlhost_sdk::api::{EpochProgress, Scalar};

impl PpoAgent {
    /// Console line (§7.1), TensorBoard scalars (§7.2) and the host's epoch progress.
    pub(super) fn log_epoch(&self, s: &EpochStats) {
        let b = self.frames_per_epoch() as f64;
        let fps_step = b / s.step_time.max(1e-9);
        let fps_step_inference = b / s.play_time.max(1e-9);
        let fps_total = b / s.epoch_time.max(1e-9);
        let (epoch, frame) = (self.epoch, self.frame);
        if self.cfg.print_stats {
            let epochs = match self.cfg.max_epochs {
                -1 => format!("{epoch}"),
                m => format!("{epoch}/{m}"),
            };
            let frames = match self.cfg.max_frames {
                -1 => format!("{frame}"),
                m => format!("{frame}/{m}"),
            };
            self.say(&format!(
                "fps step: {fps_step:.0} fps step and policy inference: {fps_step_inference:.0} fps total: {fps_total:.0} epoch: {epochs} frames: {frames}"
            ));
        }
        let x = frame as i64;
        let mut scalars = vec![
            ("performance/step_inference_rl_update_fps", x, fps_total),
            ("performance/step_inference_fps", x, fps_step_inference),
            ("performance/step_fps", x, fps_step),
            ("performance/rl_update_time", x, s.update_time),
            ("performance/step_inference_time", x, s.play_time),
            ("performance/step_time", x, s.step_time),
            ("losses/a_loss", x, s.update.a_loss),
            ("losses/c_loss", x, s.update.c_loss),
            ("losses/entropy", x, s.update.entropy),
            ("info/last_lr", x, s.update.last_lr),
            ("info/lr_mul", x, 1.0),
            ("info/e_clip", x, self.cfg.e_clip),
            ("info/kl", x, s.update.kl),
            ("info/epochs", x, epoch as f64),
        ];
        if self.cfg.bounds_loss_coef.is_some() {
            scalars.push(("losses/bounds_loss", x, s.update.b_loss));
        }
        if let Some(c) = &s.critic {
            // CentralValueTrain writes these itself, at its own frame count (after this epoch).
            scalars.push(("losses/cval_loss", c.frame as i64, c.loss));
            scalars.push(("info/cval_lr", c.frame as i64, c.lr));
        }
        if let Some(d) = &s.update.diagnostics {
            self.diagnostics_scalars(d, &mut scalars);
        }
        if !self.meters.rewards.is_empty() {
            let t = self.phase_times.total as i64;
            for (tag, meter) in [
                ("rewards", self.meters.rewards),
                ("shaped_rewards", self.meters.shaped_rewards),
                ("episode_lengths", self.meters.lengths),
            ] {
                let v = meter.mean();
                scalars.push((leak(format!("{tag}/step")), x, v));
                scalars.push((leak(format!("{tag}/iter")), epoch as i64, v));
                scalars.push((leak(format!("{tag}/time")), t, v));
            }
        }
        let scalars: Vec<Scalar> =
            scalars.into_iter().map(|(tag, step, value)| Scalar { tag: RString::from(tag), step, value }).collect();
        self.observer.scalars(RSlice::from_slice(&scalars));
        self.observer.epoch(EpochProgress {
            epoch,
            max_epochs: self.cfg.max_epochs,
            frame,
            max_frames: self.cfg.max_frames,
            fps_total,
            mean_reward: self.mean_reward().unwrap_or(f64::NAN),
        });
    }
}

impl PpoAgent {
    /// `PpoDiagnostics.send_info` (docs/rl_games.md §7.3), x = epoch: clip fraction per mini-epoch, explained
    /// variance and, with `normalize_value`, the value normaliser's mean and variance.
    fn diagnostics_scalars(&self, d: &DiagnosticsStats, scalars: &mut Vec<(&'static str, i64, f64)>) {
        let epoch = self.epoch as i64;
        if let Some(rms) = self.value_rms() {
            scalars.push(("diagnostics/rms_value/mean", epoch, rms.mean.double_value(&[0])));
            scalars.push(("diagnostics/rms_value/var", epoch, rms.var.double_value(&[0])));
        }
        scalars.push(("diagnostics/exp_var", epoch, d.exp_var));
        for (mini_epoch, frac) in d.clip_frac.iter().enumerate() {
            scalars.push((leak(format!("diagnostics/clip_frac/{mini_epoch}")), epoch, *frac));
        }
    }
}

/// Scalar tags are built once per distinct name; interning keeps `log_epoch` simple.
fn leak(tag: String) -> &'static str {
    use std::sync::Mutex;
    static TAGS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut tags = TAGS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = tags.iter().find(|t| **t == tag) {
        return t;
    }
    let t: &'static str = Box::leak(tag.into_boxed_str());
    tags.push(t);
    t
}
