//! rpaths to libtorch and libpython, and where the workspace's `rlhost` binary is (the plugin
//! scanner a development install uses).
fn main() {
    rlhost_build::link_libtorch();
    // Installed from a wheel, the module sits in site-packages/rlhost/ beside the user's torch.
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/../torch/lib");
    rlhost_build::link_libpython(&std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".to_string()));
    // OUT_DIR is target/<profile>/build/<crate>-<hash>/out; the binary is target/<profile>/rlhost.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let profile_dir = out.ancestors().nth(3).expect("OUT_DIR is inside the target folder");
    println!("cargo:rustc-env=RLHOST_DEV_BIN={}", profile_dir.join("rlhost").display());
}
