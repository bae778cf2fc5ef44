//! `params` → typed configuration, with rl_games' defaults and rules (docs/rl_games.md §3.1–§3.3).
//!
//! Every error is one line naming the key path (`params.config.minibatch_size: ...`). The reader
//! ([`Section`]) is [`rlhost_model::section`]; keys for rl_games features this plugin does not
//! implement are refused with `ErrorKind::Unsupported`; unknown keys are ignored (the host warns).
//! - [`network`]: `params.network` (the shared [`rlhost_model::spec`]).
//! - [`ppo`]: `params.config` ([`PpoConfig`]) and the whole block ([`Params`]);
//! - [`central_value`]: `params.config.central_value_config` ([`CentralValueConfig`]);
//! - [`ranges`]: the allowed ranges of its numbers and of the environment's action bounds.
pub mod central_value;
pub mod keys;
pub mod network;
pub mod ppo;
pub mod ranges;

pub use central_value::CentralValueConfig;
pub use network::{Activation, ContinuousHead, FanMode, Initializer, MlpSpec, NetworkConfig, SigmaParametrization};
pub use ppo::{BoundLossType, LrScheduleConfig, Params, PpoConfig, RewardShaper, ScheduleType};
pub use rlhost_model::section::{ConfigResult, Section};
