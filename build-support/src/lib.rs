//! Build-script helper for binaries and plugins that use libtorch through tch.
//!
//! torch-sys links `libtorch_cpu` but lets `--as-needed` drop `libtorch_cuda`, and sets no rpath,
//! so binaries need `LD_LIBRARY_PATH` and never see CUDA. [`link_libtorch`] fixes both.
//! Call it from `build.rs` of a crate that depends on `rlhost-sdk` (which exports the path).
use std::path::{Path, PathBuf};

/// The libtorch library folder exported by `rlhost-sdk`'s build script, or by torch-sys itself.
pub fn libtorch_lib_dir() -> Option<PathBuf> {
    ["DEP_RLHOST_SDK_LIBTORCH_LIB", "DEP_TCH_LIBTORCH_LIB"].iter().find_map(std::env::var_os).map(PathBuf::from)
}

/// Adds an rpath to libtorch and links `libtorch_cuda` when it exists, for this crate's
/// binaries, tests and cdylibs.
pub fn link_libtorch() {
    println!("cargo:rerun-if-env-changed=DEP_RLHOST_SDK_LIBTORCH_LIB");
    let Some(lib) = libtorch_lib_dir() else {
        println!("cargo:warning=rlhost-build: libtorch path unknown; depend on rlhost-sdk");
        return;
    };
    link_with(&lib);
}

/// As [`link_libtorch`], for an explicit libtorch library folder.
pub fn link_with(lib: &Path) {
    let lib = lib.canonicalize().unwrap_or_else(|_| lib.to_path_buf());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}

/// Adds an rpath to the folder holding `python`'s shared libpython (which pyo3 links), so a
/// binary or plugin embedding that interpreter starts without `LD_LIBRARY_PATH`.
pub fn link_libpython(python: &str) {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let query = "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')";
    let lib = std::process::Command::new(python)
        .args(["-c", query])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if lib.is_empty() {
        println!("cargo:warning=rlhost-build: {python} reports no LIBDIR; libpython needs LD_LIBRARY_PATH");
        return;
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
}
