//! Starting (or attaching to) the process's one CPython interpreter.
use pyo3::prelude::*;
use rlhost_sdk::{ErrorKind, PluginError};
use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The build interpreter's `site-packages` (the project venv), found by `build.rs`.
const BUILD_SITE: &str = env!("RLHOST_BUILD_PYTHON_SITE");

/// Starts the interpreter once per process, or attaches to the one already running (inside the
/// `rlhost` Python module). Safe to call from every builder; later calls return the first result.
///
/// An embedded interpreter gets no signal handlers (Ctrl-C stays the host's), `sys.argv =
/// ['rlhost']`, and the packages of, in order, `RLHOST_PYTHON_SITE` (a `:`-separated list),
/// `$VIRTUAL_ENV` and the venv the plugin was built with, ahead of the base interpreter's own.
pub fn ensure_started() -> Result<(), PluginError> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    STARTED.get_or_init(start).clone().map_err(|m| PluginError::new(ErrorKind::Env, m))
}

fn start() -> Result<(), String> {
    // SAFETY: `Py_IsInitialized` may be called at any time, without the GIL.
    if unsafe { pyo3::ffi::Py_IsInitialized() } != 0 {
        return Ok(());
    }
    promote_libpython()?;
    Python::initialize();
    Python::attach(|py| {
        configure(py).map_err(|e| format!("starting Python: {}", crate::failure::describe(py, &e).line))
    })
}

/// Makes the already-loaded libpython's symbols global.
///
/// The host loads plugins with `RTLD_LOCAL`, so libpython (a dependency of this plugin) is not
/// visible to the C extensions Python itself loads later (numpy, torch); reopening it with
/// `RTLD_NOLOAD | RTLD_GLOBAL` promotes the loaded copy without loading a second one.
fn promote_libpython() -> Result<(), String> {
    // SAFETY: dladdr/dlopen with a valid symbol address and the path dladdr returned.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let symbol = pyo3::ffi::Py_IsInitialized as *const c_void;
        if libc::dladdr(symbol, &mut info) == 0 || info.dli_fname.is_null() {
            return Err("starting Python: cannot find the loaded libpython".to_string());
        }
        let handle = libc::dlopen(info.dli_fname, libc::RTLD_NOW | libc::RTLD_GLOBAL | libc::RTLD_NOLOAD);
        if handle.is_null() {
            let why = libc::dlerror();
            let why = if why.is_null() { "unknown".into() } else { CStr::from_ptr(why).to_string_lossy() };
            let path = CStr::from_ptr(info.dli_fname).to_string_lossy();
            return Err(format!("starting Python: cannot make {path} global: {why}"));
        }
    }
    Ok(())
}

/// The `site-packages` folders an embedded interpreter adds, most important first.
fn site_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(list) = std::env::var_os("RLHOST_PYTHON_SITE") {
        dirs.extend(std::env::split_paths(&list));
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        dirs.push(Path::new(&venv).join("lib").join(env!("RLHOST_BUILD_PYTHON_VERSION")).join("site-packages"));
    }
    if !BUILD_SITE.is_empty() {
        dirs.push(PathBuf::from(BUILD_SITE));
    }
    dirs
}

fn configure(py: Python<'_>) -> PyResult<()> {
    let dirs: Vec<String> = site_dirs().iter().map(|d| d.display().to_string()).collect();
    // The venv's python, for libraries that start worker interpreters (multiprocessing's spawn).
    let executable = site_dirs()
        .iter()
        .filter_map(|site| site.parent()?.parent()?.parent().map(|venv| venv.join("bin").join("python")))
        .find(|p| p.exists())
        .map(|p| p.display().to_string());
    let code = c"
import os, sys, site
def _rlhost_configure(dirs, executable):
    before = list(sys.path)
    for d in dirs:
        if os.path.isdir(d):
            site.addsitedir(d)
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + before
    sys.argv = ['rlhost']
    if executable:
        sys.executable = executable
";
    let module = PyModule::from_code(py, code, c"<rlhost>", c"_rlhost_start")?;
    module.getattr("_rlhost_configure")?.call1((dirs, executable))?;
    Ok(())
}

/// Puts `dirs` (for example the current folder and the config file's) at the front of
/// `sys.path`, each once, so a user's module next to the config is importable.
pub fn prepend_sys_path(py: Python<'_>, dirs: &[&Path]) -> PyResult<()> {
    let sys_path = py.import("sys")?.getattr("path")?;
    for dir in dirs.iter().rev() {
        let text = dir.display().to_string();
        if text.is_empty() || sys_path.contains(&text)? {
            continue;
        }
        sys_path.call_method1("insert", (0, text))?;
    }
    Ok(())
}
