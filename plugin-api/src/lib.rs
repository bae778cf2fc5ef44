//! The ABI-stable contract between the `rlhost` host and its plugins (API 2).
//!
//! A plugin is a `cdylib` that exports one [`PluginModule`] root module (through
//! `#[export_root_module]`, or the SDK's `export_plugin!`) plus a JSON manifest symbol. The host
//! loads it with [`load::load_root_module`] (built on
//! `abi_stable::library::lib_header_from_path(p)?.init_root_module()`, never
//! `RootModule::load_from_file`, which caches one library per type).
//!
//! Modules:
//! - [`error`]: [`PluginError`], the stable error every call returns.
//! - [`tensor`]: [`TensorView`], a borrowed DLPack-shaped view of CPU or CUDA memory.
//! - [`space`]: named observation tensors ([`TensorSpec`]) and action spaces ([`ActionSpace`]).
//! - [`env`]: the [`VecEnv`] trait (batched environments), step buffers and extras.
//! - [`agent`]: the [`Agent`] (training) and [`Player`] (inference) traits.
//! - [`observer`]: the host-provided [`Observer`] (scalars, messages, epochs, stop flag).
//! - [`module`]: the root module, the manifest, builders with their config keys, builder arguments.
//! - [`load`]: loading a root module across 2.x minors.
//!
//! # Versioning (semver, checked at load time)
//! - A new major (1.x → 2.0) is refused before any plugin code runs, with one line naming the
//!   file, its API and what to do.
//! - Within 2.x only three kinds of change are allowed, all of them additive:
//!   a trait method after the `last_prefix_field` one, with a default body; a root-module field
//!   after `create_env`, read through an accessor that answers `None` for older plugins; a new
//!   variant of a non-exhaustive enum (the `*_NE` types: [`ErrorKind`], [`ActionSpace`],
//!   [`AutoReset`], [`ExtraKind`], [`BuilderKind`], [`ValueType`], [`SigmaOverride`]), which a
//!   receiver that does not know it reads as "unknown". Structs passed by value ([`EnvInfo`],
//!   [`TensorSpec`], the builder arguments, ...) are frozen within 2.x: a fact a later minor adds
//!   arrives through a new method.
//! - So plugins built against any 2.x load in hosts of any 2.x, newer or older; the feature
//!   `next-minor-fixture` builds this crate as a "2.1" with one addition of each kind, for the
//!   test that proves it.
#![allow(non_local_definitions)]

pub mod agent;
pub mod env;
pub mod error;
pub mod load;
pub mod module;
pub mod observer;
pub mod space;
pub mod tensor;

pub use agent::{
    Agent, AgentBox, Agent_TO, PhaseTime, PlayStats, Player, PlayerBox, Player_TO, SigmaOverride, SigmaOverride_NE,
    TrainSummary,
};
pub use env::{EnvExtra, EnvInfo, ExtraKind, ExtraKind_NE, StepOutput, VecEnv, VecEnvBox, VecEnv_TO};
pub use error::{ErrorKind, ErrorKind_NE, PResult, PluginError};
pub use module::{
    builder_name_matches, AlgoArgs, BuilderInfo, BuilderKind, BuilderKind_NE, ConfigKey, EnvArgs, PlayerArgs,
    PluginManifest, PluginModule, PluginModuleRef, ValueType, ValueType_NE, MANIFEST_SYMBOL,
};
pub use observer::{EpochProgress, Observer, ObserverBox, Observer_TO, Scalar};
pub use space::{ActionSpace, ActionSpace_NE, AutoReset, AutoReset_NE, TensorSpec};
pub use tensor::{DlDataType, DlDevice, TensorView};

pub use abi_stable;

/// The version of this interface, which plugins report in their manifest.
#[cfg(not(feature = "next-minor-fixture"))]
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The version of this interface (compatibility-test fixture of a later 2.x).
#[cfg(feature = "next-minor-fixture")]
pub const API_VERSION: &str = "2.1.0";
