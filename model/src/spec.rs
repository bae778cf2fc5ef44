//! `params.network` → a typed network description (docs/rl_games.md §3.3 and §5).
//!
//! Today only `actor_critic` with an MLP and a continuous head is built. The `rnn` and `cnn`
//! blocks are refused here, in [`NetworkConfig::refusals`], and will become optional fields of
//! [`NetworkConfig`]; a central value network (`central_value_config.network`) is the same block
//! at another key path, which [`Section`] carries.
use crate::section::{config_error, parse_number, ConfigResult, Refusals, Section};
use rlhost_sdk::api::{ConfigKey, ValueType};
use serde_json::Value;

/// A hidden or head activation (docs/rl_games.md §2 "activations").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `None`: identity.
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
    /// `swish`: SiLU.
    Swish,
    /// `gelu` (exact erf form).
    Gelu,
    /// `softplus` (β = 1, threshold 20).
    Softplus,
}

impl Activation {
    /// Parses an rl_games activation name found at `path`; absent means identity.
    pub fn parse(path: &str, name: Option<&str>) -> ConfigResult<Self> {
        Ok(match name.unwrap_or("None") {
            "None" | "none" | "" | "identity" => Activation::Identity,
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "elu" => Activation::Elu,
            "selu" => Activation::Selu,
            "swish" => Activation::Swish,
            "gelu" => Activation::Gelu,
            "softplus" => Activation::Softplus,
            other => {
                return Err(config_error(
                    path,
                    format!("unknown activation '{other}' (expected None, relu, tanh, sigmoid, elu, selu, swish, gelu or softplus)"),
                ))
            }
        })
    }
}

/// How a network computes: libtorch's own kernels, the arithmetic of rl_games to the bit, or
/// rlhost's fused kernels (`torch-shim/src/fused.cpp`), faster and float noise apart
/// (`params.config.arithmetic`; docs/rl_games.md §"Arithmetic").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arithmetic {
    /// `fast` (the default): fused ELU forward and backward.
    #[default]
    Fast,
    /// `rl_games`: every op as rl_games 1.6.5 runs it, for the A/B harness and same-seed tests.
    RlGames,
}

impl Arithmetic {
    /// The config key that selects it, under `params.config`.
    pub const KEY: &'static str = "arithmetic";

    /// Parses `fast` or `rl_games` found at `path`; absent means [`Arithmetic::Fast`].
    pub fn parse(path: &str, name: Option<&str>) -> ConfigResult<Self> {
        match name {
            None | Some("fast") => Ok(Arithmetic::Fast),
            Some("rl_games") => Ok(Arithmetic::RlGames),
            Some(other) => Err(config_error(path, format!("unknown arithmetic '{other}' (expected fast or rl_games)"))),
        }
    }
}

/// `mode` of a fan-based initializer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    /// `fan_in`.
    FanIn,
    /// `fan_out`.
    FanOut,
    /// `fan_avg`.
    FanAvg,
}

/// A weight initializer with its arguments (docs/rl_games.md §5.2 table).
#[derive(Debug, Clone, PartialEq)]
pub enum Initializer {
    /// Leave the framework default (PyTorch Linear: U(±1/√fan_in)).
    Default,
    /// Every element = `val`.
    Const { val: f64 },
    /// Orthogonal with `gain`.
    Orthogonal { gain: f64 },
    /// N(0, gain²·2/(fan_in+fan_out)).
    GlorotNormal { gain: f64 },
    /// U(±gain·√(6/(fan_in+fan_out))).
    GlorotUniform { gain: f64 },
    /// N(0, scale/fan) truncated to the absolute range [−2, 2] (quirk 13).
    VarianceScaling { scale: f64, mode: FanMode },
    /// U(a, b).
    RandomUniform { a: f64, b: f64 },
    /// He normal: std = gain(nonlinearity, a)/√fan.
    KaimingNormal { a: f64, mode: FanMode, nonlinearity: String },
}

impl Initializer {
    /// Parses `{name, ...kwargs}`.
    pub fn parse(section: &Section<'_>) -> ConfigResult<Self> {
        let name = section.str_req("name")?;
        let mode = |default: FanMode| -> ConfigResult<FanMode> {
            Ok(match section.opt_str("mode")? {
                None => default,
                Some("fan_in") => FanMode::FanIn,
                Some("fan_out") => FanMode::FanOut,
                Some("fan_avg") => FanMode::FanAvg,
                Some(other) => return Err(config_error(&section.key_path("mode"), format!("unknown mode '{other}'"))),
            })
        };
        Ok(match name {
            "default" => Initializer::Default,
            "const_initializer" => {
                let val = match section.opt_f64("val")? {
                    Some(v) => v,
                    None => section.f64_or("value", 0.0)?,
                };
                Initializer::Const { val }
            }
            "orthogonal_initializer" | "orthogonal" => Initializer::Orthogonal { gain: section.f64_or("gain", 1.0)? },
            "glorot_normal_initializer" => Initializer::GlorotNormal { gain: section.f64_or("gain", 1.0)? },
            "glorot_uniform_initializer" => Initializer::GlorotUniform { gain: section.f64_or("gain", 1.0)? },
            "variance_scaling_initializer" => {
                Initializer::VarianceScaling { scale: section.f64_or("scale", 2.0)?, mode: mode(FanMode::FanIn)? }
            }
            "random_uniform_initializer" => {
                Initializer::RandomUniform { a: section.f64_or("a", 0.0)?, b: section.f64_or("b", 1.0)? }
            }
            "kaiming_normal" => Initializer::KaimingNormal {
                a: section.f64_or("a", 0.0)?,
                mode: mode(FanMode::FanIn)?,
                nonlinearity: section.opt_str("nonlinearity")?.unwrap_or("leaky_relu").to_string(),
            },
            other => return Err(config_error(&section.key_path("name"), format!("unknown initializer '{other}'"))),
        })
    }

    /// A required initializer block `key` of `parent`.
    fn required(parent: &Section<'_>, key: &str) -> ConfigResult<Self> {
        Initializer::parse(&parent.child_req(key)?)
    }
}

/// How the raw σ output becomes a standard deviation (docs/rl_games.md §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigmaParametrization {
    /// σ = exp(raw) (raw is a log-std).
    Exp,
    /// σ = softplus(raw) + min_sigma.
    Softplus,
    /// σ = f + softplus(raw − f), f = max(min_sigma, 1e-3) (`linear`, alias `scalar`).
    Linear,
}

/// `network.mlp`: the hidden layers of the actor (and of the critic when separate).
#[derive(Debug, Clone, PartialEq)]
pub struct MlpSpec {
    /// Hidden sizes.
    pub units: Vec<i64>,
    /// Hidden activation.
    pub activation: Activation,
    /// Initializer of every Linear weight.
    pub initializer: Initializer,
}

impl MlpSpec {
    /// Parses `network.mlp`.
    pub fn parse(mlp: &Section<'_>) -> ConfigResult<Self> {
        mlp.refuse_if_enabled("d2rl", "the D2RL MLP (d2rl)")?;
        let units_path = mlp.key_path("units");
        let units = match mlp.get("units") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|u| match u.as_i64().or_else(|| u.as_str().and_then(|s| s.trim().parse().ok())) {
                    Some(n) if n > 0 => Ok(n),
                    _ => Err(config_error(&units_path, format!("expected positive integers, got {u}"))),
                })
                .collect::<ConfigResult<Vec<i64>>>()?,
            Some(other) => return Err(config_error(&units_path, format!("expected a list, got {other}"))),
            None => return Err(config_error(&units_path, "required key is missing")),
        };
        let activation = Activation::parse(&mlp.key_path("activation"), Some(mlp.str_req("activation")?))?;
        let initializer = Initializer::required(mlp, "initializer")?;
        Ok(MlpSpec { units, activation, initializer })
    }
}

/// `network.space.continuous`: the Gaussian policy head (`continuous_a2c_logstd`).
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousHead {
    /// Activation on the μ head.
    pub mu_activation: Activation,
    /// Activation on the raw σ output.
    pub sigma_activation: Activation,
    /// Initializer of the μ weight.
    pub mu_init: Initializer,
    /// Initializer of the σ parameter or head.
    pub sigma_init: Initializer,
    /// State-independent σ parameter vector.
    pub fixed_sigma: bool,
    /// raw → σ mapping.
    pub sigma_parametrization: SigmaParametrization,
    /// σ floor.
    pub min_sigma: f64,
    /// Clamp of the raw log-std (exp only).
    pub logstd_bounds: Option<(f64, f64)>,
}

impl ContinuousHead {
    /// Parses `network.space.continuous`.
    pub fn parse(cont: &Section<'_>) -> ConfigResult<Self> {
        let act = |key: &str| Activation::parse(&cont.key_path(key), Some(cont.str_req(key)?));
        let mu_activation = act("mu_activation")?;
        let sigma_activation = act("sigma_activation")?;
        let mu_init = Initializer::required(cont, "mu_init")?;
        let sigma_init = Initializer::required(cont, "sigma_init")?;
        let fixed_sigma = cont.bool_req("fixed_sigma")?;
        let sigma_parametrization = match cont.opt_str("sigma_parametrization")?.unwrap_or("exp") {
            "exp" => SigmaParametrization::Exp,
            "softplus" => SigmaParametrization::Softplus,
            "linear" | "scalar" => SigmaParametrization::Linear,
            other => {
                return Err(config_error(
                    &cont.key_path("sigma_parametrization"),
                    format!("unknown value '{other}' (expected exp, softplus or linear)"),
                ))
            }
        };
        let min_sigma = cont.f64_or("min_sigma", 0.0)?;
        if min_sigma < 0.0 {
            return Err(config_error(&cont.key_path("min_sigma"), "must be >= 0"));
        }
        let bounds_path = cont.key_path("logstd_bounds");
        let logstd_bounds = match cont.get("logstd_bounds") {
            None => None,
            Some(Value::Array(v)) if v.len() == 2 => {
                let num = |x: &Value| x.as_f64().or_else(|| x.as_str().and_then(parse_number));
                match (num(&v[0]), num(&v[1])) {
                    (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                    _ => return Err(config_error(&bounds_path, "expected [low, high] with low <= high")),
                }
            }
            Some(other) => return Err(config_error(&bounds_path, format!("expected [low, high], got {other}"))),
        };
        Ok(ContinuousHead {
            mu_activation,
            sigma_activation,
            mu_init,
            sigma_init,
            fixed_sigma,
            sigma_parametrization,
            min_sigma,
            logstd_bounds,
        })
    }
}

/// `params.network` for `actor_critic` with an MLP and a continuous head.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// Separate critic MLP (same shape) instead of a shared trunk.
    pub separate: bool,
    /// The hidden layers.
    pub mlp: MlpSpec,
    /// Activation on the value head.
    pub value_activation: Activation,
    /// The policy head.
    pub head: ContinuousHead,
    /// How it computes; not part of `params.network`: the algorithm sets it from its own config.
    pub arithmetic: Arithmetic,
}

/// Records the keys of an `actor_critic` network block whose trunk asks for something not built
/// yet: another network, the rnn and cnn towers, normalisation, D2RL. Shared by the policy's
/// network and the central value network.
pub(crate) fn trunk_refusals(network: &Section<'_>, out: &mut Refusals) -> ConfigResult<()> {
    let name = network.str_req("name")?;
    if name != "actor_critic" {
        out.refuse(network.key_path("name"), format!("network '{name}', only actor_critic"));
    }
    // The places where recurrent and convolutional towers will be read.
    out.check(network, "rnn", "an RNN");
    out.check(network, "cnn", "a CNN tower");
    if let Some(norm) = network.opt_str("normalization")? {
        if norm != "None" && !norm.is_empty() {
            out.refuse(network.key_path("normalization"), format!("normalization '{norm}'"));
        }
    }
    if let Some(mlp) = network.child("mlp")? {
        out.check(&mlp, "d2rl", "the D2RL MLP");
    }
    Ok(())
}

impl NetworkConfig {
    /// Records every key of this block that asks for a feature not implemented yet (the rnn
    /// and cnn towers, normalisation, D2RL, another network or a discrete space).
    pub fn refusals(network: &Section<'_>, out: &mut Refusals) -> ConfigResult<()> {
        trunk_refusals(network, out)?;
        if let Some(space) = network.child("space")? {
            for key in ["discrete", "multi_discrete"] {
                if space.has(key) {
                    out.refuse(space.key_path(key), "a discrete action space");
                }
            }
        }
        Ok(())
    }

    /// Parses `params.network` (or the same block at another path); refused features are
    /// reported together in one error ([`NetworkConfig::refusals`]).
    pub fn parse(network: &Section<'_>) -> ConfigResult<Self> {
        let mut refused = Refusals::default();
        Self::refusals(network, &mut refused)?;
        refused.into_result()?;
        let mlp = MlpSpec::parse(&network.child_req("mlp")?)?;
        let value_activation =
            Activation::parse(&network.key_path("value_activation"), network.opt_str("value_activation")?)?;
        let space = network.child_req("space")?;
        let head = ContinuousHead::parse(&space.child_req("continuous")?)?;
        Ok(NetworkConfig {
            separate: network.bool_or("separate", false)?,
            mlp,
            value_activation,
            head,
            arithmetic: Arithmetic::default(),
        })
    }

    /// Parses a `network` block given as JSON (a checkpoint's `network` metadata), named `path`.
    pub fn from_json(path: &str, network: &Value) -> ConfigResult<Self> {
        NetworkConfig::parse(&Section::new(path, network)?)
    }
}

/// Every `params.network` key this parser reads (or refuses), for the host's typo warnings.
pub fn config_keys() -> Vec<ConfigKey> {
    use ValueType::*;
    [
        ("network.name", String),
        ("network.separate", Bool),
        ("network.normalization", Any),
        ("network.value_activation", String),
        ("network.rnn", Map),
        ("network.cnn", Map),
        ("network.value_shape", Any),
        ("network.mlp.units", List),
        ("network.mlp.activation", String),
        ("network.mlp.initializer", Map),
        ("network.mlp.d2rl", Bool),
        ("network.mlp.norm_only_first_layer", Bool),
        ("network.mlp.regularizer", Map),
        ("network.space.continuous.mu_activation", String),
        ("network.space.continuous.sigma_activation", String),
        ("network.space.continuous.mu_init", Map),
        ("network.space.continuous.sigma_init", Map),
        ("network.space.continuous.fixed_sigma", Bool),
        ("network.space.continuous.sigma_parametrization", String),
        ("network.space.continuous.min_sigma", Float),
        ("network.space.continuous.logstd_bounds", List),
    ]
    .into_iter()
    .map(|(path, ty)| ConfigKey::new(path, ty))
    .collect()
}
