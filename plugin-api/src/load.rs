//! Loading a plugin's root module across 2.x minors, with the layout checked either way.
//!
//! abi_stable checks a library's layout against the loader's and accepts a library whose
//! prefix types (the root module, every trait's vtable) have *more* fields than the loader
//! knows: a plugin built against a newer 2.x loads in an older host. The other direction, an
//! older plugin in a newer host, fails that check although it is safe by construction (fields
//! after `last_prefix_field` are read through accessors that answer `None`, and trait methods
//! added after it have default bodies). For that case this module checks the layout the other
//! way round, the plugin's as the interface and the host's as the implementation, which accepts
//! exactly "the plugin's types are a prefix of the host's", and only then skips abi_stable's
//! own check.
use crate::module::{PluginModuleRef, API_VERSION_STRINGS};
use abi_stable::abi_stability::abi_checking::check_layout_compatibility;
use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use abi_stable::sabi_types::VersionNumber;
use abi_stable::StableAbi;
use std::fmt;
use std::path::Path;

/// Why a root module could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The plugin speaks another major version of this interface.
    OtherMajor {
        /// The plugin's interface version.
        plugin: VersionNumber,
        /// This loader's interface version.
        host: VersionNumber,
    },
    /// An older minor whose layout is not a prefix of this one's (a broken 2.x rule).
    OlderIncompatible(String),
    /// Anything abi_stable reports (open, symbol, header, layout, constructor).
    Library(LibraryError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::OtherMajor { plugin, host } => {
                write!(f, "built for plugin API {plugin}; this host needs {}.x", host.major)
            }
            LoadError::OlderIncompatible(report) => write!(f, "incompatible older interface layout: {report}"),
            LoadError::Library(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// The interface version this loader was built with.
pub fn host_version() -> VersionNumber {
    VersionNumber::new(API_VERSION_STRINGS).expect("the interface version is valid semver")
}

/// Opens `path` (never unloaded) and returns its root module, checking its layout against this
/// interface in whichever direction its minor version needs.
pub fn load_root_module(path: &Path) -> Result<PluginModuleRef, LoadError> {
    let header = lib_header_from_path(path).map_err(LoadError::Library)?;
    let plugin = VersionNumber::new(header.version_strings()).map_err(|e| LoadError::Library(e.into()))?;
    let host = host_version();
    if plugin.major != host.major {
        return Err(LoadError::OtherMajor { plugin, host });
    }
    if plugin.minor >= host.minor {
        return header.init_root_module::<PluginModuleRef>().map_err(LoadError::Library);
    }
    let Some(plugin_layout) = header.layout() else {
        return Err(LoadError::OlderIncompatible("the library exports no layout to check".into()));
    };
    check_layout_compatibility(plugin_layout, <PluginModuleRef as StableAbi>::LAYOUT)
        .map_err(|e| LoadError::OlderIncompatible(e.to_string()))?;
    // SAFETY: the layout was just checked (plugin's types a prefix of the host's), which is
    // what abi_stable's own check establishes in the other direction.
    unsafe { header.init_root_module_with_unchecked_layout::<PluginModuleRef>() }.map_err(LoadError::Library)
}

/// The name abi_stable uses for this root module in its messages.
pub const ROOT_MODULE_NAME: &str = <PluginModuleRef as RootModule>::NAME;
