//! rl_games' continuous PPO (`a2c_continuous`) as an rlhost algorithm plugin.
//!
//! The modules follow the order the algorithm runs, CleanRL-style:
//! - [`config`]: `params` → typed configuration with rl_games' defaults (docs/rl_games.md §3).
//! - The model itself (network spec, `actor_critic` MLP, initializers, σ parametrisation (§5),
//!   the observation/value normalisers (§4.11), the action mapping and the checkpoint contract)
//!   is the `rlhost-model` crate, shared with the player plugin.
//! - [`rollout`]: H steps of N envs into preallocated buffers, action mapping, reward shaping,
//!   time-out bootstrap (§4.3–4.4); [`gae`]: advantages (§4.5).
//! - [`update`]: dataset preparation and the minibatch loop (§4.6–4.9) with the [`losses`], the
//!   [`adam`] optimiser and the LR [`schedule`] (§4.10); with `mixed_precision` on CUDA, under
//!   bf16 autocast with the [`grad_scaler`].
//! - [`central_value`]: rl_games' asymmetric critic on the env's `states`, trained before the
//!   policy each epoch (§4.17).
//! - [`diagnostics`]: rl_games' `use_diagnostics` scalars (§7.3).
//! - [`distributed`]: data-parallel training across processes (`multi_gpu`, c10d through the shim).
//! - [`meters`]: episode statistics (§4.13); [`nonfinite`]: where a NaN came from.
//! - [`agent`]: the epoch loop, logging, checkpoint triggers, save/restore.
//!
//! rl_games quirks (docs/rl_games.md §11) are reproduced and named where they happen ("quirk N"); the
//! decisions are listed in this crate's `README.md`.
#![allow(non_local_definitions)]

pub mod adam;
pub mod agent;
pub mod central_value;
pub mod config;
pub mod diagnostics;
pub mod distributed;
pub mod gae;
pub mod grad_scaler;
pub mod losses;
pub mod meters;
pub mod nonfinite;
pub mod rollout;
pub mod schedule;
pub mod update;

pub use agent::{PpoAgent, PLUGIN_ID};

use rlhost_sdk::api::{AgentBox, AlgoArgs, PluginManifest};
use rlhost_sdk::PluginError;

fn manifest() -> PluginManifest {
    rlhost_sdk::manifest(
        PLUGIN_ID,
        "rl_games continuous PPO",
        env!("CARGO_PKG_VERSION"),
        "rl_games' a2c_continuous PPO trainer (MLP actor-critic, Gaussian policy) re-implemented with tch.",
    )
}

/// The `a2c_continuous` algorithm builder.
pub fn build_a2c_continuous(args: AlgoArgs) -> Result<AgentBox, PluginError> {
    Ok(rlhost_sdk::agent_box(PpoAgent::new(args)?))
}

rlhost_sdk::export_plugin! {
    manifest: manifest,
    algos: [("a2c_continuous", build_a2c_continuous, config::keys::config_keys)],
    players: [],
    envs: [],
}
