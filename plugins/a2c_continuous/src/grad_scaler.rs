//! A gradient scaler with the semantics of `torch.amp.GradScaler` (torch 2.13), which rl_games
//! 1.6.5 wraps around its policy update with `mixed_precision: True`:
//!
//! ```text
//! scale(loss).backward()           # gradients × scale, so small ones survive reduced precision
//! unscale(adam)                    # × 1/scale in place; found_inf = any inf/NaN (before clipping)
//! step(adam)                       # unscale first if not done; the Adam step only if !found_inf
//! update()                         # found_inf: scale × backoff, tracker 0; else tracker + 1, and
//!                                  # at growth_interval: scale × growth (if finite), tracker 0
//! ```
//!
//! The arithmetic is libtorch's own kernels (`_amp_foreach_non_finite_check_and_unscale_` through
//! the shim, `_amp_update_scale_` through tch), on the training device, so the scale, the growth
//! tracker and the parameters are torch's to the bit. The scale is always a power of two here, so
//! unscaling by multiplication equals the division rl_games' fused Adam does when it unscales.
use crate::adam::Adam;
use rlhost_sdk::{ErrorKind, PluginError};
use tch::{Device, Kind, Tensor};

/// torch's default initial scale, 2^16.
pub const INIT_SCALE: f64 = 65536.0;
/// torch's default growth factor.
pub const GROWTH_FACTOR: f64 = 2.0;
/// torch's default backoff factor.
pub const BACKOFF_FACTOR: f64 = 0.5;
/// torch's default growth interval (consecutive finite steps before the scale grows).
pub const GROWTH_INTERVAL: i64 = 2000;

/// `torch.amp.GradScaler` for one optimiser.
#[derive(Debug)]
pub struct GradScaler {
    /// The current scale, a float32 scalar on the training device (torch's `_scale`).
    scale: Tensor,
    /// Consecutive finite steps since the last change, an int32 scalar (torch's `_growth_tracker`).
    growth_tracker: Tensor,
    growth_factor: f64,
    backoff_factor: f64,
    growth_interval: i64,
    /// Set by [`GradScaler::unscale`] until [`GradScaler::update`]: whether a gradient was not finite.
    found_inf: Option<Tensor>,
}

impl GradScaler {
    /// A scaler with torch's defaults (init scale 65536, growth 2, backoff 0.5, interval 2000).
    pub fn new(device: Device) -> Self {
        Self::with_settings(device, INIT_SCALE, GROWTH_FACTOR, BACKOFF_FACTOR, GROWTH_INTERVAL)
    }

    /// A scaler with other settings (`GradScaler(init_scale, growth_factor, backoff_factor,
    /// growth_interval)`); the agent always uses [`GradScaler::new`], tests a short interval.
    pub fn with_settings(
        device: Device,
        init_scale: f64,
        growth_factor: f64,
        backoff_factor: f64,
        growth_interval: i64,
    ) -> Self {
        GradScaler {
            scale: Tensor::full([], init_scale, (Kind::Float, device)),
            growth_tracker: Tensor::zeros([], (Kind::Int, device)),
            growth_factor,
            backoff_factor,
            growth_interval,
            found_inf: None,
        }
    }

    /// `scale(loss)`: the loss times the current scale (backward of it gives scaled gradients).
    pub fn scale(&self, loss: &Tensor) -> Tensor {
        loss * &self.scale
    }

    /// `unscale_(optimizer)`: divides `adam`'s gradients by the scale in place and records whether
    /// any is inf or NaN. Call it at most once per step, before clipping.
    pub fn unscale(&mut self, adam: &Adam) -> Result<(), PluginError> {
        if self.found_inf.is_some() {
            return Err(PluginError::new(
                ErrorKind::Other,
                "GradScaler: unscale() has already been called on this optimizer since the last update()",
            ));
        }
        let grads: Vec<Tensor> = adam.params.iter().map(|(_, p)| p.grad()).filter(Tensor::defined).collect();
        let found_inf = Tensor::zeros([], (Kind::Float, self.scale.device()));
        // torch: `self._scale.double().reciprocal().float()`.
        let inv_scale = self.scale.to_kind(Kind::Double).reciprocal().to_kind(Kind::Float);
        if !grads.is_empty() {
            tch::no_grad(|| rlhost_torch_shim::amp_unscale(&grads, &found_inf, &inv_scale))
                .map_err(|e| PluginError::new(ErrorKind::Device, format!("GradScaler unscale: {e}")))?;
        }
        self.found_inf = Some(found_inf);
        Ok(())
    }

    /// `step(optimizer)`: unscales if [`GradScaler::unscale`] was not called, then takes `adam`'s
    /// step unless a gradient was not finite (reading that flag syncs, as torch's `.item()`).
    /// Returns whether the step was taken.
    pub fn step(&mut self, adam: &mut Adam) -> Result<bool, PluginError> {
        if self.found_inf.is_none() {
            self.unscale(adam)?;
        }
        let skipped = self.found_inf.as_ref().is_some_and(|f| f.double_value(&[]) != 0.0);
        if !skipped {
            adam.step();
        }
        Ok(!skipped)
    }

    /// `update()`: backs off after a non-finite step, else counts towards growth
    /// (`torch._amp_update_scale_`); a step's unscale state ends here.
    pub fn update(&mut self) {
        let found_inf = self.found_inf.take().unwrap_or_else(|| Tensor::zeros([], (Kind::Float, self.scale.device())));
        let _ = self.scale.internal_amp_update_scale_(
            &self.growth_tracker,
            &found_inf,
            self.growth_factor,
            self.backoff_factor,
            self.growth_interval,
        );
    }

    /// The current scale (torch's `get_scale()`, the `scale` of its state dict).
    pub fn current_scale(&self) -> f64 {
        self.scale.double_value(&[])
    }

    /// Consecutive finite steps since the scale last changed (the state dict's `_growth_tracker`).
    pub fn growth_tracker(&self) -> i64 {
        self.growth_tracker.int64_value(&[])
    }

    /// `load_state_dict`: the scale and growth tracker of a checkpoint.
    pub fn load(&mut self, scale: f64, growth_tracker: i64) {
        let _ = self.scale.fill_(scale);
        let _ = self.growth_tracker.fill_(growth_tracker);
        self.found_inf = None;
    }
}
