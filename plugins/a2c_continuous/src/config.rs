//! `params` → typed configuration, with rl_games' defaults and rules (spec §3.1–§3.3).
//!
//! Every error is one line naming the key path (`params.config.minibatch_size: ...`). Numeric values
//! may arrive as strings (`"3e-4"`, as PyYAML reads them); booleans as `"True"`/`"false"`. Keys for
//! rl_games features this plugin does not implement are refused with [`ErrorKind::Unsupported`];
//! unknown keys are ignored (the host warns about them).
use rlhost_sdk::{ErrorKind, PluginError};
use serde_json::{Map, Value};

/// Results of parsing.
pub type ConfigResult<T> = Result<T, PluginError>;

fn config_error(path: &str, what: impl std::fmt::Display) -> PluginError {
    PluginError::new(ErrorKind::Config, format!("{path}: {what}"))
}

fn unsupported(path: &str, what: &str) -> PluginError {
    PluginError::new(ErrorKind::Unsupported, format!("{path}: {what} is not supported yet by a2c_continuous"))
}

/// A JSON object and the key path that leads to it, for error messages.
#[derive(Clone, Copy)]
pub struct Section<'a> {
    path: &'a str,
    map: &'a Map<String, Value>,
}

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

impl<'a> Section<'a> {
    /// Wraps `value` (which must be an object) found at `path`.
    pub fn new(path: &'a str, value: &'a Value) -> ConfigResult<Self> {
        match value {
            Value::Object(map) => Ok(Section { path, map }),
            other => Err(config_error(path, format!("expected a map, got {other}"))),
        }
    }

    /// An empty section (for optional maps that are absent).
    pub fn empty(path: &'a str) -> Self {
        Section { path, map: EMPTY.get_or_init(Map::new) }
    }

    /// The full path of `key`.
    pub fn key_path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// The raw value, `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether the key is present (even as null).
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// A nested map, `None` when absent.
    pub fn section(&self, key: &str, path: &'a str) -> ConfigResult<Option<Section<'a>>> {
        self.get(key).map(|v| Section::new(path, v)).transpose()
    }

    /// A number (or numeric string), `None` when absent.
    pub fn opt_f64(&self, key: &str) -> ConfigResult<Option<f64>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        let parsed = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => parse_number(s),
            Value::Bool(_) => None,
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| config_error(&self.key_path(key), format!("expected a number, got {v}")))
    }

    /// A required number.
    pub fn f64_req(&self, key: &str) -> ConfigResult<f64> {
        self.opt_f64(key)?.ok_or_else(|| config_error(&self.key_path(key), "required key is missing"))
    }

    /// A number with a default.
    pub fn f64_or(&self, key: &str, default: f64) -> ConfigResult<f64> {
        Ok(self.opt_f64(key)?.unwrap_or(default))
    }

    /// An integer (or integral numeric string), `None` when absent.
    pub fn opt_i64(&self, key: &str) -> ConfigResult<Option<i64>> {
        match self.opt_f64(key)? {
            None => Ok(None),
            Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(Some(x as i64)),
            Some(x) => Err(config_error(&self.key_path(key), format!("expected an integer, got {x}"))),
        }
    }

    /// A required integer.
    pub fn i64_req(&self, key: &str) -> ConfigResult<i64> {
        self.opt_i64(key)?.ok_or_else(|| config_error(&self.key_path(key), "required key is missing"))
    }

    /// An integer with a default.
    pub fn i64_or(&self, key: &str, default: i64) -> ConfigResult<i64> {
        Ok(self.opt_i64(key)?.unwrap_or(default))
    }

    /// A required positive integer.
    pub fn positive_req(&self, key: &str) -> ConfigResult<i64> {
        let v = self.i64_req(key)?;
        if v <= 0 {
            return Err(config_error(&self.key_path(key), format!("must be positive, got {v}")));
        }
        Ok(v)
    }

    /// A boolean (or `"true"`/`"True"`/`"false"`/`"False"`), `None` when absent.
    pub fn opt_bool(&self, key: &str) -> ConfigResult<Option<bool>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        match v {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Value::Number(n) if n.as_i64() == Some(0) => Ok(Some(false)),
            Value::Number(n) if n.as_i64() == Some(1) => Ok(Some(true)),
            other => Err(config_error(&self.key_path(key), format!("expected true or false, got {other}"))),
        }
    }

    /// A required boolean.
    pub fn bool_req(&self, key: &str) -> ConfigResult<bool> {
        self.opt_bool(key)?.ok_or_else(|| config_error(&self.key_path(key), "required key is missing"))
    }

    /// A boolean with a default.
    pub fn bool_or(&self, key: &str, default: bool) -> ConfigResult<bool> {
        Ok(self.opt_bool(key)?.unwrap_or(default))
    }

    /// A string, `None` when absent or null.
    pub fn opt_str(&self, key: &str) -> ConfigResult<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(config_error(&self.key_path(key), format!("expected a string, got {other}"))),
        }
    }

    /// A required string.
    pub fn str_req(&self, key: &str) -> ConfigResult<&'a str> {
        self.opt_str(key)?.ok_or_else(|| config_error(&self.key_path(key), "required key is missing"))
    }

    /// Refuses a feature that is switched on (present, not null, not false/0/empty).
    pub fn refuse_if_enabled(&self, key: &str, what: &str) -> ConfigResult<()> {
        let enabled = match self.get(key) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !(s.is_empty() || s.eq_ignore_ascii_case("false") || s == "None"),
            Some(Value::Object(m)) => !m.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
            Some(Value::Null) => false,
        };
        if enabled {
            return Err(unsupported(&self.key_path(key), what));
        }
        Ok(())
    }
}

/// Parses a numeric string the way Python's `float()` does for YAML scalars.
fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    t.replace('_', "").parse::<f64>().ok()
}

// ------------------------------------------------------------------------------------------------
// Network (`params.network`, spec §3.3 and §5)
// ------------------------------------------------------------------------------------------------

/// A hidden or head activation (spec §2 "activations").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `None`: identity.
    Identity,
    Relu,
    Tanh,
    Sigmoid,
    Elu,
    Selu,
    /// `swish`: SiLU.
    Swish,
    Gelu,
    Softplus,
}

impl Activation {
    fn parse(path: &str, name: Option<&str>) -> ConfigResult<Self> {
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

/// `mode` of a fan-based initializer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    FanIn,
    FanOut,
    FanAvg,
}

/// A weight initializer with its arguments (spec §5.2 table).
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
    /// Parses `{name, ...kwargs}` at `path`.
    pub fn parse(section: Section<'_>) -> ConfigResult<Self> {
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
}

/// How the raw σ output becomes a standard deviation (spec §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigmaParametrization {
    /// σ = exp(raw) (raw is a log-std).
    Exp,
    /// σ = softplus(raw) + min_sigma.
    Softplus,
    /// σ = f + softplus(raw − f), f = max(min_sigma, 1e-3) (`linear`, alias `scalar`).
    Linear,
}

/// `params.network` for `actor_critic` with an MLP.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// Separate critic MLP (same shape) instead of a shared trunk.
    pub separate: bool,
    /// Hidden sizes.
    pub units: Vec<i64>,
    /// Hidden activation.
    pub activation: Activation,
    /// Initializer of every Linear weight.
    pub initializer: Initializer,
    /// Activation on the value head.
    pub value_activation: Activation,
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

impl NetworkConfig {
    /// Parses `params.network`.
    pub fn parse(network: Section<'_>) -> ConfigResult<Self> {
        let name = network.str_req("name")?;
        if name != "actor_critic" {
            return Err(unsupported("params.network.name", &format!("network '{name}' (only actor_critic)")));
        }
        network.refuse_if_enabled("rnn", "an RNN (rnn)")?;
        network.refuse_if_enabled("cnn", "a CNN tower (cnn)")?;
        if let Some(norm) = network.opt_str("normalization")? {
            if norm != "None" && !norm.is_empty() {
                return Err(unsupported("params.network.normalization", &format!("normalization '{norm}'")));
            }
        }
        let mlp = network
            .section("mlp", "params.network.mlp")?
            .ok_or_else(|| config_error("params.network.mlp", "required key is missing"))?;
        mlp.refuse_if_enabled("d2rl", "the D2RL MLP (d2rl)")?;
        let units = match mlp.get("units") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|u| match u.as_i64().or_else(|| u.as_str().and_then(|s| s.trim().parse().ok())) {
                    Some(n) if n > 0 => Ok(n),
                    _ => Err(config_error("params.network.mlp.units", format!("expected positive integers, got {u}"))),
                })
                .collect::<ConfigResult<Vec<i64>>>()?,
            Some(other) => {
                return Err(config_error("params.network.mlp.units", format!("expected a list, got {other}")))
            }
            None => return Err(config_error("params.network.mlp.units", "required key is missing")),
        };
        let activation = Activation::parse("params.network.mlp.activation", Some(mlp.str_req("activation")?))?;
        let initializer = match mlp.section("initializer", "params.network.mlp.initializer")? {
            Some(s) => Initializer::parse(s)?,
            None => return Err(config_error("params.network.mlp.initializer", "required key is missing")),
        };
        let value_activation =
            Activation::parse("params.network.value_activation", network.opt_str("value_activation")?)?;

        let space = network
            .section("space", "params.network.space")?
            .ok_or_else(|| config_error("params.network.space", "required key is missing"))?;
        if space.has("discrete") || space.has("multi_discrete") {
            return Err(unsupported("params.network.space", "a discrete action space"));
        }
        let cont = space
            .section("continuous", "params.network.space.continuous")?
            .ok_or_else(|| config_error("params.network.space.continuous", "required key is missing"))?;
        let mu_activation =
            Activation::parse("params.network.space.continuous.mu_activation", Some(cont.str_req("mu_activation")?))?;
        let sigma_activation = Activation::parse(
            "params.network.space.continuous.sigma_activation",
            Some(cont.str_req("sigma_activation")?),
        )?;
        let init_of = |key: &str, path: &'static str| -> ConfigResult<Initializer> {
            match cont.section(key, path)? {
                Some(s) => Initializer::parse(s),
                None => Err(config_error(path, "required key is missing")),
            }
        };
        let mu_init = init_of("mu_init", "params.network.space.continuous.mu_init")?;
        let sigma_init = init_of("sigma_init", "params.network.space.continuous.sigma_init")?;
        let fixed_sigma = cont.bool_req("fixed_sigma")?;
        let sigma_parametrization = match cont.opt_str("sigma_parametrization")?.unwrap_or("exp") {
            "exp" => SigmaParametrization::Exp,
            "softplus" => SigmaParametrization::Softplus,
            "linear" | "scalar" => SigmaParametrization::Linear,
            other => {
                return Err(config_error(
                    "params.network.space.continuous.sigma_parametrization",
                    format!("unknown value '{other}' (expected exp, softplus or linear)"),
                ))
            }
        };
        let min_sigma = cont.f64_or("min_sigma", 0.0)?;
        if min_sigma < 0.0 {
            return Err(config_error("params.network.space.continuous.min_sigma", "must be >= 0"));
        }
        let logstd_bounds = match cont.get("logstd_bounds") {
            None => None,
            Some(Value::Array(v)) if v.len() == 2 => {
                let num = |x: &Value| x.as_f64().or_else(|| x.as_str().and_then(parse_number));
                match (num(&v[0]), num(&v[1])) {
                    (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                    _ => {
                        return Err(config_error(
                            "params.network.space.continuous.logstd_bounds",
                            "expected [low, high] with low <= high",
                        ))
                    }
                }
            }
            Some(other) => {
                return Err(config_error(
                    "params.network.space.continuous.logstd_bounds",
                    format!("expected [low, high], got {other}"),
                ))
            }
        };
        Ok(NetworkConfig {
            separate: network.bool_or("separate", false)?,
            units,
            activation,
            initializer,
            value_activation,
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

// ------------------------------------------------------------------------------------------------
// Algorithm (`params.config`, spec §3.2)
// ------------------------------------------------------------------------------------------------

/// `reward_shaper`: `r' = clamp((r + shift)·scale, min, max)`, then `ln` if `log_val` (spec §4.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RewardShaper {
    pub scale_value: f64,
    pub shift_value: f64,
    pub min_val: f64,
    pub max_val: f64,
    pub log_val: bool,
}

/// The learning-rate schedule (spec §4.10).
#[derive(Debug, Clone, PartialEq)]
pub enum LrScheduleConfig {
    /// LR never changes.
    Identity,
    /// KL-adaptive.
    Adaptive { kl_threshold: f64, min_lr: f64, max_lr: f64, lr_multiplier: f64 },
    /// Linear decay over epochs (`use_epochs`) or frames.
    Linear { min_lr: f64, max_steps: f64, use_epochs: bool, schedule_entropy: bool },
}

/// When the scheduler is called (`schedule_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleType {
    /// After every minibatch with its KL (`per_minibatch`, alias `legacy`; the default).
    PerMinibatch,
    /// After every mini-epoch with the mean KL (`standard`).
    Standard,
    /// Documented by rl_games but never updates the LR for continuous PPO (quirk 7).
    StandardEpoch,
}

/// What the μ-bound loss penalises (`bound_loss_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundLossType {
    /// Σ max(μ−1.1, 0)² + min(μ+1.1, 0)².
    Bound,
    /// Σ μ².
    Regularisation,
    /// Any other name: zero.
    Zero,
}

/// `params.config` for continuous PPO.
#[derive(Debug, Clone, PartialEq)]
pub struct PpoConfig {
    pub name: String,
    pub num_actors: i64,
    pub horizon_length: i64,
    pub minibatch_size: i64,
    pub mini_epochs: i64,
    pub gamma: f64,
    pub tau: f64,
    pub learning_rate: f64,
    pub lr_schedule: LrScheduleConfig,
    pub schedule_type: ScheduleType,
    pub e_clip: f64,
    pub clip_value: bool,
    pub critic_coef: f64,
    pub entropy_coef: f64,
    /// `None` when absent or null: treated as 0 and `losses/bounds_loss` not logged.
    pub bounds_loss_coef: Option<f64>,
    pub bound_loss_type: BoundLossType,
    pub grad_norm: f64,
    pub truncate_grads: bool,
    pub weight_decay: f64,
    pub normalize_input: bool,
    pub normalize_value: bool,
    pub normalize_advantage: bool,
    pub value_bootstrap: bool,
    pub reward_shaper: RewardShaper,
    pub clip_actions: bool,
    pub use_smooth_clamp: bool,
    /// `ppo: false` gives the plain policy-gradient loss `nlp·Â`.
    pub ppo: bool,
    pub max_epochs: i64,
    pub max_frames: i64,
    pub score_to_win: Option<f64>,
    pub save_best_after: i64,
    pub save_frequency: i64,
    pub print_stats: bool,
    pub games_to_track: usize,
    pub epochs_between_resets: i64,
    pub freeze_critic: bool,
    pub seq_length: i64,
}

impl PpoConfig {
    /// Batch size B = H·N (agents = 1).
    pub fn batch_size(&self) -> i64 {
        self.horizon_length * self.num_actors
    }

    /// Number of contiguous minibatches per mini-epoch.
    pub fn num_minibatches(&self) -> i64 {
        self.batch_size() / self.minibatch_size
    }

    /// Parses `params.config`; `warn` receives notes such as the linear-schedule fallback.
    pub fn parse(config: Section<'_>, warn: &mut dyn FnMut(String)) -> ConfigResult<Self> {
        refuse_unsupported(config)?;
        let name = config.str_req("name")?.to_string();
        let num_actors = config.positive_req("num_actors")?;
        let horizon_length = config.positive_req("horizon_length")?;
        let batch = num_actors * horizon_length;
        let minibatch_size = match config.opt_i64("minibatch_size")? {
            Some(m) => m,
            None => match config.opt_i64("minibatch_size_per_env")? {
                Some(per_env) if per_env > 0 => per_env * num_actors,
                _ => {
                    return Err(config_error(
                        "params.config.minibatch_size",
                        "required key is missing (or set minibatch_size_per_env)",
                    ))
                }
            },
        };
        if minibatch_size <= 0 {
            return Err(config_error(
                "params.config.minibatch_size",
                format!("must be positive, got {minibatch_size}"),
            ));
        }
        if batch % minibatch_size != 0 {
            return Err(config_error(
                "params.config.minibatch_size",
                format!(
                    "batch size {batch} (num_actors {num_actors} x horizon_length {horizon_length}) is not divisible by minibatch_size {minibatch_size}"
                ),
            ));
        }
        let seq_length = config.i64_or("seq_length", 4)?;
        if seq_length <= 0 || batch % seq_length != 0 {
            return Err(config_error(
                "params.config.seq_length",
                format!("batch size {batch} is not divisible by seq_length {seq_length}"),
            ));
        }
        let mini_epochs = config.positive_req("mini_epochs")?;
        let max_epochs = config.i64_or("max_epochs", -1)?;
        let max_frames = config.i64_or("max_frames", -1)?.max(config.i64_or("max_steps", -1)?);

        let min_lr_default = 1e-6;
        let lr_schedule = match config.opt_str("lr_schedule")? {
            Some("adaptive") => {
                let kl_threshold = config.f64_req("kl_threshold")?;
                LrScheduleConfig::Adaptive {
                    kl_threshold,
                    min_lr: config.f64_or("min_lr", min_lr_default)?,
                    max_lr: config.f64_or("max_lr", 1e-2)?,
                    lr_multiplier: config.f64_or("lr_multiplier", 1.5)?,
                }
            }
            Some("linear") => {
                let (max_steps, use_epochs) = if max_epochs != -1 {
                    (max_epochs as f64, true)
                } else if max_frames != -1 {
                    (max_frames as f64, false)
                } else {
                    (0.0, false)
                };
                if max_steps <= 0.0 {
                    warn("Linear lr schedule requires max_epochs or max_frames; falling back to identity".into());
                    LrScheduleConfig::Identity
                } else {
                    LrScheduleConfig::Linear {
                        min_lr: config.f64_or("min_lr", min_lr_default)?,
                        max_steps,
                        use_epochs,
                        schedule_entropy: config.bool_or("schedule_entropy", false)?,
                    }
                }
            }
            // rl_games: anything else (including null) is the identity schedule.
            _ => {
                if !config.has("lr_schedule") {
                    return Err(config_error("params.config.lr_schedule", "required key is missing (null is allowed)"));
                }
                LrScheduleConfig::Identity
            }
        };
        let schedule_type = match config.opt_str("schedule_type")?.unwrap_or("per_minibatch") {
            "per_minibatch" | "legacy" => ScheduleType::PerMinibatch,
            "standard" => ScheduleType::Standard,
            "standard_epoch" => ScheduleType::StandardEpoch,
            other => {
                return Err(config_error(
                    "params.config.schedule_type",
                    format!("unknown value '{other}' (expected per_minibatch, legacy, standard or standard_epoch)"),
                ))
            }
        };
        let bound_loss_type = match config.opt_str("bound_loss_type")?.unwrap_or("bound") {
            "bound" => BoundLossType::Bound,
            "regularisation" => BoundLossType::Regularisation,
            _ => BoundLossType::Zero,
        };
        let shaper = config
            .section("reward_shaper", "params.config.reward_shaper")?
            .or_else(|| config.has("reward_shaper").then(|| Section::empty("params.config.reward_shaper")))
            .ok_or_else(|| config_error("params.config.reward_shaper", "required key is missing ({} is allowed)"))?;
        let reward_shaper = RewardShaper {
            scale_value: shaper.f64_or("scale_value", 1.0)?,
            shift_value: shaper.f64_or("shift_value", 0.0)?,
            min_val: shaper.f64_or("min_val", f64::NEG_INFINITY)?,
            max_val: shaper.f64_or("max_val", f64::INFINITY)?,
            log_val: shaper.bool_or("log_val", false)?,
        };
        let games_to_track = config.i64_or("games_to_track", 100)?;
        if games_to_track <= 0 {
            return Err(config_error("params.config.games_to_track", "must be positive"));
        }
        Ok(PpoConfig {
            name,
            num_actors,
            horizon_length,
            minibatch_size,
            mini_epochs,
            gamma: config.f64_req("gamma")?,
            tau: config.f64_req("tau")?,
            learning_rate: config.f64_req("learning_rate")?,
            lr_schedule,
            schedule_type,
            e_clip: config.f64_req("e_clip")?,
            clip_value: config.bool_req("clip_value")?,
            critic_coef: config.f64_req("critic_coef")?,
            entropy_coef: config.f64_req("entropy_coef")?,
            bounds_loss_coef: config.opt_f64("bounds_loss_coef")?,
            bound_loss_type,
            grad_norm: config.f64_req("grad_norm")?,
            truncate_grads: config.bool_or("truncate_grads", false)?,
            weight_decay: config.f64_or("weight_decay", 0.0)?,
            normalize_input: config.bool_req("normalize_input")?,
            normalize_value: config.bool_or("normalize_value", false)?,
            normalize_advantage: config.bool_req("normalize_advantage")?,
            value_bootstrap: config.bool_or("value_bootstrap", true)?,
            reward_shaper,
            clip_actions: config.bool_or("clip_actions", true)?,
            use_smooth_clamp: config.bool_or("use_smooth_clamp", false)?,
            ppo: config.bool_or("ppo", true)?,
            max_epochs,
            max_frames,
            score_to_win: config.opt_f64("score_to_win")?,
            save_best_after: config.i64_or("save_best_after", 100)?,
            save_frequency: config.i64_or("save_frequency", 0)?,
            print_stats: config.bool_or("print_stats", true)?,
            games_to_track: games_to_track as usize,
            epochs_between_resets: config.i64_or("epochs_between_resets", 0)?,
            freeze_critic: config.bool_or("freeze_critic", false)?,
            seq_length,
        })
    }
}

/// rl_games features that change the algorithm and are not implemented here.
fn refuse_unsupported(config: Section<'_>) -> ConfigResult<()> {
    config.refuse_if_enabled("central_value_config", "an asymmetric critic (central_value_config)")?;
    config.refuse_if_enabled("mixed_precision", "bf16 mixed precision (mixed_precision: true)")?;
    config.refuse_if_enabled("normalize_rms_advantage", "the EMA advantage normaliser (normalize_rms_advantage)")?;
    config.refuse_if_enabled("multi_gpu", "multi-GPU training (multi_gpu)")?;
    config.refuse_if_enabled("self_play_config", "self-play (self_play_config)")?;
    config.refuse_if_enabled("population_based_training", "population-based training")?;
    config.refuse_if_enabled("use_diagnostics", "diagnostics scalars (use_diagnostics)")?;
    config.refuse_if_enabled("stop_fn", "a custom stop function (stop_fn)")?;
    config.refuse_if_enabled("env_info", "an injected env_info")?;
    config.refuse_if_enabled("vec_env", "an injected vec_env")?;
    Ok(())
}

/// The whole parsed `params` block.
#[derive(Debug, Clone)]
pub struct Params {
    pub network: NetworkConfig,
    pub config: PpoConfig,
    /// `params` as received, stored in checkpoints.
    pub raw: Value,
}

impl Params {
    /// Parses the JSON text of `params`.
    pub fn parse(json: &str, warn: &mut dyn FnMut(String)) -> ConfigResult<Self> {
        let raw: Value =
            serde_json::from_str(json).map_err(|e| config_error("params", format!("invalid JSON: {e}")))?;
        let params = Section::new("params", &raw)?;
        if let Some(algo) = params.section("algo", "params.algo")? {
            let name = algo.str_req("name")?;
            if name != "a2c_continuous" {
                return Err(config_error("params.algo.name", format!("'{name}' is not a2c_continuous")));
            }
        }
        let model = params
            .section("model", "params.model")?
            .ok_or_else(|| config_error("params.model", "required key is missing"))?;
        let model_name = model.str_req("name")?;
        if model_name != "continuous_a2c_logstd" {
            return Err(unsupported(
                "params.model.name",
                &format!("model '{model_name}' (only continuous_a2c_logstd)"),
            ));
        }
        let network = params
            .section("network", "params.network")?
            .ok_or_else(|| config_error("params.network", "required key is missing"))?;
        let config = params
            .section("config", "params.config")?
            .ok_or_else(|| config_error("params.config", "required key is missing"))?;
        Ok(Params {
            network: NetworkConfig::parse(network)?,
            config: PpoConfig::parse(config, warn)?,
            raw: raw.clone(),
        })
    }

    /// `params.network` as JSON (checkpoint metadata).
    pub fn network_json(&self) -> String {
        self.raw.get("network").map(|v| v.to_string()).unwrap_or_else(|| "{}".into())
    }
}
