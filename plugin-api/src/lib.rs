//! The ABI-stable contract between the `rlhost` host and its plugins.
//!
//! A plugin is a `cdylib` that exports one [`PluginModule`] root module (through
//! `#[export_root_module]`, or the SDK's `export_plugin!`). The host loads it with
//! `abi_stable::library::lib_header_from_path(p)?.init_root_module::<PluginModuleRef>()`,
//! never with `RootModule::load_from_file`, which caches one library per type.
//!
//! Modules:
//! - [`error`]: [`PluginError`], the stable error every call returns.
//! - [`tensor`]: [`TensorView`], a borrowed DLPack-shaped view of CPU or CUDA memory.
//! - [`env`]: the [`VecEnv`] trait (batched environments) and its descriptions.
//! - [`agent`]: the [`Agent`] (training) and [`Player`] (inference) traits.
//! - [`observer`]: the host-provided [`Observer`] (scalars, episodes, messages, stop flag).
//! - [`module`]: the root module, the manifest and the builder arguments.
//!
//! Versioning: this crate follows semver from 1.0.0. abi_stable lets a host load plugins built
//! against the same or a newer minor of this crate; a new major is refused before any plugin code runs.
#![allow(non_local_definitions)]

pub mod agent;
pub mod env;
pub mod error;
pub mod module;
pub mod observer;
pub mod tensor;

pub use agent::{Agent, AgentBox, Agent_TO, PlayStats, Player, PlayerBox, Player_TO, SigmaOverride, TrainSummary};
pub use env::{EnvInfo, StepOutput, VecEnv, VecEnvBox, VecEnv_TO};
pub use error::{ErrorKind, PResult, PluginError};
pub use module::{
    AlgoArgs, BuilderInfo, BuilderKind, EnvArgs, PlayerArgs, PluginManifest, PluginModule, PluginModuleRef,
    MANIFEST_SYMBOL,
};
pub use observer::{EpochProgress, Observer, ObserverBox, Observer_TO, Scalar};
pub use tensor::{DlDataType, DlDevice, TensorView};

pub use abi_stable;

/// The version of this crate, which plugins report in their manifest.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");
