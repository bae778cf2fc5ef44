//! Records where the build interpreter keeps its packages, so an interpreter embedded in a
//! plugin finds numpy, torch and Gymnasium from the same venv (`RLHOST_PYTHON_SITE`).
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let out = Command::new(&python)
        .args([
            "-c",
            "import sysconfig, os, sys; print(os.path.realpath(sysconfig.get_paths()['purelib'])); \
             print('python%d.%d' % sys.version_info[:2])",
        ])
        .output();
    let text = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).to_string(),
        _ => String::new(),
    };
    let mut lines = text.lines();
    let site = lines.next().unwrap_or("").trim();
    let version = lines.next().unwrap_or("python3").trim();
    println!("cargo:rustc-env=RLHOST_BUILD_PYTHON_SITE={site}");
    println!("cargo:rustc-env=RLHOST_BUILD_PYTHON_VERSION={version}");
    // This crate's own tests embed Python and use libtorch: give them the plugins' rpaths.
    rlhost_build::link_libtorch();
    rlhost_build::link_libpython(&python);
}
