//! Which config keys are read, for typo warnings: the host's own keys plus the keys each
//! builder a config names declares (its plugin's `BuilderInfo::config_keys`).
//!
//! Keys nobody declares still reach the plugins; the host only warns, with a did-you-mean
//! among the declared siblings.
use rlhost_plugin_api::{ConfigKey, ValueType};
use std::collections::{BTreeMap, BTreeSet};

/// The keys the host itself reads, as paths below `params`.
pub fn host_keys() -> Vec<ConfigKey> {
    use ValueType::*;
    [
        ("seed", Int),
        ("torch_threads", Any),
        // rl_games' Runner reads these to restore a checkpoint; rlhost takes `--checkpoint`.
        ("load_checkpoint", Any),
        ("load_path", Any),
        ("algo.name", String),
        ("env.clip_observations", Float),
        ("env.clip_actions", Float),
        ("config.name", String),
        ("config.full_experiment_name", String),
        ("config.train_dir", String),
        ("config.env_name", String),
        ("config.env_config.seed", Int),
        ("config.env_config.device", String),
        ("config.env_config.num_envs", Int),
        ("config.num_actors", Int),
        ("config.device", String),
        ("config.multi_gpu", Bool),
        ("config.player.env_config", Map),
        // rl_games keys that only select what the host already decides.
        ("config.features", Any),
        ("config.vecenv_type", String),
    ]
    .into_iter()
    .map(|(path, ty)| ConfigKey::new(path, ty))
    .collect()
}

/// The declared keys as a tree: for every map path (`params.config`), its declared children,
/// and the paths below which nothing is checked (declared as maps or anything).
#[derive(Debug, Default)]
pub struct KeyTree {
    children: BTreeMap<String, BTreeSet<String>>,
    opaque: BTreeSet<String>,
}

impl KeyTree {
    /// Builds the tree from declarations (paths below `params`).
    pub fn new(keys: &[ConfigKey]) -> Self {
        let mut tree = KeyTree::default();
        for key in keys {
            let full = format!("params.{}", key.path);
            let mut parent = String::new();
            for segment in full.split('.') {
                if !parent.is_empty() {
                    tree.children.entry(parent.clone()).or_default().insert(segment.to_string());
                }
                parent = if parent.is_empty() { segment.to_string() } else { format!("{parent}.{segment}") };
            }
            if matches!(key.value_type.as_enum(), Ok(ValueType::Map) | Ok(ValueType::Any) | Err(_)) {
                tree.opaque.insert(full);
            }
        }
        tree
    }

    /// The declared children of the map at `path`, `None` when nothing is declared below it or
    /// it is opaque (its contents are the reader's business).
    pub fn known_children(&self, path: &str) -> Option<&BTreeSet<String>> {
        if self.opaque.contains(path) {
            return None;
        }
        self.children.get(path)
    }
}
