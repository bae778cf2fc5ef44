//! Player settings read from rl_games' `params` block, plus lenient JSON value readers.
//!
//! PyYAML reads `1e3` (no dot) as a string, so numbers are accepted as JSON numbers or numeric
//! strings, and booleans as JSON booleans or `true`/`True`/`false`/`False` strings.
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
        if !params.is_object() {
            return Err(PluginError::new(ErrorKind::Config, "player params must be a JSON object"));
        }
        let mut cfg = PlayerConfig::default();
        let config = params.get("config").filter(|v| !v.is_null());
        let Some(config) = config else { return Ok(cfg) };
        if !config.is_object() {
            return Err(PluginError::new(ErrorKind::Config, "params.config must be a mapping"));
        }
        cfg.clip_actions = opt_bool(config.get("clip_actions"), "config.clip_actions")?;
        cfg.normalize_input = opt_bool(config.get("normalize_input"), "config.normalize_input")?;
        if let Some(player) = config.get("player").filter(|v| !v.is_null()) {
            if !player.is_object() {
                return Err(PluginError::new(ErrorKind::Config, "config.player must be a mapping"));
            }
            if let Some(n) = opt_count(player.get("games_num"), "config.player.games_num")? {
                cfg.games_num = n;
            }
            if let Some(n) = opt_count(player.get("n_game_life"), "config.player.n_game_life")? {
                cfg.n_game_life = n.max(1);
            }
            if let Some(b) = opt_bool(player.get("deterministic"), "config.player.deterministic")? {
                cfg.deterministic = b;
            }
            if let Some(b) = opt_bool(player.get("print_stats"), "config.player.print_stats")? {
                cfg.print_stats = b;
            }
        }
        Ok(cfg)
    }
}

/// A number, or a string holding one (`"1e3"`).
pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// A boolean, or a string `true`/`True`/`false`/`False`.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An optional boolean config key; a present value of another type is a config error.
fn opt_bool(v: Option<&Value>, key: &str) -> PluginResult<Option<bool>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_bool(v)
            .map(Some)
            .ok_or_else(|| PluginError::new(ErrorKind::Config, format!("{key} must be a boolean, got {v}"))),
    }
}

/// An optional non-negative whole number (numeric strings accepted).
fn opt_count(v: Option<&Value>, key: &str) -> PluginResult<Option<u64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match as_f64(v) {
            Some(x) if x.is_finite() && x >= 0.0 && x.fract() == 0.0 => Ok(Some(x as u64)),
            _ => Err(PluginError::new(ErrorKind::Config, format!("{key} must be a non-negative integer, got {v}"))),
        },
    }
}
