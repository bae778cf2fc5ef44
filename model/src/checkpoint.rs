//! The checkpoint contract (`CHECKPOINT.md` in this crate): one safetensors file written
//! atomically, its metadata keys, the checked reader every plugin uses and rl_games' file names.
use rlhost_sdk::{ErrorKind, PluginError};
use safetensors::tensor::{Dtype, SafeTensors, TensorView as StView};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// `format` metadata value.
pub const FORMAT: &str = "rlhost.checkpoint";
/// `format_version` metadata value.
pub const FORMAT_VERSION: &str = "1";
/// `algo` metadata value.
pub const ALGO: &str = "a2c_continuous";
/// The file extension.
pub const EXTENSION: &str = "safetensors";

/// Metadata keys written by the trainer and read by players (see `CHECKPOINT.md`).
pub mod keys {
    /// `rlhost.checkpoint`.
    pub const FORMAT: &str = "format";
    /// `1`.
    pub const FORMAT_VERSION: &str = "format_version";
    /// The algorithm that wrote the file.
    pub const ALGO: &str = "algo";
    /// JSON array: the shape of one observation.
    pub const OBSERVATION_SHAPE: &str = "observation_shape";
    /// `float32` or `uint8` (images): the observation group's element type (absent: float32).
    pub const OBSERVATION_DTYPE: &str = "observation_dtype";
    /// Integer: action dimensions.
    pub const ACTION_DIM: &str = "action_dim";
    /// JSON array of numbers.
    pub const ACTION_LOW: &str = "action_low";
    /// JSON array of numbers.
    pub const ACTION_HIGH: &str = "action_high";
    /// JSON of `params.network`.
    pub const NETWORK: &str = "network";
    /// `true` / `false`.
    pub const NORMALIZE_INPUT: &str = "normalize_input";
    /// `true` / `false`.
    pub const NORMALIZE_VALUE: &str = "normalize_value";
    /// `true` / `false`.
    pub const CLIP_ACTIONS: &str = "clip_actions";
}

/// Tensor names of the observation statistics (`running_mean_std.*`).
pub const OBS_RMS: &str = "running_mean_std";
/// Tensor names of the value statistics (`value_mean_std.*`).
pub const VALUE_RMS: &str = "value_mean_std";
/// The environment's `get_state()` bytes.
pub const ENV_STATE: &str = "env_state";
/// rl_games prefixes every key of a `torch.compile`d model with this; readers drop it.
pub const COMPILED_PREFIX: &str = "_orig_mod.";

/// A one-line [`ErrorKind::Checkpoint`] error: `checkpoint '<path>': <what>`.
pub fn ckpt_error(path: &Path, what: impl std::fmt::Display) -> PluginError {
    PluginError::new(ErrorKind::Checkpoint, format!("checkpoint '{}': {what}", path.display()))
}

fn io_error(path: &Path, what: impl std::fmt::Display) -> PluginError {
    PluginError::new(ErrorKind::Io, format!("cannot write checkpoint '{}': {what}", path.display()))
}

fn dtype_of(kind: Kind) -> Option<Dtype> {
    match kind {
        Kind::Float => Some(Dtype::F32),
        Kind::Double => Some(Dtype::F64),
        Kind::Uint8 => Some(Dtype::U8),
        _ => None,
    }
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    match dtype {
        Dtype::F32 => Some(Kind::Float),
        Dtype::F64 => Some(Kind::Double),
        Dtype::U8 => Some(Kind::Uint8),
        _ => None,
    }
}

/// The bytes of a tensor (copied to the CPU, contiguous, little-endian as in memory).
fn tensor_bytes(t: &Tensor) -> (Vec<usize>, Vec<u8>) {
    let t = t.detach().to_device(Device::Cpu).contiguous();
    let numel = t.numel();
    let mut bytes = vec![0u8; numel * t.kind().elt_size_in_bytes()];
    if numel > 0 {
        t.copy_data_u8(&mut bytes, numel);
    }
    (t.size().iter().map(|&s| s as usize).collect(), bytes)
}

/// Serialises named tensors and metadata into safetensors bytes.
pub fn serialize(tensors: &[(String, Tensor)], metadata: HashMap<String, String>) -> Result<Vec<u8>, PluginError> {
    let owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| {
            let dtype = dtype_of(t.kind()).ok_or_else(|| {
                PluginError::new(
                    ErrorKind::Other,
                    format!("checkpoint tensor {name} has unsupported dtype {:?}", t.kind()),
                )
            })?;
            let (shape, bytes) = tensor_bytes(t);
            Ok((name.clone(), dtype, shape, bytes))
        })
        .collect::<Result<_, PluginError>>()?;
    let views = owned
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            StView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| PluginError::new(ErrorKind::Other, format!("checkpoint tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>, PluginError>>()?;
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| PluginError::new(ErrorKind::Other, format!("cannot serialise checkpoint: {e}")))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename, fsync
/// of the folder. A crash leaves either the old file or the new one, never a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PluginError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| io_error(path, e))?;
    let file_name = path.file_name().ok_or_else(|| io_error(path, "no file name"))?.to_string_lossy();
    let tmp: PathBuf = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    Ok(())
}

/// Lower and upper action bounds.
pub type ActionBounds = (Vec<f32>, Vec<f32>);

/// A checkpoint read into memory, with checked accessors.
pub struct LoadedCheckpoint {
    path: PathBuf,
    bytes: Vec<u8>,
    metadata: HashMap<String, String>,
    /// Tensor name without [`COMPILED_PREFIX`] → name in the file.
    names: BTreeMap<String, String>,
}

fn shown(v: Option<&str>) -> String {
    v.map(|s| format!("'{s}'")).unwrap_or_else(|| "missing".to_string())
}

impl LoadedCheckpoint {
    /// Reads and validates the header, format and algorithm.
    pub fn read(path: &Path) -> Result<Self, PluginError> {
        let bytes = fs::read(path).map_err(|e| ckpt_error(path, format!("cannot read file: {e}")))?;
        let invalid = |e: safetensors::tensor::SafeTensorError| {
            ckpt_error(path, format!("not a valid safetensors file (truncated or corrupt?): {e}"))
        };
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(invalid)?;
        // Validates that every tensor lies inside the file (a truncated file fails here).
        let names = SafeTensors::deserialize(&bytes)
            .map_err(invalid)?
            .names()
            .into_iter()
            .map(|raw| (raw.replace(COMPILED_PREFIX, ""), raw.to_string()))
            .collect();
        let metadata = header.metadata().clone().unwrap_or_default();
        if metadata.is_empty() {
            return Err(ckpt_error(path, "no __metadata__; not an rlhost checkpoint"));
        }
        let ckpt = LoadedCheckpoint { path: path.to_path_buf(), bytes, metadata, names };
        for (key, want) in [(keys::FORMAT, FORMAT), (keys::FORMAT_VERSION, FORMAT_VERSION), (keys::ALGO, ALGO)] {
            let got = ckpt.meta_opt(key).map(str::trim);
            if got != Some(want) {
                return Err(ckpt.error(format!("metadata {key} is {}, expected '{want}'", shown(got))));
            }
        }
        Ok(ckpt)
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An error naming this file.
    pub fn error(&self, what: impl std::fmt::Display) -> PluginError {
        ckpt_error(&self.path, what)
    }

    /// A required metadata string.
    pub fn meta(&self, key: &str) -> Result<&str, PluginError> {
        self.metadata.get(key).map(String::as_str).ok_or_else(|| self.error(format!("metadata '{key}' is missing")))
    }

    /// An optional metadata string.
    pub fn meta_opt(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// A metadata value parsed with `FromStr`.
    pub fn meta_parse<T: std::str::FromStr>(&self, key: &str) -> Result<T, PluginError> {
        let text = self.meta(key)?;
        text.trim().parse().map_err(|_| self.error(format!("metadata '{key}' has invalid value '{text}'")))
    }

    /// A `true`/`false` metadata flag, `None` when absent or not a boolean.
    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.meta_opt(key)?.trim() {
            t if t.eq_ignore_ascii_case("true") => Some(true),
            t if t.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// `observation_shape`: the shape of one observation.
    pub fn observation_shape(&self) -> Result<Vec<i64>, PluginError> {
        let text = self.meta(keys::OBSERVATION_SHAPE)?;
        serde_json::from_str::<Vec<i64>>(text).ok().filter(|s| s.iter().all(|&d| d > 0)).ok_or_else(|| {
            self.error(format!("metadata observation_shape '{text}' is not a JSON array of positive integers"))
        })
    }

    /// Whether the observations were uint8 images (`observation_dtype`; absent means float32).
    pub fn observation_uint8(&self) -> Result<bool, PluginError> {
        match self.meta_opt(keys::OBSERVATION_DTYPE).map(str::trim) {
            None | Some("float32") => Ok(false),
            Some("uint8") => Ok(true),
            Some(other) => Err(self.error(format!("metadata observation_dtype '{other}' is not float32 or uint8"))),
        }
    }

    /// `action_dim`.
    pub fn action_dim(&self) -> Result<usize, PluginError> {
        self.meta_parse(keys::ACTION_DIM)
    }

    /// `action_low` and `action_high` recorded at training time, `None` unless both are present.
    pub fn action_bounds(&self, action_dim: usize) -> Result<Option<ActionBounds>, PluginError> {
        let read = |key: &str| -> Result<Option<Vec<f32>>, PluginError> {
            let Some(text) = self.meta_opt(key) else { return Ok(None) };
            match serde_json::from_str::<Vec<f32>>(text) {
                Ok(b) if b.len() == action_dim => Ok(Some(b)),
                _ => Err(self.error(format!("metadata {key} must be a JSON array of {action_dim} numbers"))),
            }
        };
        Ok(read(keys::ACTION_LOW)?.zip(read(keys::ACTION_HIGH)?))
    }

    /// `network`: the `params.network` block as JSON.
    pub fn network(&self) -> Result<Value, PluginError> {
        let text = self.meta(keys::NETWORK)?;
        match serde_json::from_str::<Value>(text) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err(self.error("metadata network must be a JSON object")),
            Err(e) => Err(self.error(format!("metadata network is not valid JSON: {e}"))),
        }
    }

    /// Fails unless the checkpoint was trained on observations of `obs_shape` and `action_dim` actions.
    pub fn check_env(&self, obs_shape: &[i64], action_dim: usize) -> Result<(), PluginError> {
        let shape = self.observation_shape()?;
        if shape != obs_shape {
            return Err(
                self.error(format!("observation shape {shape:?} does not match the environment's {obs_shape:?}"))
            );
        }
        let dim = self.action_dim()?;
        if dim != action_dim {
            return Err(self.error(format!("action dim {dim} does not match the environment's {action_dim}")));
        }
        Ok(())
    }

    /// Whether the file has tensor `name` (compiled prefix ignored).
    pub fn has(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// Tensor names starting with `prefix` (compiled prefix ignored).
    pub fn names_with_prefix<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.names.keys().filter(move |k| k.starts_with(prefix)).map(String::as_str)
    }

    fn view<R>(&self, name: &str, f: impl FnOnce(&StView<'_>) -> R) -> Result<R, PluginError> {
        let raw = self.names.get(name).ok_or_else(|| self.error(format!("missing tensor '{name}'")))?;
        let st = SafeTensors::deserialize(&self.bytes).map_err(|e| self.error(e))?;
        let view = st.tensor(raw).map_err(|_| self.error(format!("missing tensor '{name}'")))?;
        Ok(f(&view))
    }

    /// Tensor `name`, checked for dtype and shape, on `device`.
    pub fn tensor(&self, name: &str, kind: Kind, shape: &[i64], device: Device) -> Result<Tensor, PluginError> {
        self.view(name, |view| {
            let got_kind = kind_of(view.dtype());
            if got_kind != Some(kind) {
                return Err(self.error(format!("tensor '{name}' has dtype {:?}, expected {kind:?}", view.dtype())));
            }
            let got_shape: Vec<i64> = view.shape().iter().map(|&s| s as i64).collect();
            if got_shape != shape {
                return Err(self.error(format!("tensor '{name}' has shape {got_shape:?}, expected {shape:?}")));
            }
            Ok(Tensor::from_data_size(view.data(), shape, kind).to_device(device))
        })?
    }

    /// The shape of tensor `name`.
    pub fn shape(&self, name: &str) -> Result<Vec<i64>, PluginError> {
        self.view(name, |v| v.shape().iter().map(|&s| s as i64).collect())
    }

    /// Fails naming tensor `name` when `t` holds a NaN or an infinity (one host sync).
    pub fn check_finite(&self, name: &str, t: &Tensor) -> Result<(), PluginError> {
        let flat = t.detach().flatten(0, -1);
        if flat.numel() == 0 || flat.isfinite().all().int64_value(&[]) != 0 {
            return Ok(());
        }
        let at = flat.isfinite().logical_not().nonzero().int64_value(&[0, 0]);
        let value = flat.double_value(&[at]);
        Err(self.error(format!("tensor '{name}' holds a non-finite value ({value} at flat index {at})")))
    }

    /// Fails naming tensor `name` (a variance) when `t` holds a negative value.
    pub fn check_variance(&self, name: &str, t: &Tensor) -> Result<(), PluginError> {
        let min = t.min().double_value(&[]);
        if min < 0.0 {
            return Err(self.error(format!("tensor '{name}' holds a negative variance ({min})")));
        }
        Ok(())
    }

    /// Fails naming tensor `name` (a normaliser's count) unless `count` is finite and positive.
    pub fn check_count(&self, name: &str, count: f64) -> Result<(), PluginError> {
        if !(count.is_finite() && count > 0.0) {
            return Err(self.error(format!("tensor '{name}' must be a finite count > 0, got {count}")));
        }
        Ok(())
    }

    /// Tensor `name` as [`LoadedCheckpoint::tensor`] reads it, refused when not finite.
    pub fn finite_tensor(&self, name: &str, kind: Kind, shape: &[i64], device: Device) -> Result<Tensor, PluginError> {
        let t = self.tensor(name, kind, shape, device)?;
        self.check_finite(name, &t)?;
        Ok(t)
    }

    /// Tensor `name` as raw bytes of any dtype, if present.
    pub fn raw_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.view(name, |v| v.data().to_vec()).ok()
    }

    /// The environment state bytes (`env_state`, uint8), if present and not empty.
    pub fn env_state(&self) -> Option<Vec<u8>> {
        self.view(ENV_STATE, |v| (v.dtype() == Dtype::U8).then(|| v.data().to_vec()))
            .ok()
            .flatten()
            .filter(|b| !b.is_empty())
    }
}

/// Python's `str(np.float32(x))` for finite values (shortest round-trip, always with a point).
pub fn reward_text(r: f32) -> String {
    if !r.is_finite() {
        return if r.is_nan() {
            "nan".into()
        } else if r > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let text = format!("{r}");
    if text.contains('.') || text.contains('e') {
        text
    } else {
        format!("{text}.0")
    }
}

/// File names of rl_games' checkpoint triggers (docs/rl_games.md §6.3), with the `.safetensors` extension.
pub mod names {
    use super::{reward_text, EXTENSION};

    /// Best-so-far: `<name>.safetensors`.
    pub fn best(name: &str) -> String {
        format!("{name}.{EXTENSION}")
    }
    /// Periodic (`save_frequency`): `last_<name>_ep_<E>_rew_<R>`.
    pub fn periodic(name: &str, epoch: u64, reward: f32) -> String {
        format!("last_{name}_ep_{epoch}_rew_{}.{EXTENSION}", reward_text(reward))
    }
    /// `score_to_win` reached: `<name>_ep_<E>_rew_<R>`.
    pub fn won(name: &str, epoch: u64, reward: f32) -> String {
        format!("{name}_ep_{epoch}_rew_{}.{EXTENSION}", reward_text(reward))
    }
    /// rl_games writes `str(mean_rewards)` with `[`/`]` replaced by `_`: `_R_` for the meter's
    /// array, but plain `-inf` (a scalar) when no episode finished.
    fn array_text(reward: Option<f32>) -> String {
        match reward {
            Some(r) => format!("_{}_", reward_text(r)),
            None => "-inf".into(),
        }
    }
    /// `max_epochs`: `last_<name>_ep_<E>_rew__<R>_`.
    pub fn max_epochs(name: &str, epoch: u64, reward: Option<f32>) -> String {
        format!("last_{name}_ep_{epoch}_rew_{}.{EXTENSION}", array_text(reward))
    }
    /// `max_frames`: `last_<name>_frame_<F>_rew__<R>_`.
    pub fn max_frames(name: &str, frame: u64, reward: Option<f32>) -> String {
        format!("last_{name}_frame_{frame}_rew_{}.{EXTENSION}", array_text(reward))
    }
    /// Ctrl-C: `last_<name>_ep_<E>_interrupted` (rlhost's addition).
    pub fn interrupted(name: &str, epoch: u64) -> String {
        format!("last_{name}_ep_{epoch}_interrupted.{EXTENSION}")
    }
}
