//! The `a2c_continuous` player plugin: rl_games' `PpoPlayerContinuous` for rlhost.
//!
//! - [`config`]: settings read from rl_games' `params` block.
//! - [`player`]: the [`NativePlayer`](rlhost_sdk::NativePlayer) implementation and its run loop.
//! - [`export`]: `export_onnx`, the deterministic policy as an ONNX file.
//!
//! The checkpoint reader, the network (built from the checkpoint's `network` metadata with the
//! trainer's parser), the observation normaliser and the action mapping are `rlhost-model`'s,
//! the same code the `a2c_continuous` trainer runs.
#![allow(non_local_definitions)]

pub mod config;
pub mod export;
pub mod keys;
pub mod player;

pub use player::{create_player, PpoPlayer};

/// The plugin's id.
pub const PLUGIN_ID: &str = "org.rlhost.ppo_player";

/// The plugin's manifest.
pub fn manifest() -> rlhost_sdk::api::PluginManifest {
    rlhost_sdk::manifest(
        PLUGIN_ID,
        "PPO player",
        env!("CARGO_PKG_VERSION"),
        "Plays a2c_continuous checkpoints like rl_games' PpoPlayerContinuous.",
    )
}

rlhost_sdk::export_plugin! {
    manifest: manifest,
    algos: [],
    players: [("a2c_continuous", player::create_player, keys::config_keys)],
    envs: [],
}
