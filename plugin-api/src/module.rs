//! The root module each plugin library exports, its manifest and the builder arguments.
use crate::agent::{AgentBox, PlayerBox};
use crate::env::VecEnvBox;
use crate::error::PResult;
use crate::observer::ObserverBox;
use crate::tensor::DlDevice;
use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{ROption, RStr, RString, RVec};
use abi_stable::{declare_root_module_statics, package_version_strings, StableAbi};

/// Name of a plain `extern "C" fn() -> *const c_char` every plugin also exports, returning its
/// manifest as NUL-terminated JSON. The host reads it before abi_stable's layout check, so a
/// plugin built for another API major or another libtorch gets a one-line reason instead of a
/// layout report.
pub const MANIFEST_SYMBOL: &str = "rlhost_plugin_manifest_json";

/// Who a plugin is and what it was built with.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginManifest {
    /// Stable reverse-DNS id, for example `org.rlhost.ppo`.
    pub id: RString,
    /// Human-readable name.
    pub name: RString,
    /// The plugin's own semver version.
    pub version: RString,
    /// One sentence on what it offers.
    pub description: RString,
    /// The `rlhost-plugin-api` version it was built against.
    pub api_version: RString,
    /// The `tch` crate version it was built against.
    pub tch_version: RString,
    /// The libtorch version it was built against (for example `2.13.0`).
    pub libtorch_version: RString,
    /// Whether it was built with `panic = "unwind"` (required to catch panics).
    pub panic_unwind: bool,
}

/// The kind of object a builder creates.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuilderKind {
    /// A training algorithm ([`crate::Agent`]).
    Algo,
    /// An inference player ([`crate::Player`]).
    Player,
    /// A batched environment ([`crate::VecEnv`]).
    Env,
}

impl BuilderKind {
    /// Lowercase name used in messages and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            BuilderKind::Algo => "algo",
            BuilderKind::Player => "player",
            BuilderKind::Env => "env",
        }
    }
}

/// One builder a plugin offers.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct BuilderInfo {
    /// What it builds.
    pub kind: BuilderKind,
    /// The name configs refer to (`a2c_continuous`, `Pendulum-v1`).
    pub name: RString,
}

/// Arguments of an environment builder.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct EnvArgs {
    /// The `env_config` block as JSON (`{}` when absent).
    pub config_json: RString,
    /// Number of environments.
    pub num_envs: u32,
    /// Base seed; environment i uses `seed + i`.
    pub seed: u64,
    /// Where to keep the state.
    pub device: DlDevice,
}

/// Arguments of an algorithm builder.
#[repr(C)]
#[derive(StableAbi)]
pub struct AlgoArgs {
    /// The whole resolved `params` block as JSON.
    pub params_json: RString,
    /// The environment to train on (already wrapped by the host).
    pub env: VecEnvBox,
    /// Where to report.
    pub observer: ObserverBox,
    /// The run folder; checkpoints go to `<run_dir>/nn`.
    pub run_dir: RString,
    /// The training device.
    pub device: DlDevice,
    /// The resolved seed.
    pub seed: u64,
}

/// Arguments of a player builder.
#[repr(C)]
#[derive(StableAbi)]
pub struct PlayerArgs {
    /// The whole resolved `params` block as JSON.
    pub params_json: RString,
    /// The environment to play in; `None` when the host drives [`crate::Player::act`] itself.
    pub env: ROption<VecEnvBox>,
    /// Where to report.
    pub observer: ObserverBox,
    /// The inference device.
    pub device: DlDevice,
    /// The resolved seed.
    pub seed: u64,
}

/// The root module of a plugin library.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Who the plugin is and what it was built with.
    pub manifest: extern "C" fn() -> PluginManifest,
    /// Every builder it offers.
    pub builders: extern "C" fn() -> RVec<BuilderInfo>,
    /// Creates the named algorithm.
    pub create_algo: extern "C" fn(name: RStr<'_>, args: AlgoArgs) -> PResult<AgentBox>,
    /// Creates the named player.
    pub create_player: extern "C" fn(name: RStr<'_>, args: PlayerArgs) -> PResult<PlayerBox>,
    /// Creates the named environment.
    // Fields added in a later 1.x go after this one, so older plugins stay loadable.
    #[sabi(last_prefix_field)]
    pub create_env: extern "C" fn(name: RStr<'_>, args: EnvArgs) -> PResult<VecEnvBox>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "rlhost_plugin";
    const NAME: &'static str = "rlhost_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Convenience for optional values in arguments.
pub type OptionalEnv = ROption<VecEnvBox>;
