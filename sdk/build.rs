//! Re-exports torch-sys' libtorch folder and records the libtorch version this SDK builds against.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let lib = PathBuf::from(std::env::var("DEP_TCH_LIBTORCH_LIB").expect("torch-sys exports DEP_TCH_LIBTORCH_LIB"));
    println!("cargo:libtorch_lib={}", lib.display());
    // This crate's own tests link libtorch too: give them the rpath plugins get.
    rlhost_build::link_with(&lib);
    let version = libtorch_version(&lib).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=RLHOST_LIBTORCH_VERSION={version}");
    println!("cargo:libtorch_version={version}");
}

/// Reads `__version__` from the PyTorch package's `version.py`, or libtorch's `build-version`.
fn libtorch_version(lib: &std::path::Path) -> Option<String> {
    let root = lib.parent()?;
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        println!("cargo:rerun-if-changed={}", root.join("version.py").display());
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("__version__") {
                let value = rest.trim_start_matches([' ', '=', ':']).trim_start_matches("str").trim();
                return Some(value.trim_matches(|c| c == '\'' || c == '"').to_string());
            }
        }
    }
    std::fs::read_to_string(root.join("build-version")).ok().map(|s| s.trim().to_string())
}
