//! Python environments for rlhost, through an embedded CPython (pyo3) sharing the process's
//! one libtorch:
//! - [`gym`]: `gym:<id>`, any registered Gymnasium environment (MuJoCo's included), batched by
//!   Gymnasium's own vector API (`env_config.vectorization: sync | async`, the rest of
//!   `env_config` its keyword arguments);
//! - [`torch_env`]: `python`, a batched torch environment with Isaac Lab's interface, built by
//!   `env_config.entry_point` (`package.module:callable`) with `env_config.kwargs`.
//!
//! A Python exception becomes one line naming the env and the exception (the traceback is the
//! error's detail, shown with `--verbose`); wrong shapes, dtypes or devices returned from Python
//! are one line naming the tensor and what was expected.
#![allow(non_local_definitions)]

pub mod config;
pub mod gym;
pub mod python;
pub mod torch_env;

pub use gym::GymEnv;
pub use torch_env::TorchEnv;

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
    envs: [(torch_env::NAME, build_python, python_keys)],
    env_families: [("gym:*", build_gym, gym_keys)],
}
