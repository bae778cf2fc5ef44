//! The `a2c_continuous` player plugin: rl_games' `PpoPlayerContinuous` for rlhost.
//!
//! - [`config`]: settings read from rl_games' `params` block.
//! - [`checkpoint`]: reading rlhost `a2c_continuous` safetensors checkpoints.
//! - [`policy`]: the actor network (MLP, μ and σ heads, observation normaliser) and action mapping.
//! - [`player`]: the [`NativePlayer`](rlhost_sdk::NativePlayer) implementation and its run loop.
#![allow(non_local_definitions)]

pub mod checkpoint;
pub mod config;
pub mod player;
pub mod policy;

pub use player::{create_player, PpoPlayer};

/// The plugin's manifest.
pub fn manifest() -> rlhost_sdk::api::PluginManifest {
    rlhost_sdk::manifest(
        "org.rlhost.ppo_player",
        "PPO player",
        env!("CARGO_PKG_VERSION"),
        "Plays a2c_continuous checkpoints like rl_games' PpoPlayerContinuous.",
    )
}

rlhost_sdk::export_plugin! {
    manifest: manifest,
    algos: [],
    players: [("a2c_continuous", player::create_player)],
    envs: [],
}
