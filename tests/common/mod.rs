//! Helpers shared by the integration tests: locating built plugin libraries and the binary,
//! temporary plugin folders, and running `rlhost`.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The toy fixture's training config, with `$extra` lines appended under `params.config`.
#[macro_export]
macro_rules! toy_config {
    ($extra:literal) => {
        concat!(
            "\nparams:\n  seed: 7\n  algo: {name: toy_algo}\n  env: {clip_observations: 0.5}\n  config:\n",
            "    name: toy\n    env_name: ToyEnv\n    num_actors: 3\n    device: cpu\n    max_epochs: 3\n",
            $extra
        )
    };
}

/// The `rlhost` binary under test.
pub fn rlhost_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rlhost"))
}

/// The cargo output folder (`target/<profile>`) the binary was built into.
pub fn target_dir() -> PathBuf {
    rlhost_bin().parent().expect("binary has a folder").to_path_buf()
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host is inside the workspace").to_path_buf()
}

/// The built library of workspace crate `package` (lib name `lib_name`), building it when missing.
pub fn built_library(package: &str, lib_name: &str) -> PathBuf {
    let path = target_dir().join(format!("lib{lib_name}.so"));
    if !path.exists() {
        let release = target_dir().file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(workspace_root()).args(["build", "-p", package]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building {package} failed");
    }
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A fixture plugin from `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    built_library(&format!("fixture-{}", name.replace('_', "-")), &format!("fixture_{name}"))
}

/// A temporary folder holding copies of the given libraries.
pub fn plugin_dir(libs: &[PathBuf]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for lib in libs {
        std::fs::copy(lib, dir.path().join(lib.file_name().expect("file name"))).expect("copy plugin");
    }
    dir
}

/// Writes a file that is not a shared library but is named like one.
pub fn write_non_elf(dir: &Path) -> PathBuf {
    let path = dir.join("not_elf.so");
    std::fs::write(
        &path,
        "this is a text file pretending to be a plugin library; it has no ELF header at all.\n".repeat(4),
    )
    .expect("write");
    path
}

/// Runs `rlhost` in `dir` with a scan cache of its own: (exit code, stdout, stderr); panics if it
/// died by a signal.
pub fn rlhost_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(rlhost_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("RLHOST_PLUGIN_PATH")
        .env("RLHOST_PLUGIN_CACHE", dir.join("scan-cache.json"))
        .output()
        .expect("rlhost runs");
    let (stdout, stderr) = texts(&out);
    let code = out.status.code().unwrap_or_else(|| panic!("killed by a signal: {:?}\n{stdout}\n{stderr}", out.status));
    (code, stdout, stderr)
}

/// The last line of `text` (where the one-line error is).
pub fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

/// Runs `rlhost` with `args` in `cwd`.
pub fn run_rlhost(cwd: &Path, args: &[&str]) -> Output {
    Command::new(rlhost_bin())
        .current_dir(cwd)
        .args(args)
        .env_remove("RLHOST_PLUGIN_PATH")
        .output()
        .expect("rlhost runs")
}

/// Stdout and stderr as text.
pub fn texts(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Reads a TensorBoard event file with an independent TFRecord parser that checks both CRCs,
/// returning (tag, step, value) for every scalar.
pub fn read_scalars(path: &Path) -> Vec<(String, i64, f32)> {
    let bytes = std::fs::read(path).expect("event file");
    let mut at = 0;
    let mut scalars = Vec::new();
    while at < bytes.len() {
        let len_bytes = &bytes[at..at + 8];
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        let len_crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        assert_eq!(len_crc, masked_crc32c(len_bytes), "length CRC");
        let data = &bytes[at + 12..at + 12 + len];
        let data_crc = u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
        assert_eq!(data_crc, masked_crc32c(data), "data CRC");
        at += 16 + len;
        let mut step = 0i64;
        for (field, value) in fields(data) {
            match (field, value) {
                (2, Field::Varint(v)) => step = v as i64,
                (5, Field::Bytes(summary)) => {
                    for (f, v) in fields(summary) {
                        if let (1, Field::Bytes(value_msg)) = (f, v) {
                            let (mut tag, mut val) = (String::new(), f32::NAN);
                            for (f2, v2) in fields(value_msg) {
                                match (f2, v2) {
                                    (1, Field::Bytes(t)) => tag = String::from_utf8(t.to_vec()).unwrap(),
                                    (2, Field::Fixed32(x)) => val = f32::from_le_bytes(x),
                                    _ => {}
                                }
                            }
                            scalars.push((tag, step, val));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    scalars
}

enum Field<'a> {
    Varint(u64),
    Fixed64,
    Fixed32([u8; 4]),
    Bytes(&'a [u8]),
}

fn varint(data: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = data[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn fields(data: &[u8]) -> Vec<(u64, Field<'_>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let key = varint(data, &mut at);
        let field = match key & 7 {
            0 => Field::Varint(varint(data, &mut at)),
            1 => {
                at += 8;
                Field::Fixed64
            }
            5 => {
                let f = data[at..at + 4].try_into().unwrap();
                at += 4;
                Field::Fixed32(f)
            }
            2 => {
                let len = varint(data, &mut at) as usize;
                let f = &data[at..at + len];
                at += len;
                Field::Bytes(f)
            }
            other => panic!("unexpected wire type {other}"),
        };
        out.push((key >> 3, field));
    }
    out
}

/// CRC-32C (Castagnoli), bitwise, written independently of the host's crate.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    !crc
}

fn masked_crc32c(data: &[u8]) -> u32 {
    let c = crc32c(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// The names of the files in `dir`.
pub fn file_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Waits for a stdout line of `child` containing `marker`, sends it SIGINT, and returns the
/// stdout lines that followed, once it has exited (with its exit status).
pub fn interrupt_when(mut child: std::process::Child, marker: &str) -> (std::process::ExitStatus, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    for line in lines.by_ref() {
        if line.expect("utf-8 output").contains(marker) {
            break;
        }
    }
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let rest: Vec<String> = lines.map(|l| l.expect("utf-8 output")).collect();
    (child.wait().expect("the child exits"), rest)
}
