//! Gymnasium 1.4.0's MuJoCo v5 locomotion tasks as a native rlhost environment plugin.
//!
//! `Ant-v5`, `HalfCheetah-v5`, `Hopper-v5`, `Walker2d-v5` and `Humanoid-v5` run on the MuJoCo
//! C library of the `mujoco` 3.17.0 wheel (linked with an rpath, see `build.rs`), load
//! Gymnasium's own XML models, and compute observations, rewards and terminations as
//! Gymnasium's `*_v5.py` classes do; their keyword arguments are `env_config` keys.
//! - [`ffi`] and [`model`]: the C functions and their safe owners.
//! - [`task`] and [`tasks`]: what each task computes from a simulation.
//! - [`batch`]: N environments on a thread pool, time limits, auto-reset, the plugin trait.
//! - [`rng`]: the counter-based reset noise; [`config`]: `env_config`; [`assets`]: model files.
#![allow(non_local_definitions)]

pub mod assets;
pub mod batch;
pub mod config;
pub mod ffi;
pub mod model;
pub mod rng;
pub mod task;
pub mod tasks;

pub use batch::{MujocoEnv, Outcome};

use config::{declared_keys, ConfigReader, KeySpec};
use model::Model;
use rlhost_sdk::api::{ConfigKey, EnvArgs, VecEnvBox};
use rlhost_sdk::tensor::tch_device;
use rlhost_sdk::{vec_env_box, PluginError};
use std::sync::Arc;
use task::Task;
use tasks::{ant, half_cheetah, hopper, humanoid, walker2d};

/// Every environment name this plugin offers.
pub const KNOWN_ENVS: &[&str] = &[ant::NAME, half_cheetah::NAME, hopper::NAME, walker2d::NAME, humanoid::NAME];

/// The task-specific keys and default model file of `name`.
fn task_keys(name: &str) -> Option<(&'static [KeySpec], String)> {
    Some(match name {
        ant::NAME => (ant::KEYS, ant::Ant::defaults().xml_file),
        half_cheetah::NAME => (half_cheetah::KEYS, half_cheetah::HalfCheetah::defaults().xml_file),
        hopper::NAME => (hopper::KEYS, hopper::Hopper::defaults().xml_file),
        walker2d::NAME => (walker2d::KEYS, walker2d::Walker2d::defaults().xml_file),
        humanoid::NAME => (humanoid::KEYS, humanoid::Humanoid::defaults().xml_file),
        _ => return None,
    })
}

/// Reads the task's keyword arguments for a loaded model.
fn make_task(name: &str, c: &ConfigReader, model: &Model) -> Result<Arc<dyn Task>, PluginError> {
    Ok(match name {
        ant::NAME => Arc::new(ant::Ant::from_config(c, model)?),
        half_cheetah::NAME => Arc::new(half_cheetah::HalfCheetah::from_config(c, model)?),
        hopper::NAME => Arc::new(hopper::Hopper::from_config(c, model)?),
        walker2d::NAME => Arc::new(walker2d::Walker2d::from_config(c, model)?),
        humanoid::NAME => Arc::new(humanoid::Humanoid::from_config(c, model)?),
        other => return Err(rlhost_sdk::adapt::unknown_builder("environment", other, KNOWN_ENVS)),
    })
}

/// Builds the named environments from builder arguments (their `config_json` is `env_config`).
pub fn make_env(name: &str, args: &EnvArgs) -> Result<MujocoEnv, PluginError> {
    let Some((_, default_xml)) = task_keys(name) else {
        return Err(rlhost_sdk::adapt::unknown_builder("environment", name, KNOWN_ENVS));
    };
    let c = ConfigReader::parse(name, args.config_json.as_str())?;
    let xml_file = c.string("xml_file")?.unwrap_or(default_xml);
    let model = Model::load(&assets::model_path(name, &xml_file, args.config_dir.as_str())?)?;
    let task = make_task(name, &c, &model)?;
    MujocoEnv::new(name, task, model, args.num_envs, args.seed, tch_device(args.device)?, &c)
}

/// Builds the named environments, boxed for the plugin boundary.
pub fn build_env(name: &str, args: &EnvArgs) -> Result<VecEnvBox, PluginError> {
    vec_env_box(make_env(name, args)?)
}

/// The `env_config` keys of `name` (the plugin's and the task's).
pub fn config_keys(name: &str) -> Vec<ConfigKey> {
    task_keys(name).map_or_else(Vec::new, |(keys, _)| declared_keys(keys))
}

fn build_ant(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(ant::NAME, &args)
}
fn build_half_cheetah(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(half_cheetah::NAME, &args)
}
fn build_hopper(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(hopper::NAME, &args)
}
fn build_walker2d(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(walker2d::NAME, &args)
}
fn build_humanoid(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(humanoid::NAME, &args)
}
fn ant_keys() -> Vec<ConfigKey> {
    config_keys(ant::NAME)
}
fn half_cheetah_keys() -> Vec<ConfigKey> {
    config_keys(half_cheetah::NAME)
}
fn hopper_keys() -> Vec<ConfigKey> {
    config_keys(hopper::NAME)
}
fn walker2d_keys() -> Vec<ConfigKey> {
    config_keys(walker2d::NAME)
}
fn humanoid_keys() -> Vec<ConfigKey> {
    config_keys(humanoid::NAME)
}

fn manifest() -> rlhost_sdk::api::PluginManifest {
    rlhost_sdk::manifest(
        "org.rlhost.mujoco",
        "MuJoCo locomotion",
        env!("CARGO_PKG_VERSION"),
        "Gymnasium 1.4.0's MuJoCo v5 tasks (Ant, HalfCheetah, Hopper, Walker2d, Humanoid) on MuJoCo 3.17.0, batched over threads.",
    )
}

rlhost_sdk::export_plugin! {
    manifest: manifest,
    algos: [],
    players: [],
    envs: [
        (ant::NAME, build_ant, ant_keys),
        (half_cheetah::NAME, build_half_cheetah, half_cheetah_keys),
        (hopper::NAME, build_hopper, hopper_keys),
        (walker2d::NAME, build_walker2d, walker2d_keys),
        (humanoid::NAME, build_humanoid, humanoid_keys),
    ],
}
