//! The algorithm, player and environment factories, filled from the loaded plugins.
//!
//! Like rl_games' `ObjectFactory`, each maps a builder name to the plugin that builds it. A
//! builder may stand for a family of names (`gym:*` builds `gym:Ant-v5`); an exact name wins
//! over a family. A name offered by two plugins is ambiguous until the user picks one, either
//! with `<plugin id>:name` in the config (the part before the first `:` is the id of a loaded
//! plugin, so `gym:Ant-v5` stays a name) or with `--plugin-id`.
use crate::discovery::LoadedPlugin;
use anyhow::{anyhow, bail, Result};
use rlhost_plugin_api::abi_stable::std_types::RStr;
use rlhost_plugin_api::{AgentBox, AlgoArgs, BuilderKind, ConfigKey, EnvArgs, PlayerArgs, PlayerBox, VecEnvBox};
use std::collections::BTreeMap;

/// One factory per builder kind, keyed by builder name.
pub struct Registry<'p> {
    plugins: &'p [LoadedPlugin],
    by_kind: BTreeMap<BuilderKind, BTreeMap<String, Vec<usize>>>,
    preferred: Vec<String>,
}

impl<'p> Registry<'p> {
    /// Indexes every builder of every loaded plugin; `preferred` ids win ambiguous names.
    pub fn new(plugins: &'p [LoadedPlugin], preferred: &[String]) -> Self {
        let mut by_kind: BTreeMap<BuilderKind, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
        for (index, plugin) in plugins.iter().enumerate() {
            // A builder of a kind a later API minor added is skipped: this host cannot build it.
            for builder in &plugin.builders {
                if let Some(kind) = builder.kind() {
                    by_kind.entry(kind).or_default().entry(builder.name.to_string()).or_default().push(index);
                }
            }
        }
        Registry { plugins, by_kind, preferred: preferred.to_vec() }
    }

    /// The names known for a kind, sorted.
    pub fn names(&self, kind: BuilderKind) -> Vec<&str> {
        self.by_kind.get(&kind).map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    /// The indices of the plugins building `name`: those offering it exactly, else those whose
    /// family matches it.
    fn candidates(&self, kind: BuilderKind, name: &str) -> Vec<usize> {
        let Some(builders) = self.by_kind.get(&kind) else { return Vec::new() };
        if let Some(exact) = builders.get(name) {
            return exact.clone();
        }
        let mut family: Vec<usize> = builders
            .iter()
            .filter(|(declared, _)| rlhost_plugin_api::builder_name_matches(declared, name))
            .flat_map(|(_, plugins)| plugins.iter().copied())
            .collect();
        family.sort_unstable();
        family.dedup();
        family
    }

    /// The plugin that builds `requested` (`name` or `<plugin id>:name`), and the name without
    /// the id.
    pub fn resolve<'r>(&self, kind: BuilderKind, requested: &'r str) -> Result<(&'p LoadedPlugin, &'r str)> {
        let (wanted_id, name) = match requested.split_once(':') {
            Some((id, name)) if self.plugins.iter().any(|p| p.manifest.id == id) => (Some(id), name),
            _ => (None, requested),
        };
        let candidates = self.candidates(kind, name);
        if candidates.is_empty() {
            let known = self.names(kind);
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            bail!("unknown {} '{name}'; known {} builders: {known}", kind.as_str(), kind.as_str());
        }
        let plugins: Vec<&'p LoadedPlugin> = candidates.iter().map(|&i| &self.plugins[i]).collect();
        if let Some(id) = wanted_id {
            return plugins
                .into_iter()
                .find(|p| p.manifest.id == id)
                .map(|p| (p, name))
                .ok_or_else(|| anyhow!("no plugin with id '{id}' offers {} '{name}'", kind.as_str()));
        }
        if plugins.len() == 1 {
            return Ok((plugins[0], name));
        }
        let chosen: Vec<&'p LoadedPlugin> =
            plugins.iter().copied().filter(|p| self.preferred.contains(&p.manifest.id)).collect();
        if chosen.len() == 1 {
            return Ok((chosen[0], name));
        }
        let offers: Vec<String> = plugins.iter().map(|p| format!("{} ({})", p.path.display(), p.manifest.id)).collect();
        bail!(
            "{} '{name}' is offered by {} plugins: {}; pick one with --plugin-id ID or '<plugin id>:{name}' in the config",
            kind.as_str(),
            plugins.len(),
            offers.join(", ")
        )
    }

    /// The config keys the host and the builders `doc` names (algorithm, player, environment)
    /// declare; names that do not resolve contribute nothing (running them reports the error).
    pub fn declared_keys(&self, doc: &serde_json::Value) -> Vec<ConfigKey> {
        let mut keys = crate::config_schema::host_keys();
        let named = |path: &str| crate::config::get(doc, path).and_then(serde_json::Value::as_str).map(str::to_string);
        let wanted = [
            (BuilderKind::Algo, named("params.algo.name")),
            (BuilderKind::Player, named("params.algo.name")),
            (BuilderKind::Env, named("params.config.env_name")),
        ];
        for (kind, requested) in wanted {
            let Some(requested) = requested else { continue };
            if let Ok((plugin, name)) = self.resolve(kind, &requested) {
                let of_kind = || plugin.builders.iter().filter(|b| b.kind() == Some(kind));
                let builder = of_kind().find(|b| b.name == name).or_else(|| of_kind().find(|b| b.matches(name)));
                keys.extend(builder.into_iter().flat_map(|b| b.config_keys.iter().cloned()));
            }
        }
        keys
    }

    /// Creates an algorithm.
    pub fn create_algo(&self, requested: &str, args: AlgoArgs) -> Result<AgentBox> {
        let (plugin, name) = self.resolve(BuilderKind::Algo, requested)?;
        (plugin.module.create_algo())(RStr::from(name), args)
            .into_result()
            .map_err(|e| PluginFailure::wrap(format!("algo '{name}' from plugin {}", plugin.manifest.id), e))
    }

    /// Creates a player.
    pub fn create_player(&self, requested: &str, args: PlayerArgs) -> Result<PlayerBox> {
        let (plugin, name) = self.resolve(BuilderKind::Player, requested)?;
        (plugin.module.create_player())(RStr::from(name), args)
            .into_result()
            .map_err(|e| PluginFailure::wrap(format!("player '{name}' from plugin {}", plugin.manifest.id), e))
    }

    /// Creates an environment.
    pub fn create_env(&self, requested: &str, args: EnvArgs) -> Result<VecEnvBox> {
        let (plugin, name) = self.resolve(BuilderKind::Env, requested)?;
        (plugin.module.create_env())(RStr::from(name), args)
            .into_result()
            .map_err(|e| PluginFailure::wrap(format!("env '{name}' from plugin {}", plugin.manifest.id), e))
    }
}

/// A plugin's error with the host's context in front (`env 'X' from plugin Y: message`), one
/// error whose text is the whole line; callers that need the kind downcast to it.
#[derive(Debug)]
pub struct PluginFailure {
    text: String,
    /// The plugin's own error.
    pub error: rlhost_plugin_api::PluginError,
}

impl PluginFailure {
    /// `context: error` as an `anyhow::Error` that still carries `error`.
    pub fn wrap(context: String, error: rlhost_plugin_api::PluginError) -> anyhow::Error {
        anyhow::Error::new(PluginFailure { text: format!("{context}: {error}"), error })
    }
}

impl std::fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for PluginFailure {}
