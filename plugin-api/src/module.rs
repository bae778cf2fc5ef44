//! The root module each plugin library exports, its manifest and the builder arguments.
use crate::agent::{AgentBox, PlayerBox};
use crate::env::VecEnvBox;
use crate::error::PResult;
use crate::observer::ObserverBox;
use crate::tensor::DlDevice;
use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{ROption, RStr, RString, RVec};
use abi_stable::{declare_root_module_statics, StableAbi};

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
///
/// Non-exhaustive across the boundary ([`BuilderKind_NE`]): a host skips builders of a kind it
/// does not know.
#[non_exhaustive]
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[sabi(kind(WithNonExhaustive(size = [u8; 8], align = u64, traits(Debug, Clone, PartialEq, Eq))))]
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

/// The type of a config value, for the host's checks and typo warnings.
#[non_exhaustive]
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u8; 8], align = u64, traits(Debug, Clone, PartialEq, Eq))))]
pub enum ValueType {
    /// `true`/`false` (rl_games also reads `"True"`, `1`, `0`).
    Bool,
    /// A whole number (numeric strings allowed).
    Int,
    /// A number (numeric strings such as `"3e-4"` allowed).
    Float,
    /// A string.
    String,
    /// A list.
    List,
    /// A mapping; keys below it are not checked unless declared too.
    Map,
    /// Anything (the reader decides).
    Any,
}

/// One config key a builder reads.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct ConfigKey {
    /// Dotted path below `params`, for example `config.gamma` or `network.mlp.units`; env
    /// builders declare their `env_config` keys as `config.env_config.<key>`.
    pub path: RString,
    /// Its type.
    pub value_type: ValueType_NE,
}

impl ConfigKey {
    /// A key at `path` of type `value_type`.
    pub fn new(path: &str, value_type: ValueType) -> Self {
        ConfigKey { path: path.into(), value_type: ValueType_NE::new(value_type) }
    }
}

/// One builder a plugin offers.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct BuilderInfo {
    /// What it builds; read it with [`BuilderInfo::kind`].
    pub kind_ne: BuilderKind_NE,
    /// The name configs refer to (`a2c_continuous`, `Pendulum-v1`), or a family of names: a
    /// name ending in `*` (`gym:*`) stands for every name with that prefix (`gym:Ant-v5`), and
    /// its builder receives the full name. An exact name wins over a family.
    pub name: RString,
    /// Every config key it reads (the host warns about keys nobody declares).
    pub config_keys: RVec<ConfigKey>,
}

impl BuilderInfo {
    /// A builder of `kind` called `name` reading `config_keys`.
    pub fn new(kind: BuilderKind, name: &str, config_keys: Vec<ConfigKey>) -> Self {
        BuilderInfo { kind_ne: BuilderKind_NE::new(kind), name: name.into(), config_keys: config_keys.into() }
    }

    /// What it builds, `None` for a kind a later 2.x added.
    pub fn kind(&self) -> Option<BuilderKind> {
        self.kind_ne.as_enum().ok().copied()
    }

    /// Whether this builder builds `requested` (see [`builder_name_matches`]).
    pub fn matches(&self, requested: &str) -> bool {
        builder_name_matches(&self.name, requested)
    }
}

/// Whether a builder declared as `declared` builds `requested`: the same name, or, for a
/// family declared as `prefix*`, any longer name starting with `prefix`.
pub fn builder_name_matches(declared: &str, requested: &str) -> bool {
    match declared.strip_suffix('*') {
        Some(prefix) => requested.len() > prefix.len() && requested.starts_with(prefix),
        None => declared == requested,
    }
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
    /// The folder of the config file (empty when the config did not come from a file); Python
    /// environments put it on `sys.path`.
    pub config_dir: RString,
    /// Whether the user asked for long error reports (`--verbose`).
    pub verbose: bool,
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
    /// The training device (the host checked it exists).
    pub device: DlDevice,
    /// The resolved seed; the host has already seeded libtorch with it (plugins never reseed).
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
    // Fields added in a later 2.x go after this one, so plugins built against 2.0 stay loadable
    // (their accessors answer `None`) and newer plugins load in older hosts.
    #[sabi(last_prefix_field)]
    pub create_env: extern "C" fn(name: RStr<'_>, args: EnvArgs) -> PResult<VecEnvBox>,
    /// An addition of a later minor (compatibility test only).
    #[cfg(feature = "next-minor-fixture")]
    #[sabi(missing_field(option))]
    pub next_minor_probe: extern "C" fn() -> u32,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "rlhost_plugin";
    const NAME: &'static str = "rlhost_plugin";
    const VERSION_STRINGS: VersionStrings = API_VERSION_STRINGS;
}

/// The version this interface reports to abi_stable: the crate's, or the next minor when built
/// as the compatibility-test fixture of a later 2.x.
#[cfg(not(feature = "next-minor-fixture"))]
pub const API_VERSION_STRINGS: VersionStrings = abi_stable::package_version_strings!();
/// The version this interface reports to abi_stable (compatibility-test fixture of a later 2.x).
#[cfg(feature = "next-minor-fixture")]
pub const API_VERSION_STRINGS: VersionStrings = VersionStrings::new("2.1.0");
