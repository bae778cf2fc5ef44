//! Player settings read from rl_games' `params` block.
//!
//! Values go through the trainer's reader ([`rlhost_model::section`]): PyYAML reads `1e3` (no dot)
//! as a string, so numbers may be numeric strings, and booleans `true`/`"True"`/`1` mean the same
//! here as in the trainer's config.
use rlhost_model::section::Section;
use rlhost_sdk::{ErrorKind, PluginError, PluginResult};
use serde_json::Value;

/// rl_games' default `config.player.games_num`.
pub const DEFAULT_GAMES_NUM: u64 = 1_000_000_000;

/// What the player reads from `params.config` and `params.config.player`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerConfig {
    /// `config.player.games_num`: games to play (default 1e9).
    pub games_num: u64,
    /// `config.player.n_game_life`: lives per game (default 1).
    pub n_game_life: u64,
    /// `config.player.deterministic`: act with μ instead of a sample (default true).
    pub deterministic: bool,
    /// `config.player.print_stats`: per-step result lines (default true).
    pub print_stats: bool,
    /// `config.clip_actions`, when present (rl_games' default is true).
    pub clip_actions: Option<bool>,
    /// `config.normalize_input`, when present.
    pub normalize_input: Option<bool>,
}

impl Default for PlayerConfig {
    fn default() -> Self {
        PlayerConfig {
            games_num: DEFAULT_GAMES_NUM,
            n_game_life: 1,
            deterministic: true,
            print_stats: true,
            clip_actions: None,
            normalize_input: None,
        }
    }
}

impl PlayerConfig {
    /// Parses the whole `params` JSON (an empty string means all defaults).
    pub fn from_params_json(text: &str) -> PluginResult<Self> {
        if text.trim().is_empty() {
            return Ok(PlayerConfig::default());
        }
        let params: Value = serde_json::from_str(text)
            .map_err(|e| PluginError::new(ErrorKind::Config, format!("player params are not valid JSON: {e}")))?;
        Self::from_params(&params)
    }

    /// Reads the settings from a parsed `params` value.
    pub fn from_params(params: &Value) -> PluginResult<Self> {
        let params = Section::new("params", params)?;
        let mut cfg = PlayerConfig::default();
        let Some(config) = params.child("config")? else { return Ok(cfg) };
        cfg.clip_actions = config.opt_bool("clip_actions")?;
        cfg.normalize_input = config.opt_bool("normalize_input")?;
        if let Some(player) = config.child("player")? {
            if let Some(n) = player.opt_count("games_num")? {
                cfg.games_num = n;
            }
            if let Some(n) = player.opt_count("n_game_life")? {
                cfg.n_game_life = n.max(1);
            }
            if let Some(b) = player.opt_bool("deterministic")? {
                cfg.deterministic = b;
            }
            if let Some(b) = player.opt_bool("print_stats")? {
                cfg.print_stats = b;
            }
        }
        Ok(cfg)
    }
}
