//! The Python environment plugin: exports `rlhost-python-env`'s builders (`python`, `gym:*`).
#![allow(non_local_definitions)]

use rlhost_python_env::{config, GymEnv, TorchEnv};
use rlhost_sdk::api::{ConfigKey, EnvArgs, VecEnvBox};
use rlhost_sdk::{vec_env_box, PluginError};

fn build_gym(name: &str, args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    vec_env_box(GymEnv::new(name, &args)?)
}

fn build_python(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    vec_env_box(TorchEnv::new(&args)?)
}

fn gym_keys() -> Vec<ConfigKey> {
    config::GymConfig::config_keys()
}

fn python_keys() -> Vec<ConfigKey> {
    config::TorchEnvConfig::config_keys()
}

fn manifest() -> rlhost_sdk::api::PluginManifest {
    rlhost_sdk::manifest(
        "org.rlhost.python_env",
        "Python environments",
        env!("CARGO_PKG_VERSION"),
        "Gymnasium environments (gym:<id>) and Isaac Lab-style torch environments (python) through an embedded CPython.",
    )
}

rlhost_sdk::export_plugin! {
    manifest: manifest,
    algos: [],
    players: [],
    envs: [(rlhost_python_env::torch_env::NAME, build_python, python_keys)],
    env_families: [("gym:*", build_gym, gym_keys)],
}
