//! The plugin scan cache: each file's verdict, keyed by canonical path, size and mtime.
//!
//! One small JSON file, `$XDG_CACHE_HOME/rlhost/plugin-scan.json` (else `~/.cache/rlhost/...`),
//! or the file named by [`CACHE_VAR`]. It is replaced atomically (a temporary file renamed over
//! it); an unreadable or corrupt cache, or one written by another rlhost build, is ignored.
use crate::discovery::HOST_TCH_VERSION;
use crate::probe::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The environment variable naming the cache file; empty turns the cache off.
pub const CACHE_VAR: &str = "RLHOST_PLUGIN_CACHE";

/// What identifies one version of a file: canonical path, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileKey {
    /// The canonical path.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: u64,
}

impl FileKey {
    /// The key of the file at `path` now, or `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Self> {
        let canonical = path.canonicalize().ok()?;
        let meta = std::fs::metadata(&canonical).ok()?;
        let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(FileKey { path: canonical, size: meta.len(), mtime_ns: mtime.as_nanos() as u64 })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    host: String,
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    size: u64,
    mtime_ns: u64,
    verdict: Verdict,
}

/// Verdicts from earlier scans, and the ones to add.
#[derive(Debug)]
pub struct ScanCache {
    path: Option<PathBuf>,
    file: CacheFile,
    dirty: bool,
}

impl ScanCache {
    /// The cache file to use: [`CACHE_VAR`], else under `$XDG_CACHE_HOME` or `~/.cache`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(value) = std::env::var_os(CACHE_VAR) {
            return (!value.is_empty()).then(|| PathBuf::from(value));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("rlhost").join("plugin-scan.json"))
    }

    /// Reads the cache at `path` (none: no caching); anything unreadable starts it empty.
    pub fn load(path: Option<PathBuf>) -> Self {
        let host = host_id();
        let file = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|f| f.host == host)
            .unwrap_or(CacheFile { host, entries: BTreeMap::new() });
        ScanCache { path, file, dirty: false }
    }

    /// The cached verdict for this version of the file.
    pub fn get(&self, key: &FileKey) -> Option<&Verdict> {
        let entry = self.file.entries.get(&key.path.to_string_lossy().into_owned())?;
        (entry.size == key.size && entry.mtime_ns == key.mtime_ns).then_some(&entry.verdict)
    }

    /// Records a verdict.
    pub fn put(&mut self, key: &FileKey, verdict: Verdict) {
        let entry = Entry { size: key.size, mtime_ns: key.mtime_ns, verdict };
        self.file.entries.insert(key.path.to_string_lossy().into_owned(), entry);
        self.dirty = true;
    }

    /// Writes the cache back if it changed, dropping files that no longer exist; best effort.
    pub fn save(&mut self) -> std::io::Result<()> {
        let Some(path) = self.path.as_deref() else { return Ok(()) };
        if !self.dirty {
            return Ok(());
        }
        self.file.entries.retain(|p, _| Path::new(p).exists());
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&serde_json::to_vec_pretty(&self.file)?)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        self.dirty = false;
        Ok(())
    }
}

/// This build of the host: verdicts made by another build are not reused.
fn host_id() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|e| FileKey::of(&e))
        .map(|k| format!("{}:{}:{}", k.path.display(), k.size, k.mtime_ns))
        .unwrap_or_default();
    format!(
        "api {} tch {HOST_TCH_VERSION} libtorch {} exe {exe}",
        rlhost_plugin_api::API_VERSION,
        rlhost_sdk::LIBTORCH_VERSION
    )
}
