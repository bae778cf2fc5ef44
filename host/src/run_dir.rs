//! Run folders: `<train_dir>/<experiment>/{params,nn,summaries}` and checkpoint selectors.
//!
//! Nothing of an earlier run is overwritten: a fresh run into a folder that already holds a run
//! is refused, and a resumed run continues in it. A run that fails before writing any data
//! removes the folder it created.
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The folders of one training run.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// `<train_dir>/<experiment>`.
    pub root: PathBuf,
    /// Whether this run created the folder (and which of its parents, innermost first).
    created: Vec<PathBuf>,
}

impl RunDir {
    /// Creates `<train_dir>/<experiment>` with `params/`, `nn/` and `summaries/` for a fresh run.
    pub fn create(train_dir: &Path, experiment: &str) -> Result<Self> {
        Self::open(train_dir, experiment, false)
    }

    /// Opens the run folder: a fresh run (`resuming` false) into a folder holding anything is
    /// refused; a resumed run continues in it.
    pub fn open(train_dir: &Path, experiment: &str, resuming: bool) -> Result<Self> {
        let root = train_dir.join(experiment);
        if root.exists() {
            if !root.is_dir() {
                bail!("run folder {} exists and is not a folder", root.display());
            }
            let empty = std::fs::read_dir(&root).map(|mut d| d.next().is_none()).unwrap_or(false);
            if !resuming && !empty {
                bail!(
                    "run folder {} already holds a run: pick another experiment name (--experiment) or resume it with --checkpoint",
                    root.display()
                );
            }
        }
        let mut created = Vec::new();
        let mut dir = root.as_path();
        while !dir.as_os_str().is_empty() && !dir.exists() {
            created.push(dir.to_path_buf());
            dir = dir.parent().unwrap_or(Path::new(""));
        }
        for sub in ["params", "nn", "summaries"] {
            std::fs::create_dir_all(root.join(sub))
                .with_context(|| format!("cannot create run folder {}", root.join(sub).display()))?;
        }
        Ok(RunDir { root, created })
    }

    /// rl_games' experiment name: `full_experiment_name`, else `<name>_<DD-HH-MM-SS>` in local time.
    pub fn experiment_name(name: &str, full_name: Option<&str>) -> String {
        match full_name {
            Some(full) => full.to_string(),
            None => format!("{name}_{}", chrono::Local::now().format("%d-%H-%M-%S")),
        }
    }

    /// Whether this run created the folder.
    pub fn is_new(&self) -> bool {
        self.created.first() == Some(&self.root)
    }

    /// Checkpoints folder.
    pub fn nn(&self) -> PathBuf {
        self.root.join("nn")
    }

    /// TensorBoard folder.
    pub fn summaries(&self) -> PathBuf {
        self.root.join("summaries")
    }

    /// Writes the fully resolved config as YAML and JSON into `params/`; a resumed run keeps the
    /// earlier files and writes `config.<N>.yaml` / `.json` next to them.
    pub fn write_params(&self, doc: &Value) -> Result<()> {
        let dir = self.root.join("params");
        let stem = (1..)
            .map(|n: u32| if n == 1 { "config".to_string() } else { format!("config.{n}") })
            .find(|s| !dir.join(format!("{s}.yaml")).exists() && !dir.join(format!("{s}.json")).exists())
            .expect("a free name");
        let yaml = serde_norway::to_string(doc).context("cannot render config as YAML")?;
        std::fs::write(dir.join(format!("{stem}.yaml")), yaml)
            .with_context(|| format!("cannot write params/{stem}.yaml"))?;
        let json = serde_json::to_string_pretty(doc).context("cannot render config as JSON")?;
        std::fs::write(dir.join(format!("{stem}.json")), json)
            .with_context(|| format!("cannot write params/{stem}.json"))?;
        Ok(())
    }

    /// Removes temporary checkpoint files (`.<name>.tmp<pid>`) in `nn/` whose writing process is
    /// gone; returns the line to print, if any were removed.
    pub fn remove_stale_temp_files(&self) -> Option<String> {
        let entries = std::fs::read_dir(self.nn()).ok()?;
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = temp_file_pid(&name) else { continue };
            if pid != std::process::id() && !process_alive(pid) && std::fs::remove_file(entry.path()).is_ok() {
                removed.push(name);
            }
        }
        if removed.is_empty() {
            return None;
        }
        removed.sort();
        Some(format!(
            "removed {} leftover temporary checkpoint file{} from {} (the process writing {} is gone): {}",
            removed.len(),
            if removed.len() == 1 { "" } else { "s" },
            self.nn().display(),
            if removed.len() == 1 { "it" } else { "them" },
            removed.join(", ")
        ))
    }

    /// After a failed run: removes the folder when this run created it and it holds nothing but
    /// this run's config files and empty logs. Anything else found keeps the whole folder.
    pub fn remove_if_unused(&self) {
        if !self.is_new() || !self.holds_only_empty_logs() {
            return;
        }
        for sub in ["params", "nn", "summaries"] {
            if let Ok(entries) = std::fs::read_dir(self.root.join(sub)) {
                for entry in entries.flatten() {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            let _ = std::fs::remove_dir(self.root.join(sub));
        }
        // Only folders this run created, innermost first; `remove_dir` leaves any that are not empty.
        for dir in &self.created {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }

    fn holds_only_empty_logs(&self) -> bool {
        let names = |dir: &Path| -> Option<Vec<String>> {
            let entries = std::fs::read_dir(dir).ok()?;
            Some(entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        };
        let (Some(top), Some(params), Some(nn), Some(summaries)) =
            (names(&self.root), names(&self.root.join("params")), names(&self.nn()), names(&self.summaries()))
        else {
            return false;
        };
        let episodes_empty = std::fs::read_to_string(self.summaries().join("episodes.csv"))
            .map_or(true, |text| text.lines().count() <= 1);
        top.iter().all(|n| ["params", "nn", "summaries"].contains(&n.as_str()))
            && params.iter().all(|n| n.starts_with("config") && (n.ends_with(".yaml") || n.ends_with(".json")))
            && nn.is_empty()
            && summaries.iter().all(|n| n == "episodes.csv" || n.starts_with("events.out.tfevents."))
            && episodes_empty
    }
}

/// The pid in a temporary checkpoint name `.<name>.tmp<pid>`.
fn temp_file_pid(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?;
    let (_, pid) = rest.rsplit_once(".tmp")?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process with this pid exists (one owned by another user counts).
fn process_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else { return false };
    if raw <= 0 {
        return true;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(e) => e != nix::errno::Errno::ESRCH,
    }
}

/// Whether run folder `folder` belongs to experiment `name`: exactly `name`, or `name_<DD-HH-MM-SS>`.
pub fn is_run_of(folder: &str, name: &str) -> bool {
    if folder == name {
        return true;
    }
    let Some(stamp) = folder.strip_prefix(name).and_then(|r| r.strip_prefix('_')) else { return false };
    let b = stamp.as_bytes();
    b.len() == 11 && b.iter().enumerate().all(|(i, c)| if i % 3 == 2 { *c == b'-' } else { c.is_ascii_digit() })
}

/// Resolves `--checkpoint`: a path, or `latest` / `best` among the runs of `name` in `train_dir`.
///
/// Runs of `name` are the folders `<name>` and `<name>_<DD-HH-MM-SS>`; when `experiment` (the
/// `full_experiment_name`) is given and its folder holds a match, only that folder counts. `best`
/// is the best-so-far file `<name>.safetensors` of the newest run that has one; `latest` is the
/// most recently written checkpoint.
pub fn resolve_checkpoint(selector: &str, train_dir: &Path, name: &str, experiment: Option<&str>) -> Result<PathBuf> {
    if selector != "latest" && selector != "best" {
        let path = PathBuf::from(selector);
        if !path.is_file() {
            bail!("checkpoint {} does not exist", path.display());
        }
        return Ok(path);
    }
    let runs = std::fs::read_dir(train_dir)
        .with_context(|| format!("no run folder {} to find the {selector} checkpoint in", train_dir.display()))?;
    let mut by_name: Vec<(SystemTime, PathBuf)> = Vec::new();
    let mut in_experiment: Vec<(SystemTime, PathBuf)> = Vec::new();
    for run in runs.flatten() {
        let run_name = run.file_name().to_string_lossy().into_owned();
        let exact = experiment == Some(run_name.as_str());
        if !exact && !is_run_of(&run_name, name) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(run.path().join("nn")) else { continue };
        for file in files.flatten() {
            let file_name = file.file_name().to_string_lossy().into_owned();
            let wanted = match selector {
                "best" => file_name == format!("{name}.safetensors"),
                _ => file_name.ends_with(".safetensors") && !file_name.starts_with('.'),
            };
            if wanted {
                let modified = file.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
                let list = if exact { &mut in_experiment } else { &mut by_name };
                list.push((modified, file.path()));
            }
        }
    }
    let candidates = if in_experiment.is_empty() { by_name } else { in_experiment };
    candidates
        .into_iter()
        .max()
        .map(|(_, p)| p)
        .ok_or_else(|| anyhow!("no {selector} checkpoint for '{name}' under {}", train_dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_a_name_are_the_name_or_the_name_and_a_timestamp() {
        assert!(is_run_of("pend", "pend"));
        assert!(is_run_of("pend_01-02-03-04", "pend"));
        assert!(!is_run_of("pendulum_01-02-03-04", "pend"));
        assert!(!is_run_of("pend_01-02-03", "pend"));
        assert!(!is_run_of("pend_x1-02-03-04", "pend"));
        assert!(!is_run_of("pend_01-02-03-04_b", "pend"));
    }

    #[test]
    fn temporary_checkpoint_names_give_their_pid() {
        assert_eq!(temp_file_pid(".pend.safetensors.tmp1234"), Some(1234));
        assert_eq!(temp_file_pid("pend.safetensors.tmp1234"), None);
        assert_eq!(temp_file_pid(".pend.safetensors.tmp"), None);
        assert_eq!(temp_file_pid(".pend.safetensors"), None);
    }
}
