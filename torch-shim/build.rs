//! Compiles `src/shim.cpp`, `src/fused.cpp`, `src/amp.cpp`, `src/parallel.cpp` (with OpenMP) and `src/c10d.cpp` (with ProcessGroupNCCL
//! when the CUDA and NCCL headers are there, [`nccl_includes`]) against the same libtorch that torch-sys links, the way torch-sys finds it:
//! with `LIBTORCH_USE_PYTORCH` set, python's `torch.utils.cpp_extension` paths and
//! `torch._C._GLIBCXX_USE_CXX11_ABI`; otherwise `LIBTORCH` (or torch-sys' library folder) with
//! `include/`, `include/torch/csrc/api/include` and `LIBTORCH_CXX11_ABI` (default 1).
use std::path::{Path, PathBuf};
use std::process::Command;

const PYTHON_PRINT_PYTORCH_DETAILS: &str = r"
import torch
from torch.utils import cpp_extension
print('LIBTORCH_VERSION:', torch.__version__.split('+')[0])
print('LIBTORCH_CXX11:', torch._C._GLIBCXX_USE_CXX11_ABI)
for include_path in cpp_extension.include_paths():
  print('LIBTORCH_INCLUDE:', include_path)
for library_path in cpp_extension.library_paths():
  print('LIBTORCH_LIB:', library_path)
";

struct Libtorch {
    includes: Vec<PathBuf>,
    lib: PathBuf,
    cxx11_abi: String,
}

fn env_rerun(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={name}");
    std::env::var(name).ok()
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a.canonicalize().ok().zip(b.canonicalize().ok()).is_some_and(|(a, b)| a == b)
}

/// As torch-sys: `python` inside a virtualenv, else `python3`, asked for the wheel's paths and ABI.
fn from_python() -> Libtorch {
    let python = if std::env::var_os("VIRTUAL_ENV").is_some() { "python" } else { "python3" };
    let output = Command::new(python)
        .arg("-c")
        .arg(PYTHON_PRINT_PYTORCH_DETAILS)
        .output()
        .unwrap_or_else(|e| panic!("rlhost-torch-shim: cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (mut includes, mut lib, mut cxx11_abi) = (Vec::new(), None, None);
    for line in stdout.lines() {
        match line.strip_prefix("LIBTORCH_CXX11: ") {
            Some("True") => cxx11_abi = Some("1".to_string()),
            Some("False") => cxx11_abi = Some("0".to_string()),
            _ => {}
        }
        if let Some(path) = line.strip_prefix("LIBTORCH_INCLUDE: ") {
            includes.push(PathBuf::from(path));
        }
        if let Some(path) = line.strip_prefix("LIBTORCH_LIB: ") {
            lib = Some(PathBuf::from(path));
        }
    }
    let (Some(lib), Some(cxx11_abi)) = (lib, cxx11_abi) else {
        panic!(
            "rlhost-torch-shim: {python} did not report PyTorch's paths and C++ ABI: {}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    Libtorch { includes, lib, cxx11_abi }
}

/// As torch-sys without python: a libtorch folder with `include/` and `lib/`.
fn from_libtorch_dir(tch_lib: Option<&Path>) -> Libtorch {
    let root = env_rerun("LIBTORCH")
        .map(PathBuf::from)
        .or_else(|| tch_lib.and_then(Path::parent).map(Path::to_path_buf))
        .expect("rlhost-torch-shim: set LIBTORCH or LIBTORCH_USE_PYTORCH=1 (as for torch-sys)");
    let inc = env_rerun("LIBTORCH_INCLUDE").map(PathBuf::from).unwrap_or_else(|| root.clone());
    let lib = env_rerun("LIBTORCH_LIB").map(PathBuf::from).unwrap_or_else(|| root.clone()).join("lib");
    Libtorch {
        includes: vec![inc.join("include"), inc.join("include/torch/csrc/api/include")],
        lib,
        cxx11_abi: env_rerun("LIBTORCH_CXX11_ABI").unwrap_or_else(|| "1".to_string()),
    }
}

/// The include folders that hold every header ProcessGroupNCCL.hpp needs beyond libtorch's: the
/// CUDA runtime's, its `crt/` and CCCL's `nv/target` (the `nvidia-cuda-runtime`, `nvidia-cuda-crt`
/// and `nvidia-cuda-cccl` wheels) and `nccl.h` (`nvidia-nccl`), searched in the `nvidia/*/include`
/// folders beside the torch package; `None` (and why) when one is missing or there is no
/// `libtorch_cuda` to link.
fn nccl_includes(torch_lib: &Path) -> Result<Vec<PathBuf>, String> {
    if env_rerun("RLHOST_SHIM_NCCL").as_deref() == Some("0") {
        return Err("RLHOST_SHIM_NCCL=0".into());
    }
    if !torch_lib.join("libtorch_cuda.so").exists() {
        return Err(format!("{} has no libtorch_cuda.so", torch_lib.display()));
    }
    let nvidia = torch_lib.join("../../nvidia");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&nvidia)
        .map(|entries| entries.flatten().map(|e| e.path().join("include")).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    folders.sort();
    let mut needed = Vec::new();
    for header in ["cuda_runtime.h", "crt/host_config.h", "nv/target", "nccl.h"] {
        let folder = folders
            .iter()
            .find(|f| f.join(header).exists())
            .ok_or_else(|| format!("no {header} under {}/*/include", nvidia.display()))?;
        if !needed.contains(folder) {
            needed.push(folder.clone());
        }
    }
    Ok(needed)
}

fn main() {
    for source in [
        "src/shim.cpp",
        "src/fused.cpp",
        "src/amp.cpp",
        "src/parallel.cpp",
        "src/c10d.cpp",
        "src/guard.h",
        "gloo-decls",
    ] {
        println!("cargo:rerun-if-changed={source}");
    }
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let tch_lib = std::env::var_os("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from);
    let torch =
        if env_rerun("LIBTORCH_USE_PYTORCH").is_some() { from_python() } else { from_libtorch_dir(tch_lib.as_deref()) };
    if let Some(tch_lib) = &tch_lib {
        assert!(
            same_dir(tch_lib, &torch.lib),
            "rlhost-torch-shim: torch-sys links {} but the shim would compile against {}",
            tch_lib.display(),
            torch.lib.display()
        );
    }

    // As system headers: libtorch's own warnings (e.g. C++20 bit-field initialisers, accepted by
    // GCC and Clang in C++17 mode as an extension) stay out of the build log; the shim's do not.
    let base = || {
        let mut build = cc::Build::new();
        build.cpp(true).pic(true).std("c++17");
        for dir in &torch.includes {
            build.flag("-isystem").flag(dir.display().to_string());
        }
        build.define("_GLIBCXX_USE_CXX11_ABI", torch.cxx11_abi.as_str()).define("GLOG_USE_GLOG_EXPORT", None);
        build
    };
    // -fopenmp: at::parallel_for is inline OpenMP in libtorch's headers and runs on one thread
    // without it. The OpenMP runtime linked below is the wheel's own libgomp, libtorch's.
    base()
        .flag("-fopenmp")
        .file("src/shim.cpp")
        .file("src/fused.cpp")
        .file("src/amp.cpp")
        .file("src/parallel.cpp")
        .compile("rlhost_torch_shim");

    // c10d on its own, so the CUDA defines NCCL needs reach only it. ProcessGroupGloo.hpp includes
    // gloo headers the wheel does not ship: declaration-only stand-ins (`gloo-decls/`) name the
    // gloo types it holds by pointer (README "c10d").
    let mut c10d = base();
    c10d.include("gloo-decls").define("USE_C10D_GLOO", None);
    match nccl_includes(&torch.lib) {
        Ok(folders) => {
            for dir in folders {
                c10d.flag("-isystem").flag(dir.display().to_string());
            }
            c10d.define("USE_C10D_NCCL", None).define("USE_CUDA", None).define("RLHOST_SHIM_NCCL", None);
        }
        // Only the NCCL backend is missing then; Gloo and everything else build as before.
        Err(why) => println!("cargo:warning=rlhost-torch-shim: building without the NCCL backend: {why}"),
    }
    c10d.file("src/c10d.cpp").compile("rlhost_torch_shim_c10d");

    // After the static shim on the link line: the libtorch libraries it calls into.
    println!("cargo:rustc-link-search=native={}", torch.lib.display());
    println!("cargo:rustc-link-lib=torch_cpu");
    println!("cargo:rustc-link-lib=c10");
    println!("cargo:rustc-link-lib=dylib:+verbatim=libgomp.so.1");
    // rpath to libtorch and libtorch_cuda (when the wheel has it) for this crate's tests.
    rlhost_build::link_with(&torch.lib);
    println!("cargo:rustc-env=RLHOST_TORCH_SHIM_CXX11_ABI={}", torch.cxx11_abi);
}
