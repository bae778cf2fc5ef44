//! rl_games' `RunningMeanStd` (docs/rl_games.md §4.11.1), used for observations and values by trainers and players.
//!
//! Statistics are float64 tensors on the training device; `count` starts at 1 with mean 0 and
//! var 1, a prior pseudo-sample (quirk 10); ε = 1e-5; outputs are clipped to ±5.
use tch::{Device, Kind, Tensor};

/// ε added to the variance.
pub const EPSILON: f64 = 1e-5;
/// Normalised values are clipped to ±this.
pub const CLIP: f64 = 5.0;

/// Running mean and variance per feature (reduction over axis 0).
#[derive(Debug)]
pub struct RunningMeanStd {
    /// float64, feature shape.
    pub mean: Tensor,
    /// float64, feature shape.
    pub var: Tensor,
    /// Number of samples seen, plus the prior one.
    pub count: f64,
}

impl RunningMeanStd {
    /// Fresh statistics for features of `shape`.
    pub fn new(shape: &[i64], device: Device) -> Self {
        RunningMeanStd {
            mean: Tensor::zeros(shape, (Kind::Double, device)),
            var: Tensor::ones(shape, (Kind::Double, device)),
            count: 1.0,
        }
    }

    /// Chan et al.'s parallel update with a batch `x` (n, *shape) float32.
    ///
    /// Operation order and precision are rl_games' to the bit: batch moments in float32, `m_b =
    /// batch_var·n` still in float32 (a float32 tensor times an int), everything else in float64
    /// and evaluated left to right (`delta·n / total`, `delta²·count·n / total`).
    pub fn update(&mut self, x: &Tensor) {
        let n = x.size()[0];
        let batch_mean = x.mean_dim(0, false, Kind::Float);
        let batch_var = x.var_correction(Some([0i64].as_slice()), 0, false);
        let delta = batch_mean.to_kind(Kind::Double) - &self.mean;
        let total = self.count + n as f64;
        let new_mean = &self.mean + &delta * n as f64 / total;
        let m_a = &self.var * self.count;
        let m_b = (batch_var * n).to_kind(Kind::Double);
        let m2 = m_a + m_b + delta.square() * self.count * n as f64 / total;
        self.mean = new_mean;
        self.var = m2 / total;
        self.count = total;
    }

    /// `clamp((x − mean)/√(var + ε), −5, 5)` with the statistics cast to float32.
    pub fn normalize(&self, x: &Tensor) -> Tensor {
        let mean = self.mean.to_kind(Kind::Float);
        let std = (self.var.to_kind(Kind::Float) + EPSILON).sqrt();
        ((x - mean) / std).clamp(-CLIP, CLIP)
    }

    /// `√(var + ε)·clamp(y, −5, 5) + mean` (the clamp is rl_games', quirk 5).
    pub fn denormalize(&self, y: &Tensor) -> Tensor {
        let mean = self.mean.to_kind(Kind::Float);
        let std = (self.var.to_kind(Kind::Float) + EPSILON).sqrt();
        std * y.clamp(-CLIP, CLIP) + mean
    }
}
