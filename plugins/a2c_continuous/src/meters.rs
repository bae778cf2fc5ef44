//! rl_games' `AverageMeter` (docs/rl_games.md §4.13): an approximate sliding mean over `games_to_track` episodes.

/// An approximate windowed mean (quirk 12: not an exact window).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AverageMeter {
    window: usize,
    mean: f64,
    current_size: usize,
}

impl AverageMeter {
    /// An empty meter over `window` entries.
    pub fn new(window: usize) -> Self {
        AverageMeter { window, mean: 0.0, current_size: 0 }
    }

    /// A meter with a stored state (checkpoints).
    pub fn with_state(window: usize, mean: f64, current_size: usize) -> Self {
        AverageMeter { window, mean, current_size: current_size.min(window) }
    }

    /// Adds `k` finished episodes whose mean is `new_mean`.
    pub fn update(&mut self, k: usize, new_mean: f64) {
        if k == 0 {
            return;
        }
        let size = k.min(self.window);
        let old = (self.window - size).min(self.current_size);
        self.mean = (self.mean * old as f64 + new_mean * size as f64) / (old + size) as f64;
        self.current_size = old + size;
    }

    /// Whether no episode was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.current_size == 0
    }

    /// The mean (0 when empty).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// How many entries the mean stands for.
    pub fn current_size(&self) -> usize {
        self.current_size
    }
}

/// The three episode meters rl_games keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeMeters {
    /// Raw episode returns.
    pub rewards: AverageMeter,
    /// Shaped (+ bootstrap) episode returns.
    pub shaped_rewards: AverageMeter,
    /// Episode lengths.
    pub lengths: AverageMeter,
}

impl EpisodeMeters {
    /// Empty meters over `window` episodes.
    pub fn new(window: usize) -> Self {
        let m = AverageMeter::new(window);
        EpisodeMeters { rewards: m, shaped_rewards: m, lengths: m }
    }

    /// Applies one rollout's per-step sums: rows of `[finished, Σraw, Σshaped, Σlength]`.
    pub fn update_from_step_sums(&mut self, rows: &[[f32; 4]]) {
        for &[k, raw, shaped, len] in rows {
            let k = k.round() as usize;
            if k > 0 {
                let kf = k as f64;
                self.rewards.update(k, raw as f64 / kf);
                self.shaped_rewards.update(k, shaped as f64 / kf);
                self.lengths.update(k, len as f64 / kf);
            }
        }
    }
}
