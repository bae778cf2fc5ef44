//! Finding and loading plugin libraries.
//!
//! Loading is two-staged. Stage one opens the file with libloading and reads the plain
//! `rlhost_plugin_manifest_json` symbol, so a plugin built for another API major or another
//! libtorch is refused with one line before abi_stable's layout check. Stage two loads the root
//! module with [`rlhost_plugin_api::load::load_root_module`] (built on `lib_header_from_path`,
//! which keeps each library's module in the library itself; never `RootModule::load_from_file`,
//! which caches one per type), checking the layout in whichever direction the plugin's 2.x
//! minor needs. Libraries are never unloaded.
use abi_stable::library::LibraryError;
use rlhost_plugin_api::load::{load_root_module, LoadError};
use rlhost_plugin_api::{BuilderInfo, PluginModuleRef, API_VERSION, MANIFEST_SYMBOL};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::ffi::{c_char, CStr};
use std::path::{Path, PathBuf};

/// The environment variable holding extra plugin folders, separated by `:`.
pub const PLUGIN_PATH_VAR: &str = "RLHOST_PLUGIN_PATH";

/// The tch version this host was built with; plugins must match it exactly.
pub const HOST_TCH_VERSION: &str = rlhost_sdk::TCH_VERSION;

/// The manifest as the pre-check symbol returns it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Manifest {
    /// Reverse-DNS id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// What it offers.
    #[serde(default)]
    pub description: String,
    /// The plugin API version it was built against.
    pub api_version: String,
    /// The tch version it was built against.
    pub tch_version: String,
    /// The libtorch version it was built against.
    pub libtorch_version: String,
    /// Whether panics unwind (and can be caught).
    pub panic_unwind: bool,
}

/// A plugin library that loaded and passed every check.
pub struct LoadedPlugin {
    /// The file it came from.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its root module.
    pub module: PluginModuleRef,
    /// The builders it offers.
    pub builders: Vec<BuilderInfo>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin").field("path", &self.path).field("id", &self.manifest.id).finish()
    }
}

/// A file that was not loaded, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// The file.
    pub path: PathBuf,
    /// Its manifest, when stage one could read it.
    pub manifest: Option<Manifest>,
    /// One line saying why.
    pub reason: String,
    /// What to do about it.
    pub hint: String,
    /// The full report (abi_stable's layout diff), shown with `--verbose`.
    pub detail: String,
}

impl Refused {
    /// The one-line message: path, reason, hint.
    pub fn line(&self) -> String {
        format!("refused plugin {}: {} (hint: {})", self.path.display(), self.reason, self.hint)
    }
}

/// Everything found in the plugin folders.
#[derive(Debug, Default)]
pub struct PluginSet {
    /// Plugins that loaded.
    pub loaded: Vec<LoadedPlugin>,
    /// Files that were refused.
    pub refused: Vec<Refused>,
}

/// The plugin folders to scan: the given ones, then those in [`PLUGIN_PATH_VAR`].
pub fn plugin_dirs(cli_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = cli_dirs.to_vec();
    if let Some(var) = std::env::var_os(PLUGIN_PATH_VAR) {
        dirs.extend(std::env::split_paths(&var).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs
}

/// Shared libraries in `dir` and in its `lib/` subfolder (where the build installs plugins),
/// sorted by name; a path to a file is taken as it is.
pub fn candidate_files(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut files = Vec::new();
    for folder in [dir.to_path_buf(), dir.join("lib")] {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == std::env::consts::DLL_EXTENSION))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// Scans every folder and loads every plugin; a refused file never stops the others.
pub fn discover(dirs: &[PathBuf]) -> PluginSet {
    let mut set = PluginSet::default();
    let mut seen = HashSet::new();
    for dir in dirs {
        for file in candidate_files(dir) {
            let key = file.canonicalize().unwrap_or_else(|_| file.clone());
            if seen.insert(key) {
                match load_plugin(&file) {
                    Ok(plugin) => set.loaded.push(plugin),
                    Err(refused) => set.refused.push(*refused),
                }
            }
        }
    }
    set
}

/// Loads one plugin file, checking its manifest first.
pub fn load_plugin(path: &Path) -> Result<LoadedPlugin, Box<Refused>> {
    let refuse = |manifest: Option<Manifest>, reason: String, hint: &str, detail: String| {
        Box::new(Refused { path: path.to_path_buf(), manifest, reason, hint: hint.to_string(), detail })
    };
    let manifest = read_manifest(path).map_err(|(reason, hint)| refuse(None, reason, hint, String::new()))?;
    if let Err((reason, hint)) = check_manifest(&manifest) {
        return Err(refuse(Some(manifest), reason, &hint, String::new()));
    }
    let module = load_root_module(path).map_err(|e| {
        let (reason, hint) = summarize_load_error(&e);
        refuse(Some(manifest.clone()), reason, &hint, e.to_string())
    })?;
    let builders = module.builders()().into_vec();
    Ok(LoadedPlugin { path: path.to_path_buf(), manifest, module, builders })
}

/// Stage one: opens the library and reads its JSON manifest symbol.
fn read_manifest(path: &Path) -> Result<Manifest, (String, &'static str)> {
    // SAFETY: opening a library runs its initialisers; plugins are trusted code once installed.
    let library = unsafe { libloading::Library::new(path) }.map_err(|e| {
        (
            format!("cannot open shared library: {}", dl_reason(&e.to_string())),
            "is it a shared library built for this platform?",
        )
    })?;
    // SAFETY: the symbol is `extern "C" fn() -> *const c_char` as the SDK's export macro defines it.
    let symbol = unsafe { library.get::<extern "C" fn() -> *const c_char>(MANIFEST_SYMBOL.as_bytes()) };
    let json = match symbol {
        Ok(f) => {
            let ptr = f();
            if ptr.is_null() {
                return Err((
                    "its manifest symbol returned nothing".into(),
                    "rebuild it with rlhost_sdk::export_plugin!",
                ));
            }
            // SAFETY: the SDK returns a pointer to a NUL-terminated string that lives for the process.
            unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
        }
        Err(_) => {
            return Err((
                format!("not an rlhost plugin: no `{MANIFEST_SYMBOL}` symbol"),
                "plugins export their root module with rlhost_sdk::export_plugin!",
            ))
        }
    };
    // Never unloaded: abi_stable and libtorch keep pointers into loaded libraries.
    std::mem::forget(library);
    serde_json::from_str(&json)
        .map_err(|e| (format!("unreadable manifest: {e}"), "rebuild it with the current rlhost-sdk"))
}

/// The first useful part of a dlerror text, without the repeated path.
fn dl_reason(text: &str) -> String {
    let first = text.lines().next().unwrap_or(text);
    first.rsplit(": ").next().unwrap_or(first).trim().to_string()
}

/// Checks the declared API, tch and libtorch versions and the panic strategy.
pub fn check_manifest(m: &Manifest) -> Result<(), (String, String)> {
    let host = semver::Version::parse(API_VERSION).expect("the API crate has a semver version");
    let plugin = semver::Version::parse(&m.api_version).map_err(|e| {
        (
            format!("invalid plugin API version '{}': {e}", m.api_version),
            "rebuild it with the current rlhost-sdk".to_string(),
        )
    })?;
    // Any minor of this major loads (the loader checks the layout in either direction).
    if plugin.major != host.major {
        return Err(other_major(&plugin.to_string(), host.major, host.minor));
    }
    if m.tch_version != HOST_TCH_VERSION {
        return Err((
            format!("built with tch {}, this host uses tch {HOST_TCH_VERSION}", m.tch_version),
            format!("rebuild it with tch = \"={HOST_TCH_VERSION}\" (rlhost-sdk pins it)"),
        ));
    }
    if base_version(&m.libtorch_version) != base_version(rlhost_sdk::LIBTORCH_VERSION) {
        return Err((
            format!(
                "built against libtorch {}, this host runs libtorch {}",
                m.libtorch_version,
                rlhost_sdk::LIBTORCH_VERSION
            ),
            format!("rebuild it with LIBTORCH_USE_PYTORCH=1 and torch=={}", base_version(rlhost_sdk::LIBTORCH_VERSION)),
        ));
    }
    if !m.panic_unwind {
        return Err((
            "built with panic = \"abort\": its panics could not be caught".into(),
            "build it with panic = \"unwind\"".into(),
        ));
    }
    Ok(())
}

/// `2.13.0+cu130` → `2.13.0`: builds of one release share their C++ ABI.
fn base_version(v: &str) -> &str {
    v.split('+').next().unwrap_or(v)
}

/// The refusal of a plugin built for another major of the API.
fn other_major(plugin: &str, major: u64, minor: u64) -> (String, String) {
    (
        format!("built for plugin API {plugin}; this host needs {major}.x"),
        format!("rebuild it against rlhost-plugin-api {major}.{minor}"),
    )
}

/// A one-line reason and a hint for a root-module load error.
fn summarize_load_error(e: &LoadError) -> (String, String) {
    match e {
        LoadError::OtherMajor { plugin, host } => {
            other_major(&plugin.to_string(), u64::from(host.major), u64::from(host.minor))
        }
        LoadError::OlderIncompatible(report) => (
            format!(
                "built for an older plugin API 2.x whose layout is not a prefix of this host's: {}",
                key_lines(report)
            ),
            format!("rebuild it against rlhost-plugin-api {API_VERSION}"),
        ),
        LoadError::Library(e) => summarize_library_error(e),
    }
}

/// The `Error:` / `Expected` / `Found` lines of abi_stable's long layout report.
fn key_lines(text: &str) -> String {
    let key: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Error:") || l.starts_with("Expected") || l.starts_with("Found"))
        .take(3)
        .collect();
    key.join(" ")
}

/// A one-line reason and a hint for an abi_stable load error.
fn summarize_library_error(e: &LibraryError) -> (String, String) {
    let rebuild = format!("rebuild it against rlhost-plugin-api {API_VERSION}");
    match e {
        LibraryError::OpenError { .. } => ("cannot open library".into(), "check the file".into()),
        LibraryError::GetSymbolError { .. } => {
            ("no abi_stable root module exported".into(), "export one with rlhost_sdk::export_plugin!".into())
        }
        LibraryError::IncompatibleVersionNumber { expected_version, actual_version, .. } => {
            (format!("plugin API version mismatch: host {expected_version}, plugin {actual_version}"), rebuild)
        }
        LibraryError::AbiInstability(err) => {
            (format!("incompatible plugin interface layout: {}", key_lines(&err.to_string())), rebuild)
        }
        LibraryError::InvalidAbiHeader(_) => {
            ("built with an incompatible abi_stable".into(), "use abi_stable =0.11.3".into())
        }
        LibraryError::RootModule { .. } => ("its root module constructor failed".into(), "see --verbose".into()),
        other => (other.to_string().lines().next().unwrap_or("load error").to_string(), rebuild),
    }
}
