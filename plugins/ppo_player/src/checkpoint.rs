//! Reading `a2c_continuous` checkpoints written to the rlhost checkpoint contract.
//!
//! A checkpoint is one safetensors file whose `__metadata__` carries `format=rlhost.checkpoint`,
//! `format_version=1`, `algo=a2c_continuous`, the observation shape, action dimension and bounds,
//! and the `network` block as JSON. Only the tensors the player needs are converted: the actor
//! MLP, the μ and σ heads, the observation normaliser and the optional `env_state`. rl_games'
//! `_orig_mod.` prefix (compiled models) is stripped from every key.
use crate::config::{as_bool, as_f64};
use rlhost_sdk::{ErrorKind, PluginError, PluginResult};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// The `format` metadata value of rlhost checkpoints.
pub const FORMAT: &str = "rlhost.checkpoint";
/// The `format_version` this reader understands.
pub const FORMAT_VERSION: &str = "1";
/// The `algo` metadata value this player accepts.
pub const ALGO: &str = "a2c_continuous";

/// Key prefixes (after prefix stripping) of the tensors the player converts.
const WANTED: [&str; 4] = ["a2c_network.actor_mlp.", "a2c_network.mu.", "a2c_network.sigma", "running_mean_std."];

/// A parsed checkpoint: validated metadata and the player's tensors on the CPU.
#[derive(Debug)]
pub struct Checkpoint {
    /// The file it was read from.
    pub path: PathBuf,
    /// The whole `__metadata__` map.
    pub metadata: HashMap<String, String>,
    /// Shape of one observation.
    pub observation_shape: Vec<i64>,
    /// Number of action dimensions.
    pub action_dim: usize,
    /// Lower action bounds recorded at training time, if present.
    pub action_low: Option<Vec<f32>>,
    /// Upper action bounds recorded at training time, if present.
    pub action_high: Option<Vec<f32>>,
    /// `params.network` as JSON.
    pub network: Value,
    /// Whether the model was trained with an observation normaliser, if recorded.
    pub normalize_input: Option<bool>,
    /// The training config's `clip_actions`, if recorded.
    pub clip_actions: Option<bool>,
    /// Every tensor name in the file (after prefix stripping).
    pub names: BTreeSet<String>,
    tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    /// Reads and validates the file; every failure is an [`ErrorKind::Checkpoint`] naming the file.
    pub fn load(path: &Path) -> PluginResult<Self> {
        let fail = |msg: String| checkpoint_error(path, msg);
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read file: {e}")))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| fail(format!("not a valid safetensors file (truncated or corrupt?): {e}")))?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| fail(format!("not a valid safetensors file (truncated or corrupt?): {e}")))?;
        let metadata = header
            .metadata()
            .clone()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| fail("no __metadata__; not an rlhost checkpoint".into()))?;

        let get = |key: &str| metadata.get(key).map(String::as_str);
        match get("format") {
            Some(FORMAT) => {}
            other => return Err(fail(format!("metadata format is {}, expected '{FORMAT}'", shown(other)))),
        }
        match get("format_version") {
            Some(v) if v.trim() == FORMAT_VERSION => {}
            other => {
                return Err(fail(format!("metadata format_version is {}, expected '{FORMAT_VERSION}'", shown(other))))
            }
        }
        match get("algo") {
            Some(ALGO) => {}
            other => return Err(fail(format!("metadata algo is {}, expected '{ALGO}'", shown(other)))),
        }

        let observation_shape = json_meta(&metadata, "observation_shape")
            .map_err(&fail)?
            .as_array()
            .and_then(|a| a.iter().map(|v| as_f64(v).filter(|x| *x >= 1.0).map(|x| x as i64)).collect::<Option<_>>())
            .ok_or_else(|| fail("metadata observation_shape must be a JSON array of positive integers".into()))?;
        let action_dim = get("action_dim")
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|x| *x >= 1.0 && x.fract() == 0.0)
            .ok_or_else(|| {
                fail(format!("metadata action_dim is {}, expected a positive integer", shown(get("action_dim"))))
            })? as usize;
        let bounds = |key: &str| -> PluginResult<Option<Vec<f32>>> {
            if !metadata.contains_key(key) {
                return Ok(None);
            }
            let v = json_meta(&metadata, key).map_err(&fail)?;
            let b: Option<Vec<f32>> =
                v.as_array().and_then(|a| a.iter().map(|x| as_f64(x).map(|f| f as f32)).collect());
            match b {
                Some(b) if b.len() == action_dim => Ok(Some(b)),
                _ => Err(fail(format!("metadata {key} must be a JSON array of {action_dim} numbers"))),
            }
        };
        let action_low = bounds("action_low")?;
        let action_high = bounds("action_high")?;
        let network = json_meta(&metadata, "network").map_err(&fail)?;
        if !network.is_object() {
            return Err(fail("metadata network must be a JSON object".into()));
        }
        let flag = |key: &str| get(key).and_then(|s| as_bool(&Value::String(s.to_string())));

        let mut names = BTreeSet::new();
        let mut tensors = HashMap::new();
        for (raw_name, view) in st.iter() {
            let name = raw_name.replace("_orig_mod.", "");
            if WANTED.iter().any(|p| name.starts_with(p)) || name == "env_state" {
                let t = to_tch(&view).map_err(|m| fail(format!("tensor '{name}': {m}")))?;
                tensors.insert(name.clone(), t);
            }
            names.insert(name);
        }

        Ok(Checkpoint {
            path: path.to_path_buf(),
            observation_shape,
            action_dim,
            action_low,
            action_high,
            network,
            normalize_input: flag("normalize_input"),
            clip_actions: flag("clip_actions"),
            names,
            tensors,
            metadata,
        })
    }

    /// A one-line [`ErrorKind::Checkpoint`] error naming this file.
    pub fn error(&self, msg: impl std::fmt::Display) -> PluginError {
        checkpoint_error(&self.path, msg)
    }

    /// Number of elements in one observation.
    pub fn observation_size(&self) -> i64 {
        self.observation_shape.iter().product()
    }

    /// Whether a converted tensor named `key` exists.
    pub fn has(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    /// The tensor `key` converted to `kind`, checked against `shape`.
    pub fn tensor(&self, key: &str, kind: Kind, shape: &[i64]) -> PluginResult<Tensor> {
        let t = self.tensors.get(key).ok_or_else(|| self.error(format!("missing tensor '{key}'")))?;
        if !matches!(t.kind(), Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) {
            return Err(self.error(format!("tensor '{key}' has dtype {:?}, expected a float type", t.kind())));
        }
        if t.size() != shape {
            return Err(self.error(format!("tensor '{key}' has shape {:?}, expected {shape:?}", t.size())));
        }
        Ok(t.to_kind(kind))
    }

    /// The tensor `key` as stored, if present.
    pub fn raw(&self, key: &str) -> Option<&Tensor> {
        self.tensors.get(key)
    }

    /// Names of converted tensors starting with `prefix`.
    pub fn names_with_prefix(&self, prefix: &str) -> Vec<&str> {
        self.tensors.keys().filter(|k| k.starts_with(prefix)).map(String::as_str).collect()
    }
}

/// A one-line [`ErrorKind::Checkpoint`] error: `checkpoint '<path>': <msg>`.
pub fn checkpoint_error(path: &Path, msg: impl std::fmt::Display) -> PluginError {
    PluginError::new(ErrorKind::Checkpoint, format!("checkpoint '{}': {msg}", path.display()))
}

fn shown(v: Option<&str>) -> String {
    v.map(|s| format!("'{s}'")).unwrap_or_else(|| "missing".to_string())
}

/// Parses a metadata entry holding JSON.
fn json_meta(metadata: &HashMap<String, String>, key: &str) -> Result<Value, String> {
    let text = metadata.get(key).ok_or_else(|| format!("metadata {key} is missing"))?;
    serde_json::from_str(text).map_err(|e| format!("metadata {key} is not valid JSON: {e}"))
}

/// Copies a safetensors view into a CPU tch tensor.
fn to_tch(view: &safetensors::tensor::TensorView<'_>) -> Result<Tensor, String> {
    let kind = match view.dtype() {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::U8 => Kind::Uint8,
        Dtype::I8 => Kind::Int8,
        Dtype::I32 => Kind::Int,
        Dtype::I64 => Kind::Int64,
        Dtype::BOOL => Kind::Bool,
        other => return Err(format!("unsupported dtype {other:?}")),
    };
    let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
    let numel: usize = view.shape().iter().product();
    if view.data().len() != numel * kind.elt_size_in_bytes() {
        return Err(format!("has {} bytes of data for shape {shape:?}", view.data().len()));
    }
    Tensor::f_from_data_size(view.data(), &shape, kind)
        .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())
}
