//! Checkpoint files: one safetensors file written atomically (see `CHECKPOINT.md`).
use rlhost_sdk::{ErrorKind, PluginError};
use safetensors::tensor::{Dtype, SafeTensors, TensorView as StView};
use std::collections::HashMap;
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

fn ckpt_error(path: &Path, what: impl std::fmt::Display) -> PluginError {
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

/// A checkpoint read into memory, with checked accessors.
pub struct LoadedCheckpoint {
    path: PathBuf,
    bytes: Vec<u8>,
    metadata: HashMap<String, String>,
}

impl LoadedCheckpoint {
    /// Reads and validates the header, format and algorithm.
    pub fn read(path: &Path) -> Result<Self, PluginError> {
        let bytes = fs::read(path).map_err(|e| ckpt_error(path, format!("cannot read: {e}")))?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| ckpt_error(path, format!("truncated or not a safetensors file ({e})")))?;
        // Validates that every tensor lies inside the file (a truncated file fails here).
        SafeTensors::deserialize(&bytes).map_err(|e| ckpt_error(path, format!("truncated or corrupt ({e})")))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let ckpt = LoadedCheckpoint { path: path.to_path_buf(), bytes, metadata };
        let format = ckpt.meta("format")?;
        if format != FORMAT {
            return Err(ckpt.error(format!("format is '{format}', expected '{FORMAT}'")));
        }
        let version = ckpt.meta("format_version")?;
        if version != FORMAT_VERSION {
            return Err(ckpt.error(format!("format_version {version} is not supported (expected {FORMAT_VERSION})")));
        }
        let algo = ckpt.meta("algo")?;
        if algo != ALGO {
            return Err(ckpt.error(format!("written by algorithm '{algo}', not {ALGO}")));
        }
        Ok(ckpt)
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
        text.parse().map_err(|_| self.error(format!("metadata '{key}' has invalid value '{text}'")))
    }

    /// Whether the file has tensor `name`.
    pub fn has(&self, name: &str) -> bool {
        SafeTensors::deserialize(&self.bytes).map(|st| st.tensor(name).is_ok()).unwrap_or(false)
    }

    /// Tensor `name`, checked for dtype and shape, on `device`.
    pub fn tensor(&self, name: &str, kind: Kind, shape: &[i64], device: Device) -> Result<Tensor, PluginError> {
        let st = SafeTensors::deserialize(&self.bytes).map_err(|e| self.error(e))?;
        let view = st.tensor(name).map_err(|_| self.error(format!("tensor '{name}' is missing")))?;
        let got_kind = kind_of(view.dtype());
        if got_kind != Some(kind) {
            return Err(self.error(format!("tensor '{name}' has dtype {:?}, expected {kind:?}", view.dtype())));
        }
        let got_shape: Vec<i64> = view.shape().iter().map(|&s| s as i64).collect();
        if got_shape != shape {
            return Err(self.error(format!("tensor '{name}' has shape {got_shape:?}, expected {shape:?}")));
        }
        Ok(Tensor::from_data_size(view.data(), shape, kind).to_device(device))
    }

    /// Tensor `name` as raw bytes of any dtype (for `env_state`), if present.
    pub fn raw_bytes(&self, name: &str) -> Option<Vec<u8>> {
        let st = SafeTensors::deserialize(&self.bytes).ok()?;
        st.tensor(name).ok().map(|v| v.data().to_vec())
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

/// File names of rl_games' checkpoint triggers (spec §6.3), with the `.safetensors` extension.
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
