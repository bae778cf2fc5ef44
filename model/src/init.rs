//! Weight initialisers of rl_games' networks (docs/rl_games.md §5.2 table), drawing from libtorch's CPU
//! generator in rl_games' order so a seed gives rl_games' initial weights.
use crate::spec::{FanMode, Initializer};
use tch::{Device, Kind, Tensor};

/// PyTorch's `_calculate_fan_in_and_fan_out`: (in·receptive, out·receptive), the receptive
/// field being 1 for a Linear and the kernel's size for a convolution.
fn fans(weight: &Tensor) -> (f64, f64) {
    let size = weight.size();
    let receptive: i64 = size[2..].iter().product();
    ((size[1] * receptive) as f64, (size[0] * receptive) as f64)
}

fn fan(weight: &Tensor, mode: FanMode) -> f64 {
    let (fan_in, fan_out) = fans(weight);
    match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
        FanMode::FanAvg => (fan_in + fan_out) / 2.0,
    }
}

/// PyTorch's `calculate_gain(nonlinearity, a)`.
fn kaiming_gain(nonlinearity: &str, a: f64) -> f64 {
    match nonlinearity {
        "relu" => 2f64.sqrt(),
        "tanh" => 5.0 / 3.0,
        "selu" => 0.75,
        "leaky_relu" => (2.0 / (1.0 + a * a)).sqrt(),
        _ => 1.0, // linear, sigmoid, conv*
    }
}

/// Fills `t` with N(0, std²) truncated to the absolute range [lo, hi] (PyTorch's `trunc_normal_`).
fn trunc_normal_(t: &mut Tensor, std: f64, lo: f64, hi: f64) {
    let cdf = |x: f64| (1.0 + erf(x / std / 2f64.sqrt())) / 2.0;
    let (l, u) = (cdf(lo), cdf(hi));
    let _ = t.uniform_(2.0 * l - 1.0, 2.0 * u - 1.0);
    let _ = t.erfinv_();
    let _ = t.g_mul_scalar_(std * 2f64.sqrt());
    let _ = t.clamp_(lo, hi);
}

/// erf by Abramowitz–Stegun 7.1.26 refined with two Newton steps on erfc would be overkill: the
/// truncation bounds only need a few digits.
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    let y = 1.0
        - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592)
            * t
            * (-x * x).exp();
    if x >= 0.0 {
        y
    } else {
        -y
    }
}

/// Applies an initializer to a weight matrix in place (docs/rl_games.md §5.2 table).
pub fn init_weight(weight: &Tensor, init: &Initializer) {
    tch::no_grad(|| {
        let mut w = weight.shallow_clone();
        match init {
            Initializer::Default => {}
            Initializer::Const { val } => {
                let _ = w.fill_(*val);
            }
            Initializer::GlorotNormal { gain } => {
                let (fi, fo) = fans(weight);
                let _ = w.normal_(0.0, gain * (2.0 / (fi + fo)).sqrt());
            }
            Initializer::GlorotUniform { gain } => {
                let (fi, fo) = fans(weight);
                let bound = gain * (6.0 / (fi + fo)).sqrt();
                let _ = w.uniform_(-bound, bound);
            }
            Initializer::VarianceScaling { scale, mode } => {
                // Quirk 13: truncated at absolute ±2, not ±2σ.
                let std = (scale / fan(weight, *mode)).sqrt();
                trunc_normal_(&mut w, std, -2.0, 2.0);
            }
            Initializer::RandomUniform { a, b } => {
                let _ = w.uniform_(*a, *b);
            }
            Initializer::KaimingNormal { a, mode, nonlinearity } => {
                let std = kaiming_gain(nonlinearity, *a) / fan(weight, *mode).sqrt();
                let _ = w.normal_(0.0, std);
            }
            Initializer::Orthogonal { gain } => {
                let size = weight.size();
                // A convolution is orthogonalised as its (out, in·kernel) matrix.
                let (rows, cols) = (size[0], weight.numel() as i64 / size[0]);
                let mut flat = Tensor::randn([rows, cols], (Kind::Float, Device::Cpu));
                if rows < cols {
                    flat = flat.t_();
                }
                let (q, r) = Tensor::linalg_qr(&flat, "reduced");
                let mut q = q * r.diagonal(0, 0, 1).sign();
                if rows < cols {
                    q = q.t_();
                }
                w.copy_(&(q * *gain).reshape(size.as_slice()));
            }
        }
    })
}
