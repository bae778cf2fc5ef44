//! The `env_config` blocks of the two builders.
use rlhost_sdk::api::{ConfigKey, ValueType};
use rlhost_sdk::{ErrorKind, PluginError};
use serde_json::{Map, Value};

/// `env_config` keys the host itself reads; they never reach a Python constructor.
const HOST_KEYS: &[&str] = &["seed", "device", "num_envs"];

/// How a Gymnasium vector env steps its copies (its `vectorization_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vectorization {
    /// One process, envs stepped in turn (`SyncVectorEnv`).
    Sync,
    /// One worker process per env (`AsyncVectorEnv`).
    Async,
}

impl Vectorization {
    /// Gymnasium's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Vectorization::Sync => "sync",
            Vectorization::Async => "async",
        }
    }
}

/// `gym:<id>`'s `env_config`: `vectorization` plus the environment's keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct GymConfig {
    /// Sync or async stepping.
    pub vectorization: Vectorization,
    /// Everything else, passed to `gymnasium.make_vec` as keyword arguments.
    pub kwargs: Map<String, Value>,
}

/// `python`'s `env_config`: the entry point and its keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchEnvConfig {
    /// `package.module:callable`.
    pub entry_point: String,
    /// Extra keyword arguments of the callable.
    pub kwargs: Map<String, Value>,
}

fn config_error(message: String) -> PluginError {
    PluginError::new(ErrorKind::Config, message)
}

fn object(text: &str) -> Result<Map<String, Value>, PluginError> {
    let text = text.trim();
    if text.is_empty() || text == "null" {
        return Ok(Map::new());
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(config_error(format!("env_config must be a map, got {other}"))),
        Err(e) => Err(config_error(format!("env_config is not valid JSON: {e}"))),
    }
}

impl GymConfig {
    /// Parses `env_config`.
    pub fn from_json(text: &str) -> Result<Self, PluginError> {
        let mut kwargs = object(text)?;
        for key in HOST_KEYS {
            kwargs.remove(*key);
        }
        let vectorization = match kwargs.remove("vectorization") {
            None => Vectorization::Sync,
            Some(Value::String(s)) if s == "sync" => Vectorization::Sync,
            Some(Value::String(s)) if s == "async" => Vectorization::Async,
            Some(other) => {
                return Err(config_error(format!("env_config.vectorization must be 'sync' or 'async', got {other}")))
            }
        };
        Ok(GymConfig { vectorization, kwargs })
    }

    /// The declared keys: `vectorization`, and the rest of `env_config` is the env's own.
    pub fn config_keys() -> Vec<ConfigKey> {
        vec![ConfigKey::new("config.env_config", ValueType::Map)]
    }
}

impl TorchEnvConfig {
    /// Parses `env_config`; `entry_point` must look like `package.module:callable`.
    pub fn from_json(text: &str) -> Result<Self, PluginError> {
        let map = object(text)?;
        let entry_point = match map.get("entry_point") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(config_error(format!("env_config.entry_point must be a string, got {other}"))),
            None => {
                return Err(config_error(
                    "env 'python' needs env_config.entry_point: 'package.module:callable'".to_string(),
                ))
            }
        };
        let valid = entry_point.split_once(':').is_some_and(|(module, attr)| {
            !module.is_empty() && !attr.is_empty() && !attr.contains(':') && !module.contains(char::is_whitespace)
        });
        if !valid {
            return Err(config_error(format!(
                "env_config.entry_point '{entry_point}' is not of the form 'package.module:callable'"
            )));
        }
        let kwargs = match map.get("kwargs") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => return Err(config_error(format!("env_config.kwargs must be a map, got {other}"))),
        };
        Ok(TorchEnvConfig { entry_point, kwargs })
    }

    /// The declared keys.
    pub fn config_keys() -> Vec<ConfigKey> {
        vec![
            ConfigKey::new("config.env_config.entry_point", ValueType::String),
            ConfigKey::new("config.env_config.kwargs", ValueType::Map),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gym_config_separates_vectorization_and_host_keys_from_kwargs() {
        let c = GymConfig::from_json(r#"{"vectorization": "async", "num_envs": 8, "ctrl_cost_weight": 0.2}"#).unwrap();
        assert_eq!(c.vectorization, Vectorization::Async);
        assert_eq!(c.kwargs.keys().collect::<Vec<_>>(), ["ctrl_cost_weight"]);
        assert!(GymConfig::from_json(r#"{"vectorization": "threads"}"#).unwrap_err().message.contains("'sync'"));
    }

    #[test]
    fn entry_point_must_name_a_module_and_a_callable() {
        let c = TorchEnvConfig::from_json(r#"{"entry_point": "pkg.env:make", "kwargs": {"a": 1}}"#).unwrap();
        assert_eq!(c.entry_point, "pkg.env:make");
        assert_eq!(c.kwargs["a"], 1);
        for bad in [r#"{}"#, r#"{"entry_point": "pkg.env"}"#, r#"{"entry_point": ":make"}"#, r#"{"entry_point": 3}"#] {
            let e = TorchEnvConfig::from_json(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad}");
            assert!(e.message.contains("entry_point"), "{bad}: {}", e.message);
        }
    }
}
