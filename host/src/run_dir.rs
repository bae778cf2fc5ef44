//! Run folders: `<train_dir>/<experiment>/{params,nn,summaries}` and checkpoint selectors.
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The folders of one training run.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// `<train_dir>/<experiment>`.
    pub root: PathBuf,
}

impl RunDir {
    /// Creates `<train_dir>/<experiment>` with `params/`, `nn/` and `summaries/`.
    pub fn create(train_dir: &Path, experiment: &str) -> Result<Self> {
        let root = train_dir.join(experiment);
        for sub in ["params", "nn", "summaries"] {
            std::fs::create_dir_all(root.join(sub))
                .with_context(|| format!("cannot create run folder {}", root.join(sub).display()))?;
        }
        Ok(RunDir { root })
    }

    /// rl_games' experiment name: `full_experiment_name`, else `<name>_<DD-HH-MM-SS>` in local time.
    pub fn experiment_name(name: &str, full_name: Option<&str>) -> String {
        match full_name {
            Some(full) => full.to_string(),
            None => format!("{name}_{}", chrono::Local::now().format("%d-%H-%M-%S")),
        }
    }

    /// Checkpoints folder.
    pub fn nn(&self) -> PathBuf {
        self.root.join("nn")
    }

    /// TensorBoard folder.
    pub fn summaries(&self) -> PathBuf {
        self.root.join("summaries")
    }

    /// Writes the fully resolved config as YAML and JSON into `params/`.
    pub fn write_params(&self, doc: &Value) -> Result<()> {
        let dir = self.root.join("params");
        let yaml = serde_norway::to_string(doc).context("cannot render config as YAML")?;
        std::fs::write(dir.join("config.yaml"), yaml).context("cannot write params/config.yaml")?;
        let json = serde_json::to_string_pretty(doc).context("cannot render config as JSON")?;
        std::fs::write(dir.join("config.json"), json).context("cannot write params/config.json")?;
        Ok(())
    }
}

/// Resolves `--checkpoint`: a path, or `latest` / `best` among the runs of `name` in `train_dir`.
///
/// `best` is the best-so-far file `<name>.safetensors` of the newest run that has one; `latest`
/// is the most recently written checkpoint of any run of `name`.
pub fn resolve_checkpoint(selector: &str, train_dir: &Path, name: &str) -> Result<PathBuf> {
    if selector != "latest" && selector != "best" {
        let path = PathBuf::from(selector);
        if !path.is_file() {
            bail!("checkpoint {} does not exist", path.display());
        }
        return Ok(path);
    }
    let mut candidates: Vec<(SystemTime, PathBuf)> = Vec::new();
    let runs = std::fs::read_dir(train_dir)
        .with_context(|| format!("no run folder {} to find the {selector} checkpoint in", train_dir.display()))?;
    for run in runs.flatten() {
        let run_name = run.file_name().to_string_lossy().into_owned();
        if !run_name.starts_with(name) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(run.path().join("nn")) else { continue };
        for file in files.flatten() {
            let path = file.path();
            let file_name = file.file_name().to_string_lossy().into_owned();
            let wanted = match selector {
                "best" => file_name == format!("{name}.safetensors"),
                _ => file_name.ends_with(".safetensors"),
            };
            if wanted {
                let modified = file.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
                candidates.push((modified, path));
            }
        }
    }
    candidates
        .into_iter()
        .max()
        .map(|(_, p)| p)
        .ok_or_else(|| anyhow!("no {selector} checkpoint for '{name}' under {}", train_dir.display()))
}
