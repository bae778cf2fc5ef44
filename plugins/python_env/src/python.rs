//! What both builders share on the Python side: the helper module, spaces, JSON arguments and
//! the checked copy of a returned tensor into the caller's buffer.
use rlhost_python_bridge::pyo3::prelude::*;
use rlhost_python_bridge::pyo3::types::PyDict;
use rlhost_python_bridge::{py_error, tensor_from_py};
use rlhost_sdk::api::{ActionSpace, DlDataType, TensorSpec};
use rlhost_sdk::tensor::device_name;
use rlhost_sdk::{ErrorKind, PluginError};
use std::sync::OnceLock;
use tch::{Kind, Tensor};

/// The helper module (`helpers.py`), compiled once per process.
pub fn helpers(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    static HELPERS: OnceLock<Py<PyModule>> = OnceLock::new();
    if let Some(m) = HELPERS.get() {
        return Ok(m.bind(py).clone());
    }
    let code = std::ffi::CString::new(include_str!("helpers.py")).expect("helpers.py has no NUL byte");
    let module = PyModule::from_code(py, &code, c"rlhost_python_env/helpers.py", c"_rlhost_env_helpers")?;
    Ok(HELPERS.get_or_init(|| module.unbind()).bind(py).clone())
}

/// A JSON map as Python keyword arguments.
pub fn kwargs<'py>(py: Python<'py>, map: &serde_json::Map<String, serde_json::Value>) -> PyResult<Bound<'py, PyDict>> {
    let text = serde_json::Value::Object(map.clone()).to_string();
    Ok(py.import("json")?.call_method1("loads", (text,))?.cast_into::<PyDict>()?)
}

/// A Gymnasium space, as `helpers.describe_space` reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Space {
    /// `Box(low, high, shape, dtype)`, bounds flattened.
    Box { shape: Vec<i64>, dtype: String, low: Vec<f64>, high: Vec<f64> },
    /// `Discrete(n)`.
    Discrete(i64),
    /// `MultiDiscrete(nvec)`.
    MultiDiscrete(Vec<i64>),
    /// `Dict`, in its key order.
    Dict(Vec<(String, Space)>),
    /// Anything else, by type name.
    Other(String),
}

impl Space {
    /// Reads `space` through the helper module.
    pub fn of(space: &Bound<'_, PyAny>) -> PyResult<Space> {
        let described = helpers(space.py())?.getattr("describe_space")?.call1((space,))?;
        Space::from_description(&described)
    }

    fn from_description(d: &Bound<'_, PyAny>) -> PyResult<Space> {
        let tag: String = d.get_item(0)?.extract()?;
        Ok(match tag.as_str() {
            "box" => Space::Box {
                shape: d.get_item(1)?.extract()?,
                dtype: d.get_item(2)?.extract()?,
                low: d.get_item(3)?.extract()?,
                high: d.get_item(4)?.extract()?,
            },
            "discrete" => Space::Discrete(d.get_item(1)?.extract()?),
            "multi_discrete" => Space::MultiDiscrete(d.get_item(1)?.extract()?),
            "dict" => {
                let mut entries = Vec::new();
                for item in d.get_item(1)?.try_iter()? {
                    let item = item?;
                    entries.push((item.get_item(0)?.extract()?, Space::from_description(&item.get_item(1)?)?));
                }
                Space::Dict(entries)
            }
            _ => Space::Other(d.get_item(1)?.extract()?),
        })
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        match self {
            Space::Box { shape, dtype, .. } => format!("Box(shape {shape:?}, {dtype})"),
            Space::Discrete(n) => format!("Discrete({n})"),
            Space::MultiDiscrete(nvec) => format!("MultiDiscrete({nvec:?})"),
            Space::Dict(entries) => {
                format!("Dict({})", entries.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", "))
            }
            Space::Other(name) => name.clone(),
        }
    }
}

fn bounds(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

/// The observation group `name` for a `Box` space: uint8 stays uint8 (images), every other
/// dtype arrives as float32.
pub fn observation_spec(who: &str, name: &str, space: &Space) -> Result<TensorSpec, PluginError> {
    let Space::Box { shape, dtype, low, high } = space else {
        return Err(PluginError::new(
            ErrorKind::Unsupported,
            format!("{who}: observation space '{name}' is {}; only Box observations are supported", space.describe()),
        ));
    };
    let dtype = if dtype == "uint8" { DlDataType::U8 } else { DlDataType::F32 };
    Ok(TensorSpec {
        name: name.into(),
        shape: shape.clone().into(),
        dtype,
        low: bounds(low).into(),
        high: bounds(high).into(),
    })
}

/// The action space.
pub fn action_space(who: &str, space: &Space) -> Result<ActionSpace, PluginError> {
    match space {
        Space::Box { shape, low, high, .. } if shape.len() == 1 => {
            Ok(ActionSpace::Box { low: bounds(low).into(), high: bounds(high).into() })
        }
        Space::Discrete(n) => Ok(ActionSpace::Discrete { n: *n }),
        Space::MultiDiscrete(nvec) => Ok(ActionSpace::MultiDiscrete { nvec: nvec.clone().into() }),
        other => Err(PluginError::new(
            ErrorKind::Unsupported,
            format!("{who}: action space {} is not supported (a 1-d Box, Discrete or MultiDiscrete)", other.describe()),
        )),
    }
}

/// What a returned tensor must be, for the check before it is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Any floating-point dtype (cast to the buffer's float32).
    Float,
    /// uint8.
    Byte,
    /// bool.
    Bool,
}

impl Expect {
    /// The expectation for a buffer of `kind`.
    pub fn for_buffer(kind: Kind) -> Expect {
        match kind {
            Kind::Uint8 => Expect::Byte,
            Kind::Bool => Expect::Bool,
            _ => Expect::Float,
        }
    }

    fn accepts(self, kind: Kind) -> bool {
        match self {
            Expect::Float => matches!(kind, Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16),
            Expect::Byte => kind == Kind::Uint8,
            Expect::Bool => kind == Kind::Bool,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Expect::Float => "a floating-point dtype",
            Expect::Byte => "uint8",
            Expect::Bool => "bool",
        }
    }
}

/// Copies the Python array `value` (what `who` returned as `what`) into `dst`, after checking its
/// shape, dtype and device against `dst`: the one copy per step, on the device.
pub fn copy_returned(who: &str, what: &str, value: &Bound<'_, PyAny>, dst: &mut Tensor) -> Result<(), PluginError> {
    let py = value.py();
    let src = tensor_from_py(value).map_err(|e| {
        let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        py_error(py, &format!("{who} returned {what} as {type_name}, not an array"), ErrorKind::Shape, &e)
    })?;
    let expected = || format!("expected shape {:?} {:?} on {}", dst.size(), dst.kind(), device_name(dst.device()));
    if src.size() != dst.size() {
        return Err(PluginError::new(
            ErrorKind::Shape,
            format!("{who} returned {what} of shape {:?}; {}", src.size(), expected()),
        ));
    }
    let expect = Expect::for_buffer(dst.kind());
    if !expect.accepts(src.kind()) {
        return Err(PluginError::new(
            ErrorKind::Shape,
            format!("{who} returned {what} of dtype {:?}; expected {}", src.kind(), expect.name()),
        ));
    }
    if src.device() != dst.device() {
        return Err(PluginError::new(
            ErrorKind::Device,
            format!("{who} returned {what} on {}; {}", device_name(src.device()), expected()),
        ));
    }
    dst.copy_(&src);
    Ok(())
}
