//! Adam (PyTorch's single-tensor algorithm, L2 weight decay, eps 1e-8) with inspectable state,
//! so `exp_avg`/`exp_avg_sq`/`step` can be checkpointed under the parameters' names.
use tch::Tensor;

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
    /// Adam with betas (0.9, 0.999) and eps 1e-8 (spec §4.1 step 6).
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
    pub fn step(&mut self) {
        self.step += 1.0;
        let bias_correction1 = 1.0 - self.beta1.powf(self.step);
        let bias_correction2 = 1.0 - self.beta2.powf(self.step);
        let step_size = self.lr / bias_correction1;
        let bias_correction2_sqrt = bias_correction2.sqrt();
        tch::no_grad(|| {
            for (i, (_, p)) in self.params.iter().enumerate() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if self.weight_decay != 0.0 { g + p * self.weight_decay } else { g };
                let m = &mut self.exp_avg[i];
                let _ = m.lerp_(&g, 1.0 - self.beta1);
                let v = &mut self.exp_avg_sq[i];
                let _ = v.g_mul_scalar_(self.beta2);
                let _ = v.addcmul_(&g, &g.g_mul_scalar(1.0 - self.beta2));
                let denom = v.sqrt() / bias_correction2_sqrt + self.eps;
                let mut p = p.shallow_clone();
                let _ = p.addcdiv_(&(&self.exp_avg[i] * -step_size), &denom);
            }
        })
    }
}
