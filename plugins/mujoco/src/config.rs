//! `env_config`: Gymnasium's keyword arguments of each task, plus the plugin's own keys.
//!
//! Every task reads its keys through a [`ConfigReader`] and declares them through
//! [`declared_keys`] from the same [`KeySpec`] list, so the host's warning about keys no
//! builder declares covers typos and keys of another task (where Gymnasium raises a
//! `TypeError`). A key of the wrong type or out of range is refused with one line naming it.
use rlhost_sdk::api::{ConfigKey, ValueType};
use rlhost_sdk::{ErrorKind, PluginError};
use serde_json::{Map, Value};

/// One `env_config` key: its name and type.
pub type KeySpec = (&'static str, ValueType);

/// The plugin's keys, read by every task.
pub const PLUGIN_KEYS: &[KeySpec] = &[
    ("num_threads", ValueType::Int),
    ("max_episode_steps", ValueType::Int),
    ("xml_file", ValueType::String),
    ("frame_skip", ValueType::Int),
    ("forward_reward_weight", ValueType::Float),
    ("ctrl_cost_weight", ValueType::Float),
    ("reset_noise_scale", ValueType::Float),
    ("exclude_current_positions_from_observation", ValueType::Bool),
];

/// The host-facing declarations of the plugin's keys and a task's own `keys`.
pub fn declared_keys(keys: &[KeySpec]) -> Vec<ConfigKey> {
    PLUGIN_KEYS.iter().chain(keys).map(|&(name, ty)| ConfigKey::new(&format!("config.env_config.{name}"), ty)).collect()
}

fn config_error(message: String) -> PluginError {
    PluginError::new(ErrorKind::Config, message)
}

/// Typed access to one task's `env_config` object.
#[derive(Debug, Clone)]
pub struct ConfigReader {
    env: String,
    map: Map<String, Value>,
}

/// A number, or a numeric string (YAML reads `1e-3` as a string).
fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.trim() {
            "inf" | ".inf" | "+inf" => Some(f64::INFINITY),
            "-inf" | "-.inf" => Some(f64::NEG_INFINITY),
            text => text.parse().ok(),
        },
        _ => None,
    }
}

impl ConfigReader {
    /// Parses the JSON `env_config` of environment `env` (empty or `null` means defaults).
    pub fn parse(env: &str, text: &str) -> Result<Self, PluginError> {
        let text = text.trim();
        let map = if text.is_empty() || text == "null" {
            Map::new()
        } else {
            match serde_json::from_str(text) {
                Ok(Value::Object(map)) => map,
                Ok(other) => return Err(config_error(format!("{env}: env_config must be a mapping, got {other}"))),
                Err(e) => return Err(config_error(format!("{env}: env_config is not valid JSON: {e}"))),
            }
        };
        Ok(ConfigReader { env: env.to_string(), map })
    }

    fn invalid(&self, key: &str, what: &str, value: &Value) -> PluginError {
        config_error(format!("{}: env_config.{key} must be {what}, got {value}", self.env))
    }

    /// A finite number (default when absent).
    pub fn f64(&self, key: &str, default: f64) -> Result<f64, PluginError> {
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => as_number(v).filter(|x| x.is_finite()).ok_or_else(|| self.invalid(key, "a finite number", v)),
        }
    }

    /// A non-negative finite number.
    pub fn non_negative(&self, key: &str, default: f64) -> Result<f64, PluginError> {
        let x = self.f64(key, default)?;
        if x < 0.0 {
            return Err(self.invalid(key, "a non-negative number", &self.map[key]));
        }
        Ok(x)
    }

    /// A boolean.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, PluginError> {
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.invalid(key, "true or false", v)),
        }
    }

    /// A positive integer, or `None` when absent.
    pub fn positive(&self, key: &str) -> Result<Option<u32>, PluginError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|&n| (1..=u32::MAX as u64).contains(&n))
                .map(|n| Some(n as u32))
                .ok_or_else(|| self.invalid(key, "a positive integer", v)),
        }
    }

    /// A string, or `None` when absent.
    pub fn string(&self, key: &str) -> Result<Option<String>, PluginError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.invalid(key, "a string", v)),
        }
    }

    /// A `[low, high]` pair with low <= high; `null` (what YAML's `.inf` becomes) or `"inf"`
    /// leaves that side unbounded.
    pub fn range(&self, key: &str, default: (f64, f64)) -> Result<(f64, f64), PluginError> {
        let Some(v) = self.map.get(key) else { return Ok(default) };
        let bound = |x: &Value, unbounded: f64| if x.is_null() { Some(unbounded) } else { as_number(x) };
        let pair = match v.as_array().map(Vec::as_slice) {
            Some([lo, hi]) => bound(lo, f64::NEG_INFINITY).zip(bound(hi, f64::INFINITY)),
            _ => None,
        };
        pair.filter(|(lo, hi)| !lo.is_nan() && !hi.is_nan() && lo <= hi)
            .ok_or_else(|| self.invalid(key, "a [low, high] pair with low <= high", v))
    }

    /// The body named by `key`, given as an index or a name; `resolve` maps names to ids.
    pub fn body(
        &self,
        key: &str,
        default: usize,
        nbody: usize,
        resolve: impl Fn(&str) -> Option<usize>,
    ) -> Result<usize, PluginError> {
        let id = match self.map.get(key) {
            None => Some(default),
            Some(Value::String(name)) => resolve(name),
            Some(v) => v.as_u64().map(|n| n as usize),
        };
        id.filter(|&id| id < nbody)
            .ok_or_else(|| self.invalid(key, &format!("a body name or an index below {nbody}"), &self.map[key]))
    }
}

/// The keys every task shares, with Gymnasium's defaults for that task.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// The model file: a name in Gymnasium's assets folder, or a path.
    pub xml_file: String,
    /// Physics steps per environment step.
    pub frame_skip: u32,
    /// Weight of the forward velocity reward.
    pub forward_reward_weight: f64,
    /// Weight of the control cost.
    pub ctrl_cost_weight: f64,
    /// Scale of the initial-state noise.
    pub reset_noise_scale: f64,
    /// Drop the x (and y) position from the observation.
    pub exclude_current_positions_from_observation: bool,
}

impl Common {
    /// Reads the shared keys over `defaults`.
    pub fn read(c: &ConfigReader, defaults: Common) -> Result<Common, PluginError> {
        Ok(Common {
            xml_file: c.string("xml_file")?.unwrap_or(defaults.xml_file),
            frame_skip: c.positive("frame_skip")?.unwrap_or(defaults.frame_skip),
            forward_reward_weight: c.f64("forward_reward_weight", defaults.forward_reward_weight)?,
            ctrl_cost_weight: c.f64("ctrl_cost_weight", defaults.ctrl_cost_weight)?,
            reset_noise_scale: c.non_negative("reset_noise_scale", defaults.reset_noise_scale)?,
            exclude_current_positions_from_observation: c.bool(
                "exclude_current_positions_from_observation",
                defaults.exclude_current_positions_from_observation,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_typed_values_and_refuses_bad_ones() {
        let c = ConfigReader::parse(
            "Ant-v5",
            r#"{"a": 0.5, "b": "1e-3", "r": [0.2, null], "t": true, "n": 3, "s": "x", "bad": [2, 1]}"#,
        )
        .unwrap();
        assert_eq!(c.f64("a", 0.0).unwrap(), 0.5);
        assert_eq!(c.f64("b", 0.0).unwrap(), 1e-3);
        assert_eq!(c.f64("missing", 7.0).unwrap(), 7.0);
        assert_eq!(c.range("r", (0.0, 1.0)).unwrap(), (0.2, f64::INFINITY));
        assert!(c.bool("t", false).unwrap());
        assert_eq!(c.positive("n").unwrap(), Some(3));
        assert_eq!(c.string("s").unwrap().as_deref(), Some("x"));
        let e = c.range("bad", (0.0, 1.0)).unwrap_err();
        assert!(e.message.contains("Ant-v5: env_config.bad"), "{}", e.message);
        assert!(c.bool("a", false).unwrap_err().message.contains("true or false"));
        assert!(c.positive("a").is_err());
        assert!(ConfigReader::parse("Ant-v5", "[1]").is_err());
    }
}
