//! `params.network` → a typed network description (docs/rl_games.md §3.3 and §5).
//!
//! Today `actor_critic` with an optional `cnn` tower ([`CnnSpec`]), an MLP, an optional `rnn`
//! ([`RnnSpec`]) and a continuous head is built; what is not is refused in
//! [`NetworkConfig::refusals`]. A central value network (`central_value_config.network`) is the same block
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

/// The recurrent cell of `network.rnn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RnnKind {
    /// `lstm`: `torch.nn.LSTM` (hidden and cell state).
    Lstm,
    /// `gru`: `torch.nn.GRU` (hidden state only).
    Gru,
}

impl RnnKind {
    /// Gates per cell: the row blocks of `weight_ih`/`weight_hh` (i, f, g, o or r, z, n).
    pub fn gates(self) -> i64 {
        match self {
            RnnKind::Lstm => 4,
            RnnKind::Gru => 3,
        }
    }

    /// State tensors per cell: (h, c) for an LSTM, h for a GRU.
    pub fn states(self) -> usize {
        match self {
            RnnKind::Lstm => 2,
            RnnKind::Gru => 1,
        }
    }
}

/// `network.rnn`: the recurrent layer of rl_games' `A2CBuilder` (docs/rl_games.md §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RnnSpec {
    /// `name`: lstm or gru.
    pub kind: RnnKind,
    /// `units`: hidden size.
    pub units: i64,
    /// `layers`: stacked cells.
    pub layers: i64,
    /// `before_mlp`: the RNN reads the observations and the MLP reads its output; otherwise the
    /// RNN reads the MLP's output and the heads read the RNN's.
    pub before_mlp: bool,
    /// `concat_input`: after-MLP RNNs read `[mlp(x), x]` (rl_games ignores it with `before_mlp`).
    pub concat_input: bool,
    /// `concat_output`: `[rnn(..), x]` goes on (to the MLP with `before_mlp`, else to the heads).
    pub concat_output: bool,
    /// `layer_norm`: `LayerNorm(units)` on the RNN's output.
    pub layer_norm: bool,
}

impl RnnSpec {
    /// The `rnn` block of a network block whose MLP is `mlp`, if any (rl_games: `has_rnn = 'rnn'
    /// in params`, so any `rnn` block is built). Shared by the policy's and the central value's.
    pub(crate) fn parse_in(network: &Section<'_>, mlp: &MlpSpec) -> ConfigResult<Option<Self>> {
        let rnn = network.child("rnn")?.map(|rnn| RnnSpec::parse(&rnn)).transpose()?;
        if rnn.is_some_and(|r| r.before_mlp) && mlp.units.is_empty() {
            // rl_games sizes the heads from the observations then, and its forward fails.
            return Err(config_error(&network.key_path("rnn.before_mlp"), "needs at least one mlp.units layer"));
        }
        Ok(rnn)
    }

    /// Parses `network.rnn` (rl_games reads `name`, `units`, `layers` unconditionally).
    pub fn parse(rnn: &Section<'_>) -> ConfigResult<Self> {
        let kind = match rnn.str_req("name")? {
            "lstm" => RnnKind::Lstm,
            "gru" => RnnKind::Gru,
            other => {
                return Err(config_error(
                    &rnn.key_path("name"),
                    format!("unknown rnn '{other}' (expected lstm or gru)"),
                ))
            }
        };
        Ok(RnnSpec {
            kind,
            units: rnn.positive_req("units")?,
            layers: rnn.positive_req("layers")?,
            before_mlp: rnn.bool_or("before_mlp", false)?,
            concat_input: rnn.bool_or("concat_input", false)?,
            concat_output: rnn.bool_or("concat_output", false)?,
            layer_norm: rnn.bool_or("layer_norm", false)?,
        })
    }
}

/// The convolution of `network.cnn.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvKind {
    /// `conv2d`: `torch.nn.Conv2d` on (C, H, W) inputs.
    Conv2d,
    /// `conv1d`: `torch.nn.Conv1d` on (C, L) inputs.
    Conv1d,
}

/// One entry of `network.cnn.convs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSpec {
    /// `filters`: output channels.
    pub filters: i64,
    /// `kernel_size` (square for conv2d).
    pub kernel_size: i64,
    /// `strides`.
    pub strides: i64,
    /// `padding` (zeros, both sides).
    pub padding: i64,
}

/// `network.cnn`: rl_games' convolutional tower (docs/rl_games.md §5.7).
#[derive(Debug, Clone, PartialEq)]
pub struct CnnSpec {
    /// `type`: conv2d or conv1d.
    pub kind: ConvKind,
    /// `activation` after every convolution.
    pub activation: Activation,
    /// `initializer` of the convolution weights (biases are zeroed).
    pub initializer: Initializer,
    /// `convs`, in order.
    pub convs: Vec<ConvSpec>,
    /// `permute_input` (default true): (B, H, W, C) observations become (B, C, H, W).
    pub permute_input: bool,
}

impl CnnSpec {
    /// Parses `network.cnn` (rl_games reads `type`, `convs`, `activation`, `initializer`).
    pub fn parse(cnn: &Section<'_>) -> ConfigResult<Self> {
        let kind = match cnn.str_req("type")? {
            "conv2d" => ConvKind::Conv2d,
            "conv1d" => ConvKind::Conv1d,
            other => {
                return Err(config_error(
                    &cnn.key_path("type"),
                    format!("unknown or unsupported cnn type '{other}' (expected conv2d or conv1d)"),
                ))
            }
        };
        let activation = Activation::parse(&cnn.key_path("activation"), Some(cnn.str_req("activation")?))?;
        let initializer = Initializer::required(cnn, "initializer")?;
        let path = cnn.key_path("convs");
        let Some(Value::Array(list)) = cnn.get("convs") else {
            return Err(config_error(&path, "required list of {filters, kernel_size, strides, padding}"));
        };
        let mut convs = Vec::with_capacity(list.len());
        for (i, conv) in list.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let c = Section::new(&at, conv)?;
            let padding = c.i64_req("padding")?;
            if padding < 0 {
                return Err(config_error(&c.key_path("padding"), format!("must be >= 0, got {padding}")));
            }
            convs.push(ConvSpec {
                filters: c.positive_req("filters")?,
                kernel_size: c.positive_req("kernel_size")?,
                strides: c.positive_req("strides")?,
                padding,
            });
        }
        Ok(CnnSpec { kind, activation, initializer, convs, permute_input: cnn.bool_or("permute_input", true)? })
    }
}

/// `params.network` for `actor_critic` with an MLP and a continuous head.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// Separate critic MLP (same shape) instead of a shared trunk.
    pub separate: bool,
    /// The hidden layers.
    pub mlp: MlpSpec,
    /// `network.rnn`: a recurrent layer (with `separate`, one per branch).
    pub rnn: Option<RnnSpec>,
    /// `network.cnn`: a convolutional tower before everything (with `separate`, one per branch).
    pub cnn: Option<CnnSpec>,
    /// Activation on the value head.
    pub value_activation: Activation,
    /// The policy head.
    pub head: ContinuousHead,
    /// How it computes; not part of `params.network`: the algorithm sets it from its own config.
    pub arithmetic: Arithmetic,
}

/// Records the keys of an `actor_critic` network block whose trunk asks for something not built
/// yet: another network, the identity RNN, normalisation, D2RL. Shared by the policy's network and
/// the central value network.
pub(crate) fn trunk_refusals(network: &Section<'_>, out: &mut Refusals) -> ConfigResult<()> {
    let name = network.str_req("name")?;
    if name != "actor_critic" {
        out.refuse(network.key_path("name"), format!("network '{name}', only actor_critic"));
    }
    // The policy's `cnn` is built (`NetworkConfig::parse`), a central value network's is not
    // (`ValueNetConfig::refusals`).
    if let Some(norm) = network.opt_str("normalization")? {
        if norm != "None" && !norm.is_empty() {
            out.refuse(network.key_path("normalization"), format!("normalization '{norm}'"));
        }
    }
    if let Some(mlp) = network.child("mlp")? {
        out.check(&mlp, "d2rl", "the D2RL MLP");
    }
    if let Some(rnn) = network.child("rnn")? {
        if rnn.opt_str("name")? == Some("identity") {
            out.refuse(rnn.key_path("name"), "the identity RNN");
        }
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
        let rnn = RnnSpec::parse_in(network, &mlp)?;
        // rl_games: `'cnn' in params`.
        let cnn = network.child("cnn")?.map(|cnn| CnnSpec::parse(&cnn)).transpose()?;
        Ok(NetworkConfig {
            separate: network.bool_or("separate", false)?,
            mlp,
            rnn,
            cnn,
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
        ("network.cnn", Map),
        ("network.cnn.type", String),
        ("network.cnn.activation", String),
        ("network.cnn.initializer", Map),
        ("network.cnn.regularizer", Map),
        ("network.cnn.convs", List),
        ("network.cnn.permute_input", Bool),
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
    .chain(rnn_config_keys("network"))
    .collect()
}

/// The keys of an `rnn` block inside the network block at `network` (the policy's and the
/// central value's read the same ones).
pub(crate) fn rnn_config_keys(network: &str) -> impl Iterator<Item = ConfigKey> + '_ {
    use ValueType::*;
    [
        ("", Map),
        (".name", String),
        (".units", Int),
        (".layers", Int),
        (".before_mlp", Bool),
        (".concat_input", Bool),
        (".concat_output", Bool),
        (".layer_norm", Bool),
    ]
    .into_iter()
    .map(move |(key, ty)| ConfigKey::new(&format!("{network}.rnn{key}"), ty))
}
