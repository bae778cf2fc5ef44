//! Reading rl_games / Isaac Lab configs (YAML or JSON), command-line overrides and checks.
use crate::config_schema::KeyTree;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// Reads a config file; `.json` is JSON, anything else YAML. Returns the whole document.
pub fn load_file(path: &Path) -> Result<Value> {
    let size = std::fs::metadata(path).with_context(|| format!("cannot read config {}", path.display()))?.len();
    if size > crate::doc_reader::MAX_BYTES as u64 {
        bail!(
            "config {}: {size} bytes is larger than the {} MiB a config may have",
            path.display(),
            crate::doc_reader::MAX_BYTES >> 20
        );
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        crate::doc_reader::parse_json(&text)
    } else {
        crate::doc_reader::parse_yaml(&text)
    };
    let mut doc = parsed.map_err(|e| anyhow!("config {}: {e}", path.display()))?;
    if doc.get("params").and_then(Value::as_object).is_none() {
        bail!(
            "config {}: missing the top-level 'params' map (rl_games layout: params: {{algo, model, network, config}})",
            path.display()
        );
    }
    coerce_numeric_strings(&mut doc);
    Ok(doc)
}

/// Turns strings such as `3e-4` (YAML 1.1 reads them as text) into numbers.
pub fn coerce_numeric_strings(value: &mut Value) {
    match value {
        Value::String(s) if looks_numeric(s) => {
            if let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                *value = Value::Number(n);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(coerce_numeric_strings),
        Value::Object(map) => map.values_mut().for_each(coerce_numeric_strings),
        _ => {}
    }
}

/// A float in exponent notation, the form YAML 1.1 leaves as a string.
fn looks_numeric(s: &str) -> bool {
    let s = s.trim();
    let Some((mantissa, exponent)) = s.split_once(['e', 'E']) else { return false };
    let mantissa = mantissa.strip_prefix(['+', '-']).unwrap_or(mantissa);
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    !mantissa.is_empty()
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.chars().filter(|&c| c == '.').count() <= 1
        && mantissa.chars().any(|c| c.is_ascii_digit())
        && !exponent.is_empty()
        && exponent.chars().all(|c| c.is_ascii_digit())
}

/// The value at a dotted path such as `params.config.gamma`.
pub fn get<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(doc, |v, key| v.get(key))
}

/// Sets the value at a dotted path, creating maps on the way.
pub fn set(doc: &mut Value, path: &str, value: Value) -> Result<()> {
    let mut node = doc;
    let keys: Vec<&str> = path.split('.').collect();
    for (i, key) in keys.iter().enumerate() {
        let map =
            node.as_object_mut().ok_or_else(|| anyhow!("cannot set {path}: '{}' is not a map", keys[..i].join(".")))?;
        if i + 1 == keys.len() {
            map.insert(key.to_string(), value);
            return Ok(());
        }
        node = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

/// Applies `key.path=value`, parsing the value as YAML and checking it against the current type.
pub fn apply_override(doc: &mut Value, text: &str) -> Result<()> {
    let (path, raw) = text.split_once('=').ok_or_else(|| anyhow!("override '{text}' is not key=value"))?;
    let path = path.trim();
    let path =
        if path.starts_with("params.") || path == "params" { path.to_string() } else { format!("params.{path}") };
    let mut value = match crate::doc_reader::parse_yaml(raw) {
        Ok(v) => v,
        Err(e) if e.starts_with("key ") => bail!("override {path}={raw}: .nan is not a number; write a number"),
        Err(_) => Value::String(raw.to_string()),
    };
    coerce_numeric_strings(&mut value);
    if let Some(current) = get(doc, &path) {
        let fits = matches!(
            (current, &value),
            (Value::Number(_), Value::Number(_))
                | (Value::Bool(_), Value::Bool(_))
                | (Value::String(_), _)
                | (Value::Null, _)
                | (Value::Array(_), Value::Array(_))
                | (Value::Object(_), Value::Object(_))
        );
        if !fits {
            bail!(
                "override {path}={raw}: expected {} like the config's {current}, got {}",
                type_name(current),
                type_name(&value)
            );
        }
        if matches!(current, Value::String(_)) && !matches!(value, Value::String(_)) {
            value = Value::String(raw.trim().to_string());
        }
    }
    set(doc, &path, value)
}

/// A JSON type name for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Warnings for keys neither the host nor the config's builders declare, each with a
/// did-you-mean when a declared sibling is close.
pub fn unknown_key_warnings(doc: &Value, declared: &KeyTree) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(params) = doc.get("params") {
        walk(params, "params", declared, &mut warnings);
    }
    warnings
}

fn walk(value: &Value, path: &str, declared: &KeyTree, warnings: &mut Vec<String>) {
    let Some(map) = value.as_object() else { return };
    let known = declared.known_children(path);
    for (key, child) in map {
        let child_path = format!("{path}.{key}");
        if let Some(known) = known {
            if !known.contains(key.as_str()) {
                let suggestion = known
                    .iter()
                    .map(|k| (strsim::damerau_levenshtein(k, key), k))
                    .filter(|(d, _)| *d <= 2 || (*d <= 3 && key.len() > 8))
                    .min()
                    .map(|(_, k)| format!(" (did you mean '{path}.{k}'?)"))
                    .unwrap_or_default();
                warnings.push(format!("unknown key '{child_path}'{suggestion}"));
                continue;
            }
        }
        walk(child, &child_path, declared, warnings);
    }
}

/// A required string at `path`, with an error naming the path.
pub fn require_str<'v>(doc: &'v Value, path: &str) -> Result<&'v str> {
    match get(doc, path) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => bail!("config key {path}: expected a string, got {}", type_name(other)),
        None => bail!("config key {path} is missing"),
    }
}

/// An optional integer at `path`.
pub fn opt_i64(doc: &Value, path: &str) -> Result<Option<i64>> {
    match get(doc, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| anyhow!("config key {path}: expected an integer, got {n}")),
        Some(other) => bail!("config key {path}: expected an integer, got {}", type_name(other)),
    }
}

/// An optional float at `path`.
pub fn opt_f64(doc: &Value, path: &str) -> Result<Option<f64>> {
    match get(doc, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => bail!("config key {path}: expected a number, got {}", type_name(other)),
    }
}

/// An optional boolean at `path`.
pub fn opt_bool(doc: &Value, path: &str) -> Result<Option<bool>> {
    match get(doc, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => bail!("config key {path}: expected true or false, got {}", type_name(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exponent_strings_become_numbers_but_names_stay() {
        let mut v = json!({"a": "3e-4", "b": "1E3", "c": "pendulum", "d": "001", "e": ["1e-5"]});
        coerce_numeric_strings(&mut v);
        assert_eq!(v["a"].as_f64(), Some(3e-4));
        assert_eq!(v["b"].as_f64(), Some(1000.0));
        assert_eq!(v["c"], "pendulum");
        assert_eq!(v["d"], "001");
        assert_eq!(v["e"][0].as_f64(), Some(1e-5));
    }

    #[test]
    fn overrides_are_type_checked() {
        let mut v = json!({"params": {"config": {"gamma": 0.99, "name": "x", "normalize_input": true}}});
        apply_override(&mut v, "params.config.gamma=0.98").unwrap();
        assert_eq!(v["params"]["config"]["gamma"].as_f64(), Some(0.98));
        apply_override(&mut v, "config.name=123").unwrap();
        assert_eq!(v["params"]["config"]["name"], "123");
        let err = apply_override(&mut v, "params.config.gamma=fast").unwrap_err().to_string();
        assert!(err.contains("params.config.gamma") && err.contains("expected a number"), "{err}");
        let err = apply_override(&mut v, "params.config.normalize_input=2").unwrap_err().to_string();
        assert!(err.contains("expected a boolean"), "{err}");
        assert!(apply_override(&mut v, "no_equals").is_err());
    }

    #[test]
    fn typos_get_a_suggestion_from_the_declarations() {
        use rlhost_plugin_api::{ConfigKey, ValueType};
        let mut keys = crate::config_schema::host_keys();
        keys.push(ConfigKey::new("config.learning_rate", ValueType::Float));
        keys.push(ConfigKey::new("config.gamma", ValueType::Float));
        keys.push(ConfigKey::new("config.env_config.max_episode_steps", ValueType::Int));
        keys.push(ConfigKey::new("config.reward_shaper", ValueType::Map));
        let tree = KeyTree::new(&keys);
        let v = json!({"params": {"config": {
            "learing_rate": 1.0, "gamma": 0.9,
            "env_config": {"max_episode_step": 1, "num_envs": 8},
            "reward_shaper": {"anything": 1}
        }}});
        let w = unknown_key_warnings(&v, &tree);
        assert_eq!(
            w,
            vec![
                "unknown key 'params.config.env_config.max_episode_step' (did you mean 'params.config.env_config.max_episode_steps'?)",
                "unknown key 'params.config.learing_rate' (did you mean 'params.config.learning_rate'?)",
            ]
        );
        // Without declarations below a map, nothing under it is judged.
        assert!(unknown_key_warnings(&json!({"params": {"other": {"x": 1}}}), &tree).len() == 1);
    }
}
