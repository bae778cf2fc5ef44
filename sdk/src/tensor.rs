//! The one place that converts between [`TensorView`]s and `tch::Tensor`s.
use rlhost_plugin_api::abi_stable::std_types::RSlice;
use rlhost_plugin_api::tensor::device_type;
use rlhost_plugin_api::{DlDataType, DlDevice, ErrorKind, PluginError, TensorView};
use std::ffi::c_void;
use tch::{Device, Kind, Tensor};

/// The DLPack dtype of a tch kind, if views support it.
pub fn dtype_of(kind: Kind) -> Option<DlDataType> {
    Some(match kind {
        Kind::Float => DlDataType::F32,
        Kind::Double => DlDataType::F64,
        Kind::Bool => DlDataType::BOOL,
        Kind::Uint8 => DlDataType::U8,
        Kind::Int => DlDataType::I32,
        Kind::Int64 => DlDataType::I64,
        _ => return None,
    })
}

/// The tch kind of a DLPack dtype, if supported.
pub fn kind_of(dtype: DlDataType) -> Option<Kind> {
    [Kind::Float, Kind::Double, Kind::Bool, Kind::Uint8, Kind::Int, Kind::Int64]
        .into_iter()
        .find(|&k| dtype_of(k) == Some(dtype))
}

/// The DLPack device of a tch device.
pub fn dl_device(device: Device) -> DlDevice {
    match device {
        Device::Cuda(i) => DlDevice::cuda(i as i32),
        _ => DlDevice::CPU,
    }
}

/// The tch device of a DLPack device.
pub fn tch_device(device: DlDevice) -> Result<Device, PluginError> {
    match device.device_type {
        device_type::CPU => Ok(Device::Cpu),
        device_type::CUDA => Ok(Device::Cuda(device.device_id as usize)),
        _ => Err(PluginError::new(ErrorKind::Device, format!("unsupported device {device}"))),
    }
}

/// `cpu` or `cuda:N`, the one spelling of a device in messages.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".to_string(),
    }
}

/// Refuses a device this process cannot use, naming `what` asked for it.
pub fn check_device_available(what: &str, device: Device) -> Result<(), PluginError> {
    match device {
        Device::Cpu => Ok(()),
        Device::Cuda(i) => {
            let count = if tch::Cuda::is_available() { tch::Cuda::device_count() as usize } else { 0 };
            if i < count {
                Ok(())
            } else {
                Err(PluginError::new(
                    ErrorKind::Device,
                    format!("{what}: cuda:{i} requested but {count} CUDA device(s) are available"),
                ))
            }
        }
        other => Err(PluginError::new(ErrorKind::Device, format!("{what}: unsupported device {other:?}"))),
    }
}

/// The tch device of a DLPack device, checked to exist in this process.
pub fn available_device(what: &str, device: DlDevice) -> Result<Device, PluginError> {
    let d = tch_device(device).map_err(|e| e.context(what))?;
    check_device_available(what, d)?;
    Ok(d)
}

/// Parses `cpu`, `cuda` or `cuda:N`.
pub fn parse_device(text: &str) -> Result<Device, PluginError> {
    match text.trim() {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        other => other.strip_prefix("cuda:").and_then(|n| n.parse().ok()).map(Device::Cuda).ok_or_else(|| {
            PluginError::new(ErrorKind::Config, format!("unknown device '{other}' (expected cpu, cuda or cuda:N)"))
        }),
    }
}

/// Shape, strides and pointer of a tensor, kept alive so a [`TensorView`] can borrow them.
///
/// The holder borrows the tensor's memory without a reference count: it must not outlive the
/// tensor, and the view it lends must not outlive the call it is passed to.
#[derive(Debug)]
pub struct ViewParts {
    data: *mut c_void,
    device: DlDevice,
    dtype: DlDataType,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

impl ViewParts {
    /// Describes `t`; fails for dtypes that views do not carry.
    pub fn of(t: &Tensor) -> Result<Self, PluginError> {
        let kind = t.kind();
        let dtype = dtype_of(kind).ok_or_else(|| {
            PluginError::new(ErrorKind::Shape, format!("tensor dtype {kind:?} cannot cross the plugin boundary"))
        })?;
        Ok(ViewParts { data: t.data_ptr(), device: dl_device(t.device()), dtype, shape: t.size(), strides: t.stride() })
    }

    /// The view; `data_ptr` already includes the storage offset, so `byte_offset` is 0.
    pub fn view(&self) -> TensorView<'_> {
        TensorView {
            data: self.data,
            byte_offset: 0,
            device: self.device,
            dtype: self.dtype,
            shape: RSlice::from_slice(&self.shape),
            strides: RSlice::from_slice(&self.strides),
        }
    }
}

/// Wraps the memory a view points at in a non-owning tensor (reads and writes go to that memory).
///
/// # Safety
/// The view must describe valid memory for its shape, strides and dtype, and the returned tensor
/// (and anything sharing its storage) must be dropped before the call that received the view returns.
pub unsafe fn tensor_from_view(view: &TensorView<'_>) -> Result<Tensor, PluginError> {
    let kind = kind_of(view.dtype)
        .ok_or_else(|| PluginError::new(ErrorKind::Shape, format!("unsupported tensor dtype {}", view.dtype)))?;
    let device = tch_device(view.device)?;
    if view.shape.len() != view.strides.len() {
        return Err(PluginError::new(
            ErrorKind::Shape,
            format!("tensor view has {} dims but {} strides", view.shape.len(), view.strides.len()),
        ));
    }
    let data = (view.data as *const u8).add(view.byte_offset as usize);
    Tensor::f_from_blob(data, view.shape.as_slice(), view.strides.as_slice(), kind, device)
        .map_err(|e| crate::tch_error(ErrorKind::Shape, "cannot wrap tensor view", e))
}

/// Checks that a view has the expected dtype, shape and device, naming `what` and both values.
pub fn check_view(
    what: &str,
    view: &TensorView<'_>,
    dtype: DlDataType,
    shape: &[i64],
    device: DlDevice,
) -> Result<(), PluginError> {
    if view.dtype != dtype {
        return Err(PluginError::new(ErrorKind::Shape, format!("{what}: expected dtype {dtype}, got {}", view.dtype)));
    }
    if view.shape.as_slice() != shape {
        return Err(PluginError::new(
            ErrorKind::Shape,
            format!("{what}: expected shape {shape:?}, got {:?}", view.shape.as_slice()),
        ));
    }
    if view.device != device {
        return Err(PluginError::new(
            ErrorKind::Device,
            format!("{what}: expected device {device}, got {}", view.device),
        ));
    }
    Ok(())
}

/// Seeds libtorch's process-wide generators as rl_games' Runner does (`torch.manual_seed`):
/// seed 0 seeds nothing. The host calls it once per run; plugins never reseed.
pub fn seed_libtorch(seed: u64) {
    if seed != 0 {
        tch::manual_seed(seed as i64);
    }
}
