//! `params.config.central_value_config` → [`CentralValueConfig`]: rl_games 1.6.5's
//! `CentralValueTrain` keys with its defaults (docs/rl_games.md §4.17).
//!
//! What rl_games reads, and only that: `learning_rate`, `mini_epochs`, `clip_value`,
//! `normalize_input` (required); `minibatch_size` or `minibatch_size_per_env`; `lr_schedule` (only
//! `linear` acts, over the agent's `max_epochs`; anything else, `adaptive` included, is a constant
//! LR: `kl_threshold` and `schedule_type` are never read, quirk 16); `e_clip` 0.2, `grad_norm` 1,
//! `truncate_grads` false, `weight_decay` 0, `freeze_critic` false; `network` with `central_value:
//! True`. `normalize_value` is the agent's.
use super::ppo::LrScheduleConfig;
use super::ranges::{check, Range};
use rlhost_model::central_value::ValueNetConfig;
use rlhost_model::section::{config_error, ConfigResult, Refusals, Section};
use rlhost_sdk::api::{ConfigKey, ValueType};
use tch::Device;

/// The asymmetric critic's own training settings and network.
#[derive(Debug, Clone, PartialEq)]
pub struct CentralValueConfig {
    /// `network`: the value MLP.
    pub network: ValueNetConfig,
    /// Contiguous minibatch rows of the critic's own passes; divides the batch.
    pub minibatch_size: i64,
    /// Passes over the batch per epoch.
    pub mini_epochs: i64,
    /// Initial Adam learning rate.
    pub learning_rate: f64,
    /// `Linear` (over the agent's `max_epochs`, min 1e-6) or `Identity`.
    pub lr_schedule: LrScheduleConfig,
    /// Value clip range (`e_clip` of this block, default 0.2).
    pub e_clip: f64,
    /// Clipped value loss.
    pub clip_value: bool,
    /// Running mean/std of the states.
    pub normalize_input: bool,
    /// Global gradient-norm clip when `truncate_grads`.
    pub grad_norm: f64,
    pub truncate_grads: bool,
    pub weight_decay: f64,
    /// `freeze_critic`: no critic updates at all.
    pub freeze_critic: bool,
    /// `mixed_precision` of this block, on CUDA: the critic's minibatch step runs under float16
    /// autocast, without loss scaling (rl_games 1.6.5's `CentralValueTrain.train`); off on the CPU.
    pub mixed_precision: bool,
}

impl CentralValueConfig {
    /// Batch rows / minibatch rows.
    pub fn num_minibatches(&self, batch: i64) -> i64 {
        batch / self.minibatch_size
    }

    /// Records the keys of the block that ask for something not built yet.
    pub fn refusals(cv: &Section<'_>, out: &mut Refusals) -> ConfigResult<()> {
        if let Some(network) = cv.child("network")? {
            ValueNetConfig::refusals(&network, out)?;
        }
        if let Some(model) = cv.child("model")? {
            let name = model.str_req("name")?;
            if name != "central_value" {
                out.refuse(model.key_path("name"), format!("model '{name}', only central_value"));
            }
        }
        Ok(())
    }

    /// Parses the block for a batch of `num_actors` × `horizon_length` rows; `max_epochs` is the
    /// agent's (rl_games passes it to the critic's linear schedule); `device` the training device.
    pub fn parse(
        cv: &Section<'_>,
        num_actors: i64,
        batch: i64,
        max_epochs: i64,
        device: Device,
        warn: &mut dyn FnMut(String),
    ) -> ConfigResult<Self> {
        let p = |key: &str| cv.key_path(key);
        let minibatch_size = match cv.opt_i64("minibatch_size")? {
            Some(m) => m,
            None => match cv.opt_i64("minibatch_size_per_env")? {
                Some(per_env) => per_env * num_actors,
                None => {
                    return Err(config_error(
                        &p("minibatch_size"),
                        "required key is missing (or set minibatch_size_per_env)",
                    ))
                }
            },
        };
        if minibatch_size <= 0 {
            return Err(config_error(&p("minibatch_size"), format!("must be positive, got {minibatch_size}")));
        }
        if batch % minibatch_size != 0 {
            return Err(config_error(
                &p("minibatch_size"),
                format!("batch size {batch} is not divisible by the central value minibatch_size {minibatch_size}"),
            ));
        }
        let lr_schedule = if cv.opt_str("lr_schedule")? == Some("linear") {
            if max_epochs == -1 {
                warn(format!(
                    "{}: linear with max_epochs -1: as in rl_games 1.6.5 the central value learning rate becomes 1e-6 after the first epoch",
                    p("lr_schedule")
                ));
            }
            LrScheduleConfig::Linear {
                min_lr: 1e-6,
                max_steps: max_epochs as f64,
                use_epochs: true,
                schedule_entropy: false,
            }
        } else {
            LrScheduleConfig::Identity
        };
        let mixed_precision = cv.bool_or("mixed_precision", false)?;
        if mixed_precision && !device.is_cuda() {
            warn(CV_MIXED_PRECISION_OFF_ON_CPU.into());
        }
        let truncate_grads = cv.bool_or("truncate_grads", false)?;
        let grad_norm = cv.f64_or("grad_norm", 1.0)?;
        if truncate_grads {
            check(&p("grad_norm"), grad_norm, Range::Positive)?;
        }
        Ok(CentralValueConfig {
            network: ValueNetConfig::parse(&cv.child_req("network")?)?,
            minibatch_size,
            mini_epochs: cv.positive_req("mini_epochs")?,
            learning_rate: check(&p("learning_rate"), cv.f64_req("learning_rate")?, Range::Positive)?,
            lr_schedule,
            e_clip: check(&p("e_clip"), cv.f64_or("e_clip", 0.2)?, Range::Positive)?,
            clip_value: cv.bool_req("clip_value")?,
            normalize_input: cv.bool_req("normalize_input")?,
            grad_norm,
            truncate_grads,
            weight_decay: check(&p("weight_decay"), cv.f64_or("weight_decay", 0.0)?, Range::NonNegative)?,
            freeze_critic: cv.bool_or("freeze_critic", false)?,
            mixed_precision,
        })
    }
}

/// The one line `central_value_config.mixed_precision: True` gives on the CPU, where torch
/// disables CUDA autocast (and the critic's GradScaler, with a warning) and trains in float32.
pub const CV_MIXED_PRECISION_OFF_ON_CPU: &str =
    "central_value_config.mixed_precision: True, but the device is the CPU: mixed precision is off for the central value (torch disables CUDA autocast there, as in rl_games), training in float32";

/// Every `central_value_config` key: the ones read above, the ones rl_games 1.6.5 accepts and
/// never reads (`kl_threshold`, `schedule_type`, which Isaac Lab's configs set), and the network's.
pub fn config_keys() -> Vec<ConfigKey> {
    use ValueType::*;
    [
        ("minibatch_size", Int),
        ("minibatch_size_per_env", Int),
        ("mini_epochs", Int),
        ("learning_rate", Float),
        ("lr_schedule", String),
        ("kl_threshold", Float),
        ("schedule_type", String),
        ("e_clip", Float),
        ("clip_value", Bool),
        ("normalize_input", Bool),
        ("truncate_grads", Bool),
        ("grad_norm", Float),
        ("weight_decay", Float),
        ("freeze_critic", Bool),
        ("mixed_precision", Bool),
        ("model", Map),
        ("model.name", String),
        ("network", Map),
    ]
    .into_iter()
    .map(|(path, ty)| ConfigKey::new(&format!("config.central_value_config.{path}"), ty))
    .chain(rlhost_model::central_value::config_keys())
    .collect()
}
