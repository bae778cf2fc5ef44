//! The lenient reader of rl_games' JSON config blocks, shared by every plugin (docs/rl_games.md §3.1–§3.3).
//!
//! Every error is one line naming the key path (`params.config.minibatch_size: ...`). Numeric values
//! may arrive as strings (`"3e-4"`, as PyYAML reads them); booleans as `"True"`/`"false"` or 0/1.
//! Keys for rl_games features a plugin does not implement are refused with
//! [`ErrorKind::Unsupported`]; unknown keys are ignored (the host warns about them).
use rlhost_sdk::{ErrorKind, PluginError};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Results of parsing.
pub type ConfigResult<T> = Result<T, PluginError>;

/// A one-line [`ErrorKind::Config`] error: `<path>: <what>`.
pub fn config_error(path: &str, what: impl std::fmt::Display) -> PluginError {
    PluginError::new(ErrorKind::Config, format!("{path}: {what}"))
}

/// A one-line [`ErrorKind::Unsupported`] error for an rl_games feature not implemented yet.
pub fn unsupported(path: &str, what: &str) -> PluginError {
    PluginError::new(ErrorKind::Unsupported, format!("{path}: {what} is not supported yet by a2c_continuous"))
}

/// The "not supported yet" keys of one config, collected so one error names them all.
#[derive(Debug, Default)]
pub struct Refusals(Vec<(String, String)>);

impl Refusals {
    /// Records that the key at `path` asks for `what`, which is not implemented.
    pub fn refuse(&mut self, path: impl Into<String>, what: impl Into<String>) {
        self.0.push((path.into(), what.into()));
    }

    /// Records `section.key` when that feature is switched on ([`Section::enabled`]).
    pub fn check(&mut self, section: &Section<'_>, key: &str, what: &str) {
        if section.enabled(key) {
            self.refuse(section.key_path(key), what);
        }
    }

    /// The refused key paths, in the order they were found.
    pub fn paths(&self) -> Vec<&str> {
        self.0.iter().map(|(p, _)| p.as_str()).collect()
    }

    /// `Ok` when nothing was refused, else one [`ErrorKind::Unsupported`] line listing every key:
    /// `not supported yet by a2c_continuous: <path> (<what>), <path> (<what>)`.
    pub fn into_result(self) -> ConfigResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = self.0.iter().map(|(path, what)| format!("{path} ({what})")).collect();
        Err(PluginError::new(
            ErrorKind::Unsupported,
            format!("not supported yet by a2c_continuous: {}", list.join(", ")),
        ))
    }
}

/// A JSON object and the key path that leads to it, for error messages.
#[derive(Clone)]
pub struct Section<'a> {
    // Owned when derived from a parent (`child`), so nested blocks such as a future
    // `central_value_config.network` get the right paths without static strings.
    path: Cow<'a, str>,
    map: &'a Map<String, Value>,
}

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

impl<'a> Section<'a> {
    /// Wraps `value` (which must be an object) found at `path`.
    pub fn new(path: &'a str, value: &'a Value) -> ConfigResult<Self> {
        Self::at(Cow::Borrowed(path), value)
    }

    fn at(path: Cow<'a, str>, value: &'a Value) -> ConfigResult<Self> {
        match value {
            Value::Object(map) => Ok(Section { path, map }),
            other => Err(config_error(&path, format!("expected a map, got {other}"))),
        }
    }

    /// An empty section (for optional maps that are absent).
    pub fn empty(path: &'a str) -> Self {
        Section { path: Cow::Borrowed(path), map: EMPTY.get_or_init(Map::new) }
    }

    /// The key path of this section.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full path of `key`.
    pub fn key_path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// The raw value, `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether the key is present (even as null).
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// A nested map at an explicit `path`, `None` when absent.
    pub fn section(&self, key: &str, path: &'a str) -> ConfigResult<Option<Section<'a>>> {
        self.get(key).map(|v| Section::new(path, v)).transpose()
    }

    /// A nested map whose path is this section's path plus `key`, `None` when absent.
    pub fn child(&self, key: &str) -> ConfigResult<Option<Section<'a>>> {
        self.get(key).map(|v| Section::at(Cow::Owned(self.key_path(key)), v)).transpose()
    }

    /// A required nested map (path = this path plus `key`).
    pub fn child_req(&self, key: &str) -> ConfigResult<Section<'a>> {
        self.child(key)?.ok_or_else(|| config_error(&self.key_path(key), "required key is missing"))
    }

    /// A number (or numeric string), `None` when absent.
    pub fn opt_f64(&self, key: &str) -> ConfigResult<Option<f64>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        let parsed = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => parse_number(s),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| config_error(&self.key_path(key), format!("expected a number, got {v}")))
    }

    /// A required number.
    pub fn f64_req(&self, key: &str) -> ConfigResult<f64> {
        self.opt_f64(key)?.ok_or_else(|| config_error(&self.key_path(key), "required key is missing"))
    }

    /// A number with a default.
    pub fn f64_or(&self, key: &str, default: f64) -> ConfigResult<f64> {
        Ok(self.opt_f64(key)?.unwrap_or(default))
    }

    /// An integer (or integral numeric string), `None` when absent.
    pub fn opt_i64(&self, key: &str) -> ConfigResult<Option<i64>> {
        match self.opt_f64(key)? {
            None => Ok(None),
            Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(Some(x as i64)),
            Some(x) => Err(config_error(&self.key_path(key), format!("expected an integer, got {x}"))),
        }
    }

    /// A required integer.
    pub fn i64_req(&self, key: &str) -> ConfigResult<i64> {
        self.opt_i64(key)?.ok_or_else(|| config_error(&self.key_path(key), "required key is missing"))
    }

    /// An integer with a default.
    pub fn i64_or(&self, key: &str, default: i64) -> ConfigResult<i64> {
        Ok(self.opt_i64(key)?.unwrap_or(default))
    }

    /// A required positive integer.
    pub fn positive_req(&self, key: &str) -> ConfigResult<i64> {
        let v = self.i64_req(key)?;
        if v <= 0 {
            return Err(config_error(&self.key_path(key), format!("must be positive, got {v}")));
        }
        Ok(v)
    }

    /// A non-negative integer (a count), `None` when absent.
    pub fn opt_count(&self, key: &str) -> ConfigResult<Option<u64>> {
        match self.opt_i64(key)? {
            Some(v) if v < 0 => Err(config_error(&self.key_path(key), format!("must be >= 0, got {v}"))),
            v => Ok(v.map(|v| v as u64)),
        }
    }

    /// A boolean (or `"true"`/`"True"`/`"false"`/`"False"`, or 0/1), `None` when absent.
    pub fn opt_bool(&self, key: &str) -> ConfigResult<Option<bool>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        match v {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Value::Number(n) if n.as_i64() == Some(0) => Ok(Some(false)),
            Value::Number(n) if n.as_i64() == Some(1) => Ok(Some(true)),
            other => Err(config_error(&self.key_path(key), format!("expected true or false, got {other}"))),
        }
    }

    /// A required boolean.
    pub fn bool_req(&self, key: &str) -> ConfigResult<bool> {
        self.opt_bool(key)?.ok_or_else(|| config_error(&self.key_path(key), "required key is missing"))
    }

    /// A boolean with a default.
    pub fn bool_or(&self, key: &str, default: bool) -> ConfigResult<bool> {
        Ok(self.opt_bool(key)?.unwrap_or(default))
    }

    /// A string, `None` when absent or null.
    pub fn opt_str(&self, key: &str) -> ConfigResult<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(config_error(&self.key_path(key), format!("expected a string, got {other}"))),
        }
    }

    /// A required string.
    pub fn str_req(&self, key: &str) -> ConfigResult<&'a str> {
        self.opt_str(key)?.ok_or_else(|| config_error(&self.key_path(key), "required key is missing"))
    }

    /// Whether a feature key is switched on (present, not null, not false/0/empty/`None`).
    pub fn enabled(&self, key: &str) -> bool {
        match self.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !(s.is_empty() || s.eq_ignore_ascii_case("false") || s == "None"),
            Some(Value::Object(m)) => !m.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        }
    }

    /// Refuses a feature that is switched on ([`Section::enabled`]).
    pub fn refuse_if_enabled(&self, key: &str, what: &str) -> ConfigResult<()> {
        if self.enabled(key) {
            return Err(unsupported(&self.key_path(key), what));
        }
        Ok(())
    }
}

/// Parses a numeric string the way Python's `float()` does for YAML scalars.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    t.replace('_', "").parse::<f64>().ok()
}
