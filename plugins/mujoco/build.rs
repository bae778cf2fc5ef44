//! Links the plugin to the MuJoCo C library of the `mujoco` PyPI wheel in the project venv.
//!
//! The wheel ships `libmujoco.so.3.17.0` (its soname) and the headers; the Python interpreter
//! named by `PYO3_PYTHON` (what `scripts/setup.sh` exports, else `python3`) says where they
//! are. The library is linked by path with an rpath to its folder, so nothing needs
//! `LD_LIBRARY_PATH`; `src/shim.c` is compiled against the wheel's headers. The folder of
//! Gymnasium's model XML files is recorded for the run-time default (`RLHOST_MUJOCO_ASSETS`).
use std::path::PathBuf;
use std::process::Command;

const LOCATE: &str = r#"
import importlib.util, os
mj = importlib.util.find_spec("mujoco")
gym = importlib.util.find_spec("gymnasium")
print(mj.submodule_search_locations[0] if mj else "")
print(os.path.join(gym.submodule_search_locations[0], "envs", "mujoco", "assets") if gym else "")
"#;

/// The wheel's library file name.
const LIBRARY: &str = "libmujoco.so.3.17.0";

fn main() {
    rlhost_build::link_libtorch();
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-changed=src/shim.c");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python).args(["-c", LOCATE]).output();
    let text = match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).to_string(),
        Ok(o) => panic!("rlhost-plugin-mujoco: {python} failed: {}", String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => panic!("rlhost-plugin-mujoco: cannot run {python} (set PYO3_PYTHON to the venv's python): {e}"),
    };
    let mut lines = text.lines();
    // Canonical paths: `.venv` is a symlink that set-up may re-point.
    let canonical = |p: &str| PathBuf::from(p).canonicalize().unwrap_or_else(|_| PathBuf::from(p));
    let mujoco = canonical(lines.next().unwrap_or_default().trim());
    let assets = lines.next().unwrap_or_default().trim();
    let assets = if assets.is_empty() { String::new() } else { canonical(assets).display().to_string() };
    let library = mujoco.join(LIBRARY);
    if !library.exists() {
        panic!(
            "rlhost-plugin-mujoco: {} not found: install mujoco==3.17.0 into the venv of {python} (scripts/setup.sh)",
            library.display()
        );
    }
    cc::Build::new().file("src/shim.c").include(mujoco.join("include")).warnings(true).compile("rlhost_mujoco_shim");
    println!("cargo:rustc-link-search=native={}", mujoco.display());
    println!("cargo:rustc-link-lib=dylib:+verbatim={LIBRARY}");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", mujoco.display());
    println!("cargo:rustc-env=RLHOST_MUJOCO_BUILD_ASSETS={assets}");
}
