//! `params.config` → [`PpoConfig`] with rl_games' defaults and rules (docs/rl_games.md §3.2), and the whole
//! parsed `params` block ([`Params`], docs/rl_games.md §3.1).
//!
//! Values are read through [`rlhost_model::section`], so numbers may be strings and booleans
//! `"True"` or 0/1, exactly as every other rlhost plugin reads them.
use super::central_value::CentralValueConfig;
use super::network::{Arithmetic, NetworkConfig};
use super::ranges::{check, ordered, Range};
use rlhost_model::section::{config_error, ConfigResult, Refusals, Section};
use serde_json::Value;
use tch::Device;

/// `reward_shaper`: `r' = clamp((r + shift)·scale, min, max)`, then `ln` if `log_val` (docs/rl_games.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RewardShaper {
    pub scale_value: f64,
    pub shift_value: f64,
    pub min_val: f64,
    pub max_val: f64,
    pub log_val: bool,
}

/// The learning-rate schedule (docs/rl_games.md §4.10).
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
    /// `zero_rnn_on_done` (default true): a recurrent policy's states are zeroed where an
    /// episode ended, in the rollout and (through the done flags) in the update.
    pub zero_rnn_on_done: bool,
    /// `mixed_precision` as configured: on CUDA the policy update runs under bf16 autocast with a
    /// GradScaler (rl_games'); on the CPU torch disables both, and this plugin trains in float32.
    pub mixed_precision: bool,
    /// `use_diagnostics`: rl_games' `PpoDiagnostics` scalars (docs/rl_games.md §7.3).
    pub use_diagnostics: bool,
    /// `central_value_config`: rl_games' asymmetric critic (docs/rl_games.md §4.17).
    pub central_value: Option<CentralValueConfig>,
    /// `arithmetic`: rlhost's fused kernels (`fast`, the default) or rl_games' ops to the bit
    /// (`rl_games`), for the networks this algorithm trains.
    pub arithmetic: Arithmetic,
    /// Whether the actor-critic's own value head is trained (its critic loss): always without a
    /// central value; with one, `use_experimental_cv` (default true in rl_games 1.6.5).
    pub has_value_loss: bool,
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

    /// Parses `params.config` for training on `device`; `warn` receives notes such as the
    /// linear-schedule fallback. Every refused key is reported in one error.
    pub fn parse(config: Section<'_>, device: Device, warn: &mut dyn FnMut(String)) -> ConfigResult<Self> {
        let mut refused = Refusals::default();
        Self::refusals(&config, &mut refused)?;
        refused.into_result()?;
        let mixed_precision = config.bool_or("mixed_precision", false)?;
        if mixed_precision && !device.is_cuda() {
            warn(MIXED_PRECISION_OFF_ON_CPU.into());
        }
        if config.has("seq_len") {
            // rl_games 1.6.5 (`a2c_common.py`) only warns: seq_len's value is never read.
            warn("WARNING: seq_len is deprecated, use seq_length instead".into());
        }
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

        let p = |key: &str| config.key_path(key);
        let min_lr_default = 1e-6;
        let lr_schedule = match config.opt_str("lr_schedule")? {
            Some("adaptive") => {
                let kl_threshold = check(&p("kl_threshold"), config.f64_req("kl_threshold")?, Range::Positive)?;
                let min_lr = check(&p("min_lr"), config.f64_or("min_lr", min_lr_default)?, Range::NonNegative)?;
                let max_lr = check(&p("max_lr"), config.f64_or("max_lr", 1e-2)?, Range::Positive)?;
                ordered(&p("min_lr"), min_lr, &p("max_lr"), max_lr)?;
                let lr_multiplier =
                    check(&p("lr_multiplier"), config.f64_or("lr_multiplier", 1.5)?, Range::AtLeastOne)?;
                LrScheduleConfig::Adaptive { kl_threshold, min_lr, max_lr, lr_multiplier }
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
                        min_lr: check(&p("min_lr"), config.f64_or("min_lr", min_lr_default)?, Range::NonNegative)?,
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
            scale_value: check(&shaper.key_path("scale_value"), shaper.f64_or("scale_value", 1.0)?, Range::Finite)?,
            shift_value: check(&shaper.key_path("shift_value"), shaper.f64_or("shift_value", 0.0)?, Range::Finite)?,
            min_val: shaper.f64_or("min_val", f64::NEG_INFINITY)?,
            max_val: shaper.f64_or("max_val", f64::INFINITY)?,
            log_val: shaper.bool_or("log_val", false)?,
        };
        let (min_val, max_val) = (reward_shaper.min_val, reward_shaper.max_val);
        if min_val.is_nan() || max_val.is_nan() {
            let key = if min_val.is_nan() { "min_val" } else { "max_val" };
            return Err(config_error(&shaper.key_path(key), "must be a number or +-inf, got NaN"));
        }
        ordered(&shaper.key_path("min_val"), min_val, &shaper.key_path("max_val"), max_val)?;
        let games_to_track = config.i64_or("games_to_track", 100)?;
        if games_to_track <= 0 {
            return Err(config_error("params.config.games_to_track", "must be positive"));
        }
        let truncate_grads = config.bool_or("truncate_grads", false)?;
        let grad_norm = config.f64_req("grad_norm")?;
        if truncate_grads {
            check(&p("grad_norm"), grad_norm, Range::Positive)?;
        }
        let central_value = match central_value_section(&config)? {
            Some(cv) => Some(CentralValueConfig::parse(&cv, num_actors, batch, max_epochs, device, warn)?),
            None => None,
        };
        let has_value_loss = central_value.is_none() || config.bool_or("use_experimental_cv", true)?;
        Ok(PpoConfig {
            name,
            num_actors,
            horizon_length,
            minibatch_size,
            mini_epochs,
            gamma: check(&p("gamma"), config.f64_req("gamma")?, Range::UnitOpenClosed)?,
            tau: check(&p("tau"), config.f64_req("tau")?, Range::UnitOpenClosed)?,
            learning_rate: check(&p("learning_rate"), config.f64_req("learning_rate")?, Range::Positive)?,
            lr_schedule,
            schedule_type,
            e_clip: check(&p("e_clip"), config.f64_req("e_clip")?, Range::Positive)?,
            clip_value: config.bool_req("clip_value")?,
            critic_coef: check(&p("critic_coef"), config.f64_req("critic_coef")?, Range::NonNegative)?,
            entropy_coef: check(&p("entropy_coef"), config.f64_req("entropy_coef")?, Range::NonNegative)?,
            bounds_loss_coef: config.opt_f64("bounds_loss_coef")?,
            bound_loss_type,
            grad_norm,
            truncate_grads,
            weight_decay: check(&p("weight_decay"), config.f64_or("weight_decay", 0.0)?, Range::NonNegative)?,
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
            zero_rnn_on_done: config.bool_or("zero_rnn_on_done", true)?,
            mixed_precision,
            use_diagnostics: config.bool_or("use_diagnostics", false)?,
            central_value,
            has_value_loss,
            arithmetic: Arithmetic::parse(&config.key_path(Arithmetic::KEY), config.opt_str(Arithmetic::KEY)?)?,
        })
    }

    /// Records the rl_games features of `params.config` that change the algorithm and are not
    /// implemented here.
    pub fn refusals(config: &Section<'_>, out: &mut Refusals) -> ConfigResult<()> {
        if let Some(cv) = central_value_section(config)? {
            CentralValueConfig::refusals(&cv, out)?;
        }
        out.check(config, "normalize_rms_advantage", "the EMA advantage normaliser");
        out.check(config, "self_play_config", "self-play");
        out.check(config, "population_based_training", "population-based training");
        out.check(config, "stop_fn", "a custom stop function");
        out.check(config, "env_info", "an injected env_info");
        out.check(config, "vec_env", "an injected vec_env");
        Ok(())
    }
}

/// `central_value_config` as a block; absent or null is no central value (rl_games:
/// `config.get('central_value_config', None) is not None`).
fn central_value_section<'a>(config: &Section<'a>) -> ConfigResult<Option<Section<'a>>> {
    match config.get("central_value_config") {
        None | Some(Value::Null) => Ok(None),
        Some(_) => config.child("central_value_config"),
    }
}

/// The one line `mixed_precision: True` gives on the CPU, where rl_games' torch disables CUDA
/// autocast and the GradScaler (with a warning) and trains in float32.
pub const MIXED_PRECISION_OFF_ON_CPU: &str =
    "mixed_precision: True, but the device is the CPU: mixed precision is off (torch disables CUDA autocast and the GradScaler there, as in rl_games), training in float32";

/// The whole parsed `params` block.
#[derive(Debug, Clone)]
pub struct Params {
    pub network: NetworkConfig,
    pub config: PpoConfig,
    /// `params` as received, stored in checkpoints.
    pub raw: Value,
}

impl Params {
    /// Parses the JSON text of `params` for training on the CPU.
    pub fn parse(json: &str, warn: &mut dyn FnMut(String)) -> ConfigResult<Self> {
        Params::parse_on(json, Device::Cpu, warn)
    }

    /// Parses the JSON text of `params` for training on `device`; every refused key of the
    /// model, network and config blocks is reported in one error.
    pub fn parse_on(json: &str, device: Device, warn: &mut dyn FnMut(String)) -> ConfigResult<Self> {
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
        let network = params
            .section("network", "params.network")?
            .ok_or_else(|| config_error("params.network", "required key is missing"))?;
        let config = params
            .section("config", "params.config")?
            .ok_or_else(|| config_error("params.config", "required key is missing"))?;
        let mut refused = Refusals::default();
        if model_name != "continuous_a2c_logstd" {
            refused.refuse("params.model.name", format!("model '{model_name}', only continuous_a2c_logstd"));
        }
        NetworkConfig::refusals(&network, &mut refused)?;
        PpoConfig::refusals(&config, &mut refused)?;
        refused.into_result()?;
        let mut config = PpoConfig::parse(config, device, warn)?;
        let mut network = NetworkConfig::parse(&network)?;
        // One source: `params.config.arithmetic` decides for every network the algorithm trains.
        network.arithmetic = config.arithmetic;
        if let Some(cv) = config.central_value.as_mut() {
            cv.network.arithmetic = config.arithmetic;
        }
        Ok(Params { network, config, raw: raw.clone() })
    }

    /// `params.network` as JSON (checkpoint metadata).
    pub fn network_json(&self) -> String {
        self.raw.get("network").map(|v| v.to_string()).unwrap_or_else(|| "{}".into())
    }
}
