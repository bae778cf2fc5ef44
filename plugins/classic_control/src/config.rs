//! The `env_config` block these environments accept.
use rlhost_sdk::api::{ConfigKey, ValueType};
use rlhost_sdk::{ErrorKind, PluginError};
use serde_json::Value;

/// Keys `env_config` may hold. Others are ignored here: the host warns about keys no builder
/// declares (Isaac Lab writes `num_envs` there), so typos do not pass silently.
pub const KNOWN_KEYS: &[&str] = &["max_episode_steps", "init_at_random_ep_len", "states", "channels_first"];

/// The declarations of [`KNOWN_KEYS`] for the host.
pub fn config_keys() -> Vec<ConfigKey> {
    vec![
        ConfigKey::new("config.env_config.max_episode_steps", ValueType::Int),
        ConfigKey::new("config.env_config.init_at_random_ep_len", ValueType::Bool),
        ConfigKey::new("config.env_config.states", ValueType::Bool),
        ConfigKey::new("config.env_config.channels_first", ValueType::Bool),
    ]
}

/// Parsed `env_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvConfig {
    /// Overrides the environment's default step limit.
    pub max_episode_steps: Option<u32>,
    /// Isaac Lab's option: start each environment's first episode at a random step of its limit.
    pub init_at_random_ep_len: bool,
    /// Also emit the privileged `states` group: the full physical state (Isaac Lab's `critic`).
    pub states: bool,
    /// Image envs: images as (C, H, W) instead of (H, W, C), as Isaac Lab 3.0's camera task
    /// hands them to configs with `permute_input: False`.
    pub channels_first: bool,
}

fn config_error(message: String) -> PluginError {
    PluginError::new(ErrorKind::Config, message)
}

impl EnvConfig {
    /// Parses the JSON `env_config` object (an empty string or `null` means defaults).
    pub fn from_json(text: &str) -> Result<Self, PluginError> {
        let text = text.trim();
        if text.is_empty() || text == "null" {
            return Ok(EnvConfig::default());
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| config_error(format!("env_config is not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(config_error(format!("env_config must be a JSON object, got {value}")));
        };
        let mut config = EnvConfig::default();
        for (key, value) in &map {
            match key.as_str() {
                "max_episode_steps" => {
                    let steps = value.as_u64().filter(|&n| (1..=u32::MAX as u64).contains(&n)).ok_or_else(|| {
                        config_error(format!("env_config.max_episode_steps must be a positive integer, got {value}"))
                    })?;
                    config.max_episode_steps = Some(steps as u32);
                }
                "init_at_random_ep_len" => {
                    config.init_at_random_ep_len = value.as_bool().ok_or_else(|| {
                        config_error(format!("env_config.init_at_random_ep_len must be a boolean, got {value}"))
                    })?;
                }
                "states" => {
                    config.states = value
                        .as_bool()
                        .ok_or_else(|| config_error(format!("env_config.states must be a boolean, got {value}")))?;
                }
                "channels_first" => {
                    config.channels_first = value.as_bool().ok_or_else(|| {
                        config_error(format!("env_config.channels_first must be a boolean, got {value}"))
                    })?;
                }
                _ => {}
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_keys_and_ignores_others() {
        assert_eq!(EnvConfig::from_json("{}").unwrap(), EnvConfig::default());
        let c =
            EnvConfig::from_json(r#"{"max_episode_steps": 7, "init_at_random_ep_len": true, "states": true}"#).unwrap();
        assert_eq!(
            c,
            EnvConfig { max_episode_steps: Some(7), init_at_random_ep_len: true, states: true, channels_first: false }
        );
        // Isaac Lab's num_envs (and typos) are the host's to warn about.
        let c = EnvConfig::from_json(r#"{"num_envs": 4096, "max_episode_step": 7}"#).unwrap();
        assert_eq!(c, EnvConfig::default());
        let e = EnvConfig::from_json(r#"{"max_episode_steps": 0}"#).unwrap_err();
        assert!(e.message.contains("max_episode_steps"), "{}", e.message);
        let e = EnvConfig::from_json(r#"{"init_at_random_ep_len": "yes"}"#).unwrap_err();
        assert!(e.message.contains("init_at_random_ep_len"), "{}", e.message);
        let e = EnvConfig::from_json(r#"{"states": 1}"#).unwrap_err();
        assert!(e.message.contains("states"), "{}", e.message);
        assert_eq!(EnvConfig::from_json("[1]").unwrap_err().kind(), ErrorKind::Config);
    }
}
