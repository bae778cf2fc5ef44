//! Scanning plugin files in a child process, as GStreamer's plugin scanner does.
//!
//! Opening a library runs its ELF constructors, and a truncated file or a constructor that aborts
//! takes the process down with it. So the host first has each candidate opened by a child,
//! `rlhost __probe FILE`, which loads and checks it and prints its verdict as one JSON line. A
//! child that dies becomes one refusal naming the file and the signal or exit code; the host then
//! loads in-process only the files whose child said ok. Verdicts are cached ([`crate::scan_cache`]).
use crate::discovery::{candidate_files, load_plugin, Manifest, PluginSet, Refused};
use crate::scan_cache::{FileKey, ScanCache};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand the child runs.
pub const PROBE_COMMAND: &str = "__probe";

/// Marks the child's verdict line on its stdout (a library may print there too).
const VERDICT_PREFIX: &str = "rlhost-probe-verdict ";

/// How long one child may take to load a file.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the child found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Loaded and passed every check.
    Ok {
        /// Its manifest.
        manifest: Manifest,
    },
    /// Refused, or the child died loading it.
    Refused {
        /// Its manifest, when it could be read.
        manifest: Option<Manifest>,
        /// One line saying why.
        reason: String,
        /// What to do about it.
        hint: String,
        /// The full report, shown with `--verbose`.
        detail: String,
    },
}

impl Verdict {
    fn refused(reason: String, hint: &str, detail: String) -> Self {
        Verdict::Refused { manifest: None, reason, hint: hint.to_string(), detail }
    }
}

/// The child's side: loads `path` in this process and prints the verdict line.
pub fn probe_main(path: &Path) -> std::io::Result<()> {
    let verdict = match load_plugin(path) {
        Ok(plugin) => Verdict::Ok { manifest: plugin.manifest },
        Err(r) => Verdict::Refused { manifest: r.manifest, reason: r.reason, hint: r.hint, detail: r.detail },
    };
    let line = serde_json::to_string(&verdict)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{VERDICT_PREFIX}{line}")?;
    out.flush()
}

/// A verdict, and whether it may be cached (a timeout or a kill may not happen again).
struct Probed {
    verdict: Verdict,
    cacheable: bool,
}

/// Runs children of `exe` to probe files.
#[derive(Debug, Clone)]
pub struct Prober {
    exe: PathBuf,
}

impl Prober {
    /// Probes with this running binary.
    pub fn current() -> std::io::Result<Self> {
        // Inside another program (the `rlhost` Python module runs in python) the scanner is
        // the `rlhost` binary named by RLHOST_PROBE_EXE.
        if let Some(exe) = std::env::var_os("RLHOST_PROBE_EXE") {
            return Ok(Prober { exe: exe.into() });
        }
        Ok(Prober { exe: std::env::current_exe()? })
    }

    /// Probes with another `rlhost` binary.
    pub fn with_exe(exe: PathBuf) -> Self {
        Prober { exe }
    }

    /// Probes the files side by side, as many at once as there are cores.
    fn probe_all(&self, files: &[PathBuf]) -> Vec<Probed> {
        let width = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut results = Vec::with_capacity(files.len());
        for chunk in files.chunks(width) {
            std::thread::scope(|s| {
                let handles: Vec<_> = chunk.iter().map(|f| s.spawn(move || self.probe(f))).collect();
                results.extend(handles.into_iter().map(|h| {
                    h.join().unwrap_or_else(|_| Probed {
                        verdict: Verdict::refused("the scanner thread failed".into(), "try again", String::new()),
                        cacheable: false,
                    })
                }));
            });
        }
        results
    }

    fn probe(&self, file: &Path) -> Probed {
        let spawned = Command::new(&self.exe)
            .arg(PROBE_COMMAND)
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let reason = format!("cannot start the plugin scanner {}: {e}", self.exe.display());
                return Probed {
                    verdict: Verdict::refused(reason, "check the rlhost installation", String::new()),
                    cacheable: false,
                };
            }
        };
        let stdout = read_in_thread(child.stdout.take());
        let stderr = read_in_thread(child.stderr.take());
        let deadline = Instant::now() + PROBE_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        judge(status, &stdout, &stderr)
    }
}

fn read_in_thread<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// The verdict from how the child ended and what it printed.
fn judge(status: Option<ExitStatus>, stdout: &str, stderr: &str) -> Probed {
    let reported = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(VERDICT_PREFIX))
        .and_then(|json| serde_json::from_str::<Verdict>(json).ok());
    let detail = stderr.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    let hint = "a truncated copy or a crashing initialiser: reinstall or rebuild it";
    let Some(status) = status else {
        let reason = format!("did not finish loading within {} s", PROBE_TIMEOUT.as_secs());
        return Probed { verdict: Verdict::refused(reason, hint, detail), cacheable: false };
    };
    let when = if reported.is_some() { "at exit, after loading" } else { "while loading" };
    let (reason, cacheable) = match (status.signal(), status.code()) {
        (Some(sig), _) => (format!("crashed {when}: killed by signal {sig} ({})", signal_name(sig)), sig != 9),
        (None, Some(0)) => match reported {
            Some(verdict) => return Probed { verdict, cacheable: true },
            None => ("exited with code 0 while loading, before the scanner's verdict".to_string(), true),
        },
        (None, Some(code)) => (format!("exited with code {code} {when}"), true),
        (None, None) => ("the scanner ended without an exit status".to_string(), false),
    };
    Probed { verdict: Verdict::refused(reason, hint, detail), cacheable }
}

fn signal_name(sig: i32) -> &'static str {
    nix::sys::signal::Signal::try_from(sig).map(|s| s.as_str()).unwrap_or("unknown signal")
}

/// Scans every folder as [`crate::discovery::discover`] does, but probes each file in a child first and
/// loads in-process only the files that passed; verdicts come from and go to `cache`.
pub fn discover_isolated(dirs: &[PathBuf], prober: &Prober, cache: &mut ScanCache) -> PluginSet {
    let mut seen = HashSet::new();
    let mut files: Vec<(PathBuf, Option<FileKey>)> = Vec::new();
    for dir in dirs {
        for file in candidate_files(dir) {
            let key = FileKey::of(&file);
            let canonical = key.as_ref().map_or_else(|| file.clone(), |k| k.path.clone());
            if seen.insert(canonical) {
                files.push((file, key));
            }
        }
    }
    let missing: Vec<PathBuf> = files
        .iter()
        .filter(|(_, key)| key.as_ref().is_none_or(|k| cache.get(k).is_none()))
        .map(|(file, _)| file.clone())
        .collect();
    let mut probed: Vec<(PathBuf, Probed)> = missing.iter().cloned().zip(prober.probe_all(&missing)).collect();
    let mut set = PluginSet::default();
    for (file, key) in &files {
        let verdict = match probed.iter().position(|(f, _)| f == file) {
            Some(i) => {
                let (_, p) = probed.swap_remove(i);
                if let (true, Some(key)) = (p.cacheable, key) {
                    cache.put(key, p.verdict.clone());
                }
                p.verdict
            }
            None => key.as_ref().and_then(|k| cache.get(k)).cloned().expect("cached verdict"),
        };
        match verdict {
            Verdict::Ok { .. } => match load_plugin(file) {
                Ok(plugin) => set.loaded.push(plugin),
                Err(refused) => set.refused.push(*refused),
            },
            Verdict::Refused { manifest, reason, hint, detail } => {
                set.refused.push(Refused { path: file.clone(), manifest, reason, hint, detail })
            }
        }
    }
    let _ = cache.save();
    set
}

/// [`discover_isolated`] with this binary as the scanner and the default cache.
pub fn discover_with_scanner(dirs: &[PathBuf]) -> PluginSet {
    let mut cache = ScanCache::load(ScanCache::default_path());
    match Prober::current() {
        Ok(prober) => discover_isolated(dirs, &prober, &mut cache),
        // Without our own binary there is no safe way to scan: refuse every file, load none.
        Err(e) => {
            let mut set = PluginSet::default();
            for dir in dirs {
                for file in candidate_files(dir) {
                    let reason = format!("cannot find the rlhost binary to scan it with: {e}");
                    set.refused.push(Refused {
                        path: file,
                        manifest: None,
                        reason,
                        hint: "check the rlhost installation".into(),
                        detail: String::new(),
                    });
                }
            }
            set
        }
    }
}
