//! Adam (L2 weight decay, eps 1e-8) with the arithmetic of PyTorch's fused CPU kernel and
//! inspectable state, so `exp_avg`/`exp_avg_sq`/`step` can be checkpointed under the parameters' names.
use std::sync::OnceLock;
use tch::{Device, Kind, Tensor};

/// Adam over a fixed list of named parameters.
#[derive(Debug)]
pub struct Adam {
    /// (name, parameter) in a fixed order.
    pub params: Vec<(String, Tensor)>,
    /// First moments, same order.
    pub exp_avg: Vec<Tensor>,
    /// Second moments, same order.
    pub exp_avg_sq: Vec<Tensor>,
    /// Steps taken (PyTorch keeps one per parameter; they are always equal here).
    pub step: f64,
    /// Current learning rate.
    pub lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
}

impl Adam {
    /// Adam with betas (0.9, 0.999) and eps 1e-8 (docs/rl_games.md §4.1 step 6).
    pub fn new(params: Vec<(String, Tensor)>, lr: f64, weight_decay: f64) -> Self {
        let exp_avg = params.iter().map(|(_, p)| p.zeros_like()).collect();
        let exp_avg_sq = params.iter().map(|(_, p)| p.zeros_like()).collect();
        Adam { params, exp_avg, exp_avg_sq, step: 0.0, lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay }
    }

    /// Drops every gradient (PyTorch's `zero_grad(set_to_none=True)` equivalent for the next backward).
    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// Global L2 gradient clipping as `clip_grad_norm_`: scale by min(1, max/(‖g‖₂ + 1e-6)), on device.
    pub fn clip_grad_norm(&self, max_norm: f64) {
        tch::no_grad(|| {
            let grads: Vec<Tensor> = self.params.iter().map(|(_, p)| p.grad()).filter(|g| g.defined()).collect();
            if grads.is_empty() {
                return;
            }
            let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
            let total = Tensor::stack(&norms, 0).norm();
            let coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
            for mut g in grads {
                let _ = g.g_mul_(&coef);
            }
        })
    }

    /// One Adam step with the current gradients.
    ///
    /// The arithmetic is that of PyTorch's fused CPU Adam (`fused=True`, which rl_games uses), to
    /// the bit: the kernel updates each tensor in SIMD vectors and its last `numel % width`
    /// elements in a scalar loop whose compiled form differs (fused multiply-adds); the vector
    /// part is done here with tensor ops of the same rounding, the scalar tail with the same FMAs.
    pub fn step(&mut self) {
        self.step += 1.0;
        let bias_correction1 = 1.0 - self.beta1.powf(self.step);
        let bias_correction2 = 1.0 - self.beta2.powf(self.step);
        let step = AdamStep {
            step_size: self.lr / bias_correction1,
            bias_correction2_sqrt: bias_correction2.sqrt(),
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
        };
        tch::no_grad(|| {
            for (i, (_, p)) in self.params.iter().enumerate() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let numel = p.numel() as i64;
                let tail = if p.device() == Device::Cpu { numel % cpu_vector_width() } else { 0 };
                let body = numel - tail;
                let flat = |t: &Tensor, start: i64, len: i64| t.view([-1]).narrow(0, start, len);
                let (p, m, v) = (p, &self.exp_avg[i], &self.exp_avg_sq[i]);
                if body > 0 {
                    step.vectorised(&flat(p, 0, body), &flat(&g, 0, body), &flat(m, 0, body), &flat(v, 0, body));
                }
                if tail > 0 {
                    step.scalar(
                        &flat(p, body, tail),
                        &flat(&g, body, tail),
                        &flat(m, body, tail),
                        &flat(v, body, tail),
                    );
                }
            }
        })
    }
}

/// The constants of one Adam step.
struct AdamStep {
    step_size: f64,
    bias_correction2_sqrt: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
}

impl AdamStep {
    /// The kernel's vector loop: `lerp` (an FMA), `v·β₂ + (1−β₂)·g·g` without FMA, an exact √.
    fn vectorised(&self, p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor) {
        let g = if self.weight_decay != 0.0 { g + p * self.weight_decay } else { g.shallow_clone() };
        let _ = m.shallow_clone().lerp_(&g, 1.0 - self.beta1);
        let _ = v.shallow_clone().g_mul_scalar_(self.beta2);
        let _ = v.shallow_clone().addcmul_(&g, &g.g_mul_scalar(1.0 - self.beta2));
        let denom = exact_sqrt(v) / self.bias_correction2_sqrt + self.eps;
        let _ = p.shallow_clone().addcdiv_(&(m * -self.step_size), &denom);
    }

    /// The kernel's scalar loop as compiled (float arithmetic, contracted to FMAs).
    fn scalar(&self, p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor) {
        let read = |t: &Tensor| Vec::<f32>::try_from(t.to_device(Device::Cpu)).unwrap_or_default();
        let (mut pv, gv, mut mv, mut vv) = (read(p), read(g), read(m), read(v));
        let (c1, b2, c2) = ((1.0 - self.beta1) as f32, self.beta2 as f32, (1.0 - self.beta2) as f32);
        let (step_size, bc2_sqrt, eps) = (self.step_size as f32, self.bias_correction2_sqrt as f32, self.eps as f32);
        for k in 0..pv.len() {
            let grad = if self.weight_decay != 0.0 { pv[k].mul_add(self.weight_decay as f32, gv[k]) } else { gv[k] };
            mv[k] = if c1.abs() < 0.5 { c1.mul_add(grad - mv[k], mv[k]) } else { grad - (grad - mv[k]) * (1.0 - c1) };
            vv[k] = vv[k].mul_add(b2, c2 * grad * grad);
            let denom = vv[k].sqrt() / bc2_sqrt + eps;
            pv[k] -= step_size * mv[k] / denom;
        }
        let write = |t: &Tensor, values: &[f32]| {
            t.shallow_clone().copy_(&Tensor::from_slice(values).to_device(t.device()));
        };
        write(p, &pv);
        write(m, &mv);
        write(v, &vv);
    }
}

/// `at::vec::Vectorized<float>::size()` of the libtorch CPU kernels: 16 floats with AVX-512
/// (libtorch's choice where the CPU has it, unless `ATEN_CPU_CAPABILITY` says otherwise), else 8.
fn cpu_vector_width() -> i64 {
    static WIDTH: OnceLock<i64> = OnceLock::new();
    *WIDTH.get_or_init(|| {
        match std::env::var("ATEN_CPU_CAPABILITY").as_deref() {
            Ok("avx512") => return 16,
            Ok("default") | Ok("avx2") => return 8,
            _ => {}
        }
        #[cfg(target_arch = "x86_64")]
        {
            let avx512 = std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512dq");
            if avx512 {
                return 16;
            }
        }
        8
    })
}

/// √x correctly rounded, as the fused Adam kernel that rl_games uses computes it (`_mm512_sqrt_ps`,
/// `std::sqrt`). libtorch's float `sqrt` on the CPU is off by one ulp for about 1% of inputs; through
/// float64 the result is exact, so the update matches rl_games' bit for bit.
fn exact_sqrt(x: &Tensor) -> Tensor {
    x.to_kind(Kind::Double).sqrt().to_kind(Kind::Float)
}
