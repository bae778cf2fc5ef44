//! Conveniences for rlhost plugin authors, built on tch.
//!
//! - [`tensor`]: the one place that converts between [`TensorView`](rlhost_plugin_api::TensorView)
//!   and `tch::Tensor`.
//! - [`guard`]: runs plugin code under `catch_unwind`, turning panics into [`PluginError`]s.
//! - [`adapt`]: plain-Rust traits ([`NativeAgent`], [`NativePlayer`], [`NativeVecEnv`]) and the
//!   adapters that expose them through the ABI-stable traits, every call guarded.
//! - [`buffers`]: [`StepBuffers`], one step's outputs, and the check that a callee wrote into
//!   them instead of replacing them.
//! - [`env_handle`]: [`EnvHandle`], the tensor-level client of a boxed `VecEnv`.
//! - [`extras`]: [`ExtrasCollector`], Isaac Lab-style extras between two `take_extras` calls.
//! - [`testing`]: a recording observer and a scripted environment for plugin tests.
//! - [`export_plugin!`]: exports the root module and the pre-check manifest symbol.
//!
//! A plugin's `build.rs` calls `rlhost_build::link_libtorch()` so it finds libtorch at run time.
#![allow(non_local_definitions)]

pub mod adapt;
pub mod buffers;
pub mod env_handle;
pub mod errors;
pub mod extras;
pub mod guard;
pub mod manifest;
pub mod tensor;
pub mod testing;

pub use adapt::{agent_box, player_box, vec_env_box, NativeAgent, NativePlayer, NativeVecEnv};
pub use buffers::StepBuffers;
pub use env_handle::EnvHandle;
pub use errors::{tch_error, PluginResult, ResultExt};
pub use extras::ExtrasCollector;
pub use guard::guard;
pub use manifest::{manifest, manifest_json, LIBTORCH_VERSION, TCH_VERSION};
pub use rlhost_plugin_api as api;
pub use rlhost_plugin_api::{ErrorKind, PluginError};
pub use tch;

/// Exports a plugin: the abi_stable root module plus the JSON manifest symbol the host pre-checks.
///
/// ```ignore
/// fn manifest() -> rlhost_sdk::api::PluginManifest {
///     rlhost_sdk::manifest("org.example.envs", "Example envs", env!("CARGO_PKG_VERSION"), "What it offers.")
/// }
/// rlhost_sdk::export_plugin! {
///     manifest: manifest,
///     algos: [],
///     players: [],
///     envs: [("MyEnv-v0", build_my_env, my_env_keys)],
/// }
/// ```
/// Builders are `fn(Args) -> Result<Box, PluginError>`; each call runs under [`guard`]. The third
/// element of each entry is a `fn() -> Vec<ConfigKey>`: the config keys that builder reads (the
/// host's typo warnings come from these declarations; `Vec::new` declares none).
///
/// An optional `env_families: [("gym:*", build_gym, gym_keys)]` list offers environment
/// families: a name ending in `*` matches every name with that prefix (see
/// [`builder_name_matches`](crate::api::builder_name_matches)), and its builder is
/// `fn(&str, EnvArgs) -> Result<VecEnvBox, PluginError>`, called with the full requested name.
/// The plugin crate must depend on `abi_stable` directly (its macros name `::abi_stable`).
#[macro_export]
macro_rules! export_plugin {
    (
        manifest: $manifest:path,
        algos: [$(($algo_name:expr, $algo_fn:path, $algo_keys:path)),* $(,)?],
        players: [$(($player_name:expr, $player_fn:path, $player_keys:path)),* $(,)?],
        envs: [$(($env_name:expr, $env_fn:path, $env_keys:path)),* $(,)?]
        $(, env_families: [$(($family:expr, $family_fn:path, $family_keys:path)),* $(,)?])? $(,)?
    ) => {
        #[::abi_stable::export_root_module]
        fn __rlhost_root_module() -> $crate::api::PluginModuleRef {
            use $crate::api::abi_stable::prefix_type::PrefixTypeTrait;
            $crate::api::PluginModule {
                manifest: __rlhost_manifest,
                builders: __rlhost_builders,
                create_algo: __rlhost_create_algo,
                create_player: __rlhost_create_player,
                create_env: __rlhost_create_env,
            }
            .leak_into_prefix()
        }

        extern "C" fn __rlhost_manifest() -> $crate::api::PluginManifest {
            // The host read the same manifest through the JSON symbol first, so a panic here is
            // not expected; it must still not unwind into the host.
            ::std::panic::catch_unwind($manifest)
                .unwrap_or_else(|_| $crate::manifest("invalid", "manifest panicked", "0.0.0", ""))
        }

        /// The manifest as NUL-terminated JSON, read by the host before the layout check.
        #[no_mangle]
        pub extern "C" fn rlhost_plugin_manifest_json() -> *const ::std::ffi::c_char {
            static JSON: ::std::sync::OnceLock<Option<::std::ffi::CString>> = ::std::sync::OnceLock::new();
            // A panicking manifest gives a null pointer, which the host refuses with one line.
            JSON.get_or_init(|| ::std::panic::catch_unwind(|| $crate::manifest_json(&$manifest())).ok())
                .as_ref()
                .map_or(::std::ptr::null(), |json| json.as_ptr())
        }

        extern "C" fn __rlhost_builders() -> $crate::api::abi_stable::std_types::RVec<$crate::api::BuilderInfo> {
            use $crate::api::{BuilderInfo, BuilderKind};
            #[allow(unused_mut)]
            let mut all = $crate::api::abi_stable::std_types::RVec::new();
            // A panicking key list must not unwind into the host: that builder declares none.
            let keys = |f: fn() -> ::std::vec::Vec<$crate::api::ConfigKey>| ::std::panic::catch_unwind(f).unwrap_or_default();
            $(all.push(BuilderInfo::new(BuilderKind::Algo, $algo_name, keys($algo_keys)));)*
            $(all.push(BuilderInfo::new(BuilderKind::Player, $player_name, keys($player_keys)));)*
            $(all.push(BuilderInfo::new(BuilderKind::Env, $env_name, keys($env_keys)));)*
            $($(all.push(BuilderInfo::new(BuilderKind::Env, $family, keys($family_keys)));)*)?
            all
        }

        #[allow(unused_variables, unreachable_code)]
        extern "C" fn __rlhost_create_algo(
            name: $crate::api::abi_stable::std_types::RStr<'_>,
            args: $crate::api::AlgoArgs,
        ) -> $crate::api::PResult<$crate::api::AgentBox> {
            let name = name.as_str().to_string();
            $crate::guard(move || {
                $(if name == $algo_name { return $algo_fn(args); })*
                Err($crate::adapt::unknown_builder("algorithm", &name, &[$($algo_name),*]))
            })
        }

        #[allow(unused_variables, unreachable_code)]
        extern "C" fn __rlhost_create_player(
            name: $crate::api::abi_stable::std_types::RStr<'_>,
            args: $crate::api::PlayerArgs,
        ) -> $crate::api::PResult<$crate::api::PlayerBox> {
            let name = name.as_str().to_string();
            $crate::guard(move || {
                $(if name == $player_name { return $player_fn(args); })*
                Err($crate::adapt::unknown_builder("player", &name, &[$($player_name),*]))
            })
        }

        #[allow(unused_variables, unreachable_code)]
        extern "C" fn __rlhost_create_env(
            name: $crate::api::abi_stable::std_types::RStr<'_>,
            args: $crate::api::EnvArgs,
        ) -> $crate::api::PResult<$crate::api::VecEnvBox> {
            let name = name.as_str().to_string();
            $crate::guard(move || {
                $(if name == $env_name { return $env_fn(args); })*
                $($(if $crate::api::builder_name_matches($family, &name) { return $family_fn(&name, args); })*)?
                Err($crate::adapt::unknown_builder("environment", &name, &[$($env_name,)* $($($family),*)?]))
            })
        }
    };
}
