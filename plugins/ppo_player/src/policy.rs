//! The actor half of rl_games' `actor_critic` network with `continuous_a2c_logstd`, for inference.
//!
//! Forward: `x = normalise(obs)` (optional) → actor MLP (Linear → activation per unit) →
//! `μ = mu_activation(mu(h))`; raw σ = `sigma_activation(sigma param | sigma head(h))`;
//! σ from raw per `sigma_parametrization` (spec §5.4).
use crate::checkpoint::Checkpoint;
use crate::config::{as_bool, as_f64};
use rlhost_sdk::api::SigmaOverride;
use rlhost_sdk::{ErrorKind, PluginError, PluginResult};
use serde_json::Value;
use tch::{Device, Kind, Tensor};

/// rl_games' RunningMeanStd epsilon.
pub const RMS_EPSILON: f64 = 1e-5;
/// Clamp applied to normalised observations.
pub const OBS_CLIP: f64 = 5.0;

/// rl_games' activation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `None` (or JSON null): identity.
    Identity,
    /// `relu`.
    Relu,
    /// `tanh`.
    Tanh,
    /// `sigmoid`.
    Sigmoid,
    /// `elu` (α = 1).
    Elu,
    /// `selu`.
    Selu,
    /// `swish` (SiLU).
    Swish,
    /// `gelu` (exact erf form).
    Gelu,
    /// `softplus` (β = 1, threshold 20).
    Softplus,
}

impl Activation {
    /// Parses an rl_games activation name; a missing value or JSON null is the identity.
    pub fn parse(v: Option<&Value>) -> Result<Self, String> {
        let name = match v {
            None | Some(Value::Null) => return Ok(Activation::Identity),
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return Err(format!("activation must be a string, got {other}")),
        };
        Ok(match name {
            "None" | "none" | "" | "identity" => Activation::Identity,
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "elu" => Activation::Elu,
            "selu" => Activation::Selu,
            "swish" => Activation::Swish,
            "gelu" => Activation::Gelu,
            "softplus" => Activation::Softplus,
            other => return Err(format!("unknown activation '{other}'")),
        })
    }

    /// Applies the activation.
    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Identity => x.shallow_clone(),
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Elu => x.elu(),
            Activation::Selu => x.selu(),
            Activation::Swish => x.silu(),
            Activation::Gelu => x.gelu("none"),
            Activation::Softplus => x.softplus(),
        }
    }
}

/// How the raw sigma output becomes σ (spec §5.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SigmaParametrization {
    /// `exp(clamp(raw, bounds))`, plus `min_sigma` when positive.
    Exp,
    /// `softplus(raw) + min_sigma`.
    Softplus,
    /// `f + softplus(raw − f)`, `f = max(min_sigma, 1e-3)` (alias `scalar`).
    Linear,
}

/// The parts of `params.network` the actor needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    /// `separate`: whether the critic has its own MLP (ignored by the player).
    pub separate: bool,
    /// `mlp.units`: hidden sizes.
    pub units: Vec<i64>,
    /// `mlp.activation`.
    pub activation: Activation,
    /// `space.continuous.mu_activation`.
    pub mu_activation: Activation,
    /// `space.continuous.sigma_activation`.
    pub sigma_activation: Activation,
    /// `space.continuous.fixed_sigma`.
    pub fixed_sigma: bool,
    /// `space.continuous.sigma_parametrization`.
    pub parametrization: SigmaParametrization,
    /// `space.continuous.min_sigma`.
    pub min_sigma: f64,
    /// `space.continuous.logstd_bounds`, as (low, high).
    pub logstd_bounds: Option<(f64, f64)>,
}

impl NetworkSpec {
    /// Reads the spec; `Err((kind, message))` distinguishes bad values from unsupported features.
    pub fn from_json(net: &Value) -> Result<Self, (ErrorKind, String)> {
        let bad = |m: String| (ErrorKind::Checkpoint, m);
        let unsupported = |m: String| (ErrorKind::Unsupported, m);
        if let Some(name) = net.get("name").and_then(Value::as_str) {
            if name != "actor_critic" {
                return Err(unsupported(format!("network '{name}' is not supported (only actor_critic)")));
            }
        }
        for key in ["rnn", "cnn"] {
            if net.get(key).is_some_and(|v| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty())) {
                return Err(unsupported(format!("network.{key} is not supported by this player")));
            }
        }
        if net.get("normalization").is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty() && s != "None")) {
            return Err(unsupported("network.normalization (layer/batch norm) is not supported by this player".into()));
        }
        let mlp = net.get("mlp").ok_or_else(|| bad("network.mlp is missing".into()))?;
        if mlp.get("d2rl").and_then(as_bool).unwrap_or(false) {
            return Err(unsupported("network.mlp.d2rl is not supported by this player".into()));
        }
        let units = match mlp.get("units") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|u| as_f64(u).filter(|x| *x >= 1.0 && x.fract() == 0.0).map(|x| x as i64))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad(format!("network.mlp.units must be positive integers, got {}", mlp["units"])))?,
            Some(other) => return Err(bad(format!("network.mlp.units must be a list, got {other}"))),
        };
        let activation = Activation::parse(mlp.get("activation")).map_err(|m| bad(format!("network.mlp: {m}")))?;
        let cont = net
            .get("space")
            .and_then(|s| s.get("continuous"))
            .ok_or_else(|| bad("network.space.continuous is missing".into()))?;
        let act = |key: &str| {
            Activation::parse(cont.get(key)).map_err(|m| bad(format!("network.space.continuous.{key}: {m}")))
        };
        let fixed_sigma = match cont.get("fixed_sigma") {
            None | Some(Value::Null) => return Err(bad("network.space.continuous.fixed_sigma is missing".into())),
            Some(v) => as_bool(v).ok_or_else(|| bad(format!("network.space.continuous.fixed_sigma: bad value {v}")))?,
        };
        let parametrization = match cont.get("sigma_parametrization").and_then(Value::as_str) {
            None | Some("exp") => SigmaParametrization::Exp,
            Some("softplus") => SigmaParametrization::Softplus,
            Some("linear") | Some("scalar") => SigmaParametrization::Linear,
            Some(other) => return Err(bad(format!("unknown sigma_parametrization '{other}'"))),
        };
        let min_sigma = match cont.get("min_sigma") {
            None | Some(Value::Null) => 0.0,
            Some(v) => as_f64(v).ok_or_else(|| bad(format!("network.space.continuous.min_sigma: bad value {v}")))?,
        };
        let logstd_bounds = match cont.get("logstd_bounds") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let pair: Option<Vec<f64>> = v.as_array().and_then(|a| a.iter().map(as_f64).collect());
                match pair.as_deref() {
                    Some([lo, hi]) if lo <= hi => Some((*lo, *hi)),
                    _ => {
                        return Err(bad(format!("network.space.continuous.logstd_bounds must be [low, high], got {v}")))
                    }
                }
            }
        };
        Ok(NetworkSpec {
            separate: net.get("separate").and_then(as_bool).unwrap_or(false),
            units,
            activation,
            mu_activation: act("mu_activation")?,
            sigma_activation: act("sigma_activation")?,
            fixed_sigma,
            parametrization,
            min_sigma,
            logstd_bounds,
        })
    }
}

/// Where the raw sigma comes from.
#[derive(Debug)]
pub enum SigmaSource {
    /// A state-independent parameter of shape (A,).
    Fixed(Tensor),
    /// A linear head on the MLP output.
    Head {
        /// (A, F).
        weight: Tensor,
        /// (A,).
        bias: Tensor,
    },
}

/// Frozen observation statistics: `y = clamp((x − mean)/sqrt(var + 1e-5), −5, 5)` in float64.
#[derive(Debug)]
pub struct ObsNormalizer {
    mean: Tensor,
    std: Tensor,
}

impl ObsNormalizer {
    /// Normalises a (N, D) batch; returns float32.
    pub fn apply(&self, x: &Tensor) -> Tensor {
        ((x.to_kind(Kind::Double) - &self.mean) / &self.std).clamp(-OBS_CLIP, OBS_CLIP).to_kind(Kind::Float)
    }
}

/// The restored actor: weights on the inference device.
#[derive(Debug)]
pub struct Policy {
    /// The network description it was built from.
    pub spec: NetworkSpec,
    /// Flat observation size D.
    pub input_dim: i64,
    /// Action dimension A.
    pub action_dim: i64,
    hidden: Vec<(Tensor, Tensor)>,
    mu: (Tensor, Tensor),
    sigma: SigmaSource,
    normalizer: Option<ObsNormalizer>,
    device: Device,
}

impl Policy {
    /// Builds the actor from a checkpoint's `network` metadata and loads its weights onto `device`.
    pub fn from_checkpoint(ckpt: &Checkpoint, normalize_input: bool, device: Device) -> PluginResult<Self> {
        let spec = NetworkSpec::from_json(&ckpt.network).map_err(|(kind, m)| {
            let e = ckpt.error(format!("network metadata: {m}"));
            PluginError { kind, ..e }
        })?;
        let d = ckpt.observation_size();
        let a = ckpt.action_dim as i64;
        let f32_on = |key: &str, shape: &[i64]| -> PluginResult<Tensor> {
            Ok(ckpt.tensor(key, Kind::Float, shape)?.to_device(device))
        };

        let mut hidden = Vec::with_capacity(spec.units.len());
        let mut features = d;
        for (i, &u) in spec.units.iter().enumerate() {
            let base = format!("a2c_network.actor_mlp.{}", 2 * i);
            let w = f32_on(&format!("{base}.weight"), &[u, features])?;
            let b = f32_on(&format!("{base}.bias"), &[u])?;
            hidden.push((w, b));
            features = u;
        }
        let extra: Vec<&str> = ckpt
            .names_with_prefix("a2c_network.actor_mlp.")
            .into_iter()
            .filter(|k| {
                !(0..spec.units.len()).any(|i| {
                    *k == format!("a2c_network.actor_mlp.{}.weight", 2 * i)
                        || *k == format!("a2c_network.actor_mlp.{}.bias", 2 * i)
                })
            })
            .collect();
        if let Some(k) = extra.first() {
            return Err(ckpt.error(format!(
                "unexpected tensor '{k}' for network.mlp.units {:?} (the network metadata does not match the weights)",
                spec.units
            )));
        }
        let mu = (f32_on("a2c_network.mu.weight", &[a, features])?, f32_on("a2c_network.mu.bias", &[a])?);
        let sigma = if spec.fixed_sigma {
            if ckpt.has("a2c_network.sigma.weight") {
                return Err(ckpt.error("network says fixed_sigma but the checkpoint has a sigma head"));
            }
            SigmaSource::Fixed(f32_on("a2c_network.sigma", &[a])?)
        } else {
            if ckpt.has("a2c_network.sigma") {
                return Err(ckpt.error("network says fixed_sigma: false but the checkpoint has a fixed sigma"));
            }
            SigmaSource::Head {
                weight: f32_on("a2c_network.sigma.weight", &[a, features])?,
                bias: f32_on("a2c_network.sigma.bias", &[a])?,
            }
        };
        let normalizer = if normalize_input {
            let shape = &ckpt.observation_shape;
            let mean = ckpt.tensor("running_mean_std.running_mean", Kind::Double, shape)?;
            let var = ckpt.tensor("running_mean_std.running_var", Kind::Double, shape)?;
            Some(ObsNormalizer {
                mean: mean.reshape([d]).to_device(device),
                std: (var.reshape([d]) + RMS_EPSILON).sqrt().to_device(device),
            })
        } else {
            None
        };
        Ok(Policy { spec, input_dim: d, action_dim: a, hidden, mu, sigma, normalizer, device })
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Whether observations are normalised before the MLP.
    pub fn normalizes_input(&self) -> bool {
        self.normalizer.is_some()
    }

    /// μ and σ for a (N, D) float32 batch already on the policy's device.
    pub fn forward(&self, obs: &Tensor) -> (Tensor, Tensor) {
        let x = match &self.normalizer {
            Some(n) => n.apply(obs),
            None => obs.shallow_clone(),
        };
        let mut h = x;
        for (w, b) in &self.hidden {
            h = self.spec.activation.apply(&h.linear(w, Some(b)));
        }
        let mu = self.spec.mu_activation.apply(&h.linear(&self.mu.0, Some(&self.mu.1)));
        let raw = match &self.sigma {
            SigmaSource::Fixed(p) => self.spec.sigma_activation.apply(p).expand_as(&mu),
            SigmaSource::Head { weight, bias } => self.spec.sigma_activation.apply(&h.linear(weight, Some(bias))),
        };
        let sigma = self.sigma_from_raw(&raw);
        (mu, sigma)
    }

    /// σ from the raw sigma output (spec §5.4).
    pub fn sigma_from_raw(&self, raw: &Tensor) -> Tensor {
        let min_sigma = self.spec.min_sigma;
        match self.spec.parametrization {
            SigmaParametrization::Exp => {
                let clamped = match self.spec.logstd_bounds {
                    Some((lo, hi)) => raw.clamp(lo, hi),
                    None => raw.shallow_clone(),
                };
                let s = clamped.exp();
                if min_sigma > 0.0 {
                    s + min_sigma
                } else {
                    s
                }
            }
            SigmaParametrization::Softplus => raw.softplus() + min_sigma,
            SigmaParametrization::Linear => {
                let f = min_sigma.max(1e-3);
                (raw - f).softplus() + f
            }
        }
    }

    /// Raw (unclipped) actions: μ when `deterministic`, else μ + σ·ξ with ξ ~ N(0, I).
    pub fn actions(&self, obs: &Tensor, deterministic: bool) -> Tensor {
        let (mu, sigma) = self.forward(obs);
        if deterministic {
            mu
        } else {
            &mu + sigma * mu.randn_like()
        }
    }

    /// Sets every element of a fixed raw sigma to `value`; a sigma head is left alone.
    pub fn set_fixed_sigma(&mut self, value: f32) -> SigmaOverride {
        match &mut self.sigma {
            SigmaSource::Fixed(p) => {
                let _ = p.fill_(value as f64);
                SigmaOverride::Applied
            }
            SigmaSource::Head { .. } => SigmaOverride::NotFixed,
        }
    }
}

/// Maps policy actions to environment units: `clamp(−1, 1)` then affine rescale to [low, high].
#[derive(Debug)]
pub struct ActionMap {
    /// Whether to clip and rescale (`clip_actions`); otherwise actions pass through raw.
    pub clip: bool,
    half_range: Tensor,
    mid: Tensor,
}

impl ActionMap {
    /// A map for the given bounds on `device`.
    pub fn new(clip: bool, low: &[f32], high: &[f32], device: Device) -> Self {
        let low = Tensor::from_slice(low).to_device(device);
        let high = Tensor::from_slice(high).to_device(device);
        ActionMap { clip, half_range: (&high - &low) / 2.0, mid: (&high + &low) / 2.0 }
    }

    /// Applies the map to (N, A) actions on the map's device.
    pub fn apply(&self, actions: &Tensor) -> Tensor {
        if self.clip {
            actions.clamp(-1.0, 1.0) * &self.half_range + &self.mid
        } else {
            actions.shallow_clone()
        }
    }
}
