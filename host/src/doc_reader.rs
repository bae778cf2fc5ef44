//! A strict reader for config documents (YAML or JSON) into JSON values.
//!
//! Unlike deserializing straight into `serde_json::Value`, it refuses a key written twice in
//! one mapping and `.nan`, keeps `.inf` / `-.inf` as the strings `"inf"` / `"-inf"` (plugins
//! read those as numbers) instead of letting them become null, and refuses input nested deeper
//! than [`MAX_DEPTH`] or larger than [`MAX_BYTES`] before the parser sees it.
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// The deepest nesting accepted (rl_games configs use fewer than ten levels).
pub const MAX_DEPTH: usize = 64;

/// The largest config accepted, in bytes.
pub const MAX_BYTES: usize = 8 << 20;

/// Messages this reader makes itself; any other parser error is a syntax error.
const OWN_ERRORS: [&str; 2] = ["duplicate key ", "key "];

/// Parses YAML text; the error is one line with the line number when the parser gives one.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    check_shape(text)?;
    let de = serde_norway::Deserializer::from_str(text);
    Node { path: String::new() }.deserialize(de).map_err(|e| {
        let message = e.to_string();
        let first = message.lines().next().unwrap_or(&message);
        let Some(own) = OWN_ERRORS.iter().filter_map(|p| first.find(p)).min().map(|at| &first[at..]) else {
            let at = e.location().map(|l| format!(" at line {}", l.line())).unwrap_or_default();
            return format!("invalid YAML{at}: {first}");
        };
        let own = own.split(" at line ").next().unwrap_or(own);
        match (own.strip_prefix("duplicate key "), e.location()) {
            (Some(rest), Some(l)) => {
                let path = rest.split(' ').next().unwrap_or(rest);
                let key = path.rsplit('.').next().unwrap_or(path);
                match key_lines(text, key, l.line(), l.column()) {
                    Some((a, b)) => format!("duplicate key {path} (lines {a} and {b}); write each key once"),
                    None => format!("duplicate key {path} in the mapping at line {}; write each key once", l.line()),
                }
            }
            (_, Some(l)) => format!("{own} (line {})", l.line()),
            _ => own.to_string(),
        }
    })
}

/// The first two lines, from `line` on, where block-mapping key `key` starts at `column`.
fn key_lines(text: &str, key: &str, line: usize, column: usize) -> Option<(usize, usize)> {
    let indent = column.saturating_sub(1);
    let mut found = text.lines().enumerate().skip(line.saturating_sub(1)).filter_map(|(i, l)| {
        let content = l.get(indent..)?;
        let starts = l[..indent].chars().all(|c| c == ' ' || c == '-');
        let named = [key.to_string(), format!("\"{key}\""), format!("'{key}'")]
            .iter()
            .any(|k| content.strip_prefix(k.as_str()).is_some_and(|r| r.trim_start().starts_with(':')));
        (starts && named).then_some(i + 1)
    });
    Some((found.next()?, found.next()?))
}

/// Parses JSON text with the same checks.
pub fn parse_json(text: &str) -> Result<Value, String> {
    check_shape(text)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let describe = |e: serde_json::Error| {
        let message = e.to_string();
        if OWN_ERRORS.iter().any(|p| message.starts_with(p)) {
            let own = message.split(" at line ").next().unwrap_or(&message).to_string();
            format!("{own} (line {})", e.line())
        } else {
            format!("invalid JSON at line {}: {message}", e.line())
        }
    };
    let value = Node { path: String::new() }.deserialize(&mut de).map_err(describe)?;
    de.end().map_err(describe)?;
    Ok(value)
}

/// Refuses input over [`MAX_BYTES`] or nested deeper than [`MAX_DEPTH`].
fn check_shape(text: &str) -> Result<(), String> {
    if text.len() > MAX_BYTES {
        return Err(format!("{} bytes is larger than the {} MiB a config may have", text.len(), MAX_BYTES >> 20));
    }
    match nesting_depth(text, MAX_DEPTH) {
        (depth, line) if depth > MAX_DEPTH => Err(format!("nested deeper than {MAX_DEPTH} levels at line {line}")),
        _ => Ok(()),
    }
}

/// An upper estimate of the nesting depth and the line where it is deepest, stopping at the
/// first line deeper than `limit`: block indentation levels, `- ` sequence entries and flow
/// brackets, skipping comments, quoted text and block scalars.
pub fn nesting_depth(text: &str, limit: usize) -> (usize, usize) {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut deepest = (0, 0);
    let mut block_scalar: Option<usize> = None;
    for (number, line) in text.lines().enumerate() {
        let content = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(parent) = block_scalar {
            if indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if flow == 0 {
            while indents.last().is_some_and(|&i| i > indent) {
                indents.pop();
            }
            if indents.last().is_none_or(|&i| i < indent) {
                indents.push(indent);
            }
        }
        let mut rest = content;
        let mut dashes = 0;
        while let Some(r) = rest.strip_prefix("- ") {
            dashes += 1;
            rest = r.trim_start();
        }
        let (max_flow, ends_block) = scan_flow(rest, &mut flow);
        let depth = indents.len() + dashes + max_flow;
        if depth > deepest.0 {
            deepest = (depth, number + 1);
            if depth > limit {
                return deepest;
            }
        }
        if ends_block {
            block_scalar = Some(indent);
        }
    }
    deepest
}

/// Tracks flow brackets through one line; returns the deepest level reached and whether the
/// line opens a block scalar (`|` or `>`).
fn scan_flow(line: &str, flow: &mut usize) -> (usize, bool) {
    let mut deepest = *flow;
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut last_token = String::new();
    for c in line.chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '#' if prev == ' ' || prev == '\t' => break,
                '\'' | '"' if matches!(prev, ' ' | ':' | '[' | '{' | ',' | '-') => quote = Some(c),
                '[' | '{' => {
                    *flow += 1;
                    deepest = deepest.max(*flow);
                }
                ']' | '}' => *flow = flow.saturating_sub(1),
                _ => {}
            },
        }
        if c.is_whitespace() {
            last_token.clear();
        } else {
            last_token.push(c);
        }
        prev = c;
    }
    let block = quote.is_none() && *flow == 0 && {
        let t = last_token.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
        t == "|" || t == ">" || t.ends_with(":|") || t.ends_with(":>")
    };
    (deepest, block)
}

/// Builds a JSON value, knowing its key path for errors.
struct Node {
    path: String,
}

impl Node {
    fn child(&self, key: &str) -> Node {
        Node { path: if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) } }
    }

    fn name(&self) -> &str {
        if self.path.is_empty() {
            "the document"
        } else {
            &self.path
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a config value at {}", self.name())
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        if v.is_nan() {
            return Err(E::custom(format!("key {}: .nan is not a number; write a number", self.name())));
        }
        Ok(match Number::from_f64(v) {
            Some(n) => Value::Number(n),
            None => Value::String(if v > 0.0 { "inf" } else { "-inf" }.to_string()),
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Node { path: format!("{}[{}]", self.path, items.len()) })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let child = self.child(&key);
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {}", child.path)));
            }
            let value = map.next_value_seed(child)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key as text (YAML allows numbers and booleans as keys).
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a text, number or boolean mapping key")
    }

    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_bool<E>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_unit<E>(self) -> Result<String, E> {
        Ok("null".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_nan_and_infinities() {
        let err = parse_yaml("params:\n  config:\n    gamma: 0.9\n    gamma: 0.8\n").unwrap_err();
        assert_eq!(err, "duplicate key params.config.gamma (lines 3 and 4); write each key once");
        let err = parse_yaml("params:\n  config:\n    gamma: .nan\n").unwrap_err();
        assert_eq!(err, "key params.config.gamma: .nan is not a number; write a number (line 3)");
        let v = parse_yaml("a: .inf\nb: -.inf\nc: [1, 2.5, x]\n1: true\n").unwrap();
        assert_eq!(v, serde_json::json!({"a": "inf", "b": "-inf", "c": [1, 2.5, "x"], "1": true}));
        let err = parse_json(r#"{"params": {"a": 1, "a": 2}}"#).unwrap_err();
        assert!(err.contains("duplicate key params.a"), "{err}");
    }

    #[test]
    fn depth_is_estimated_from_indentation_sequences_and_brackets() {
        assert_eq!(nesting_depth("a:\n  b:\n    c: 1\n  d: 2\n", 99).0, 3);
        assert_eq!(nesting_depth("a: {b: [1, {c: 2}]}\n", 99).0, 4);
        assert_eq!(nesting_depth("a:\n  - - x\n", 99).0, 4);
        assert_eq!(nesting_depth("a: |\n    x\n        y\n            z\nb: 'it{s'\n", 99).0, 1);
        let deep: String = (0..100).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert_eq!(parse_yaml(&deep).unwrap_err(), "nested deeper than 64 levels at line 65");
        let flow = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert!(parse_yaml(&flow).unwrap_err().contains("nested deeper"));
    }
}
