//! Tensors cross the boundary as borrowed, DLPack-shaped views.
//!
//! # Lifetime rules
//! - A [`TensorView`] is valid only for the duration of the call it is passed to. The callee
//!   must not keep the pointer, nor any tensor wrapping it, after it returns; it copies the data
//!   if it needs to keep it.
//! - Outputs are allocated by the caller and passed as views the callee writes into, so
//!   ownership of memory never crosses the boundary and each side frees what it allocated.
//! - CUDA memory is valid on both sides because the process holds exactly one libtorch (one
//!   context, one caching allocator). Work is ordered by libtorch's current stream, which is
//!   thread-local: a callee that uses another thread or stream must synchronise before returning.
//! - Views carry no autograd history and bypass libtorch's version counter.
use abi_stable::std_types::RSlice;
use abi_stable::StableAbi;
use std::ffi::c_void;
use std::fmt;

/// DLPack device type codes used by rlhost.
pub mod device_type {
    /// Host memory.
    pub const CPU: i32 = 1;
    /// CUDA device memory.
    pub const CUDA: i32 = 2;
}

/// DLPack dtype codes used by rlhost.
pub mod dtype_code {
    /// Signed integer.
    pub const INT: u8 = 0;
    /// Unsigned integer.
    pub const UINT: u8 = 1;
    /// IEEE float.
    pub const FLOAT: u8 = 2;
    /// Boolean (one byte per element).
    pub const BOOL: u8 = 6;
}

/// Where the memory lives: DLPack's `DLDevice`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DlDevice {
    /// [`device_type::CPU`] or [`device_type::CUDA`].
    pub device_type: i32,
    /// The device ordinal (0 for the CPU).
    pub device_id: i32,
}

impl DlDevice {
    /// Host memory.
    pub const CPU: DlDevice = DlDevice { device_type: device_type::CPU, device_id: 0 };

    /// CUDA device `id`.
    pub const fn cuda(id: i32) -> Self {
        DlDevice { device_type: device_type::CUDA, device_id: id }
    }
}

impl fmt::Display for DlDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.device_type {
            device_type::CPU => f.write_str("cpu"),
            device_type::CUDA => write!(f, "cuda:{}", self.device_id),
            other => write!(f, "device_type {other}:{}", self.device_id),
        }
    }
}

/// The element type: DLPack's `DLDataType`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DlDataType {
    /// One of [`dtype_code`].
    pub code: u8,
    /// Bits per lane.
    pub bits: u8,
    /// Lanes per element (1 for scalars).
    pub lanes: u16,
}

impl DlDataType {
    /// 32-bit float.
    pub const F32: DlDataType = DlDataType { code: dtype_code::FLOAT, bits: 32, lanes: 1 };
    /// 64-bit float.
    pub const F64: DlDataType = DlDataType { code: dtype_code::FLOAT, bits: 64, lanes: 1 };
    /// Boolean, one byte each.
    pub const BOOL: DlDataType = DlDataType { code: dtype_code::BOOL, bits: 8, lanes: 1 };
    /// Unsigned byte.
    pub const U8: DlDataType = DlDataType { code: dtype_code::UINT, bits: 8, lanes: 1 };
    /// 32-bit signed integer.
    pub const I32: DlDataType = DlDataType { code: dtype_code::INT, bits: 32, lanes: 1 };
    /// 64-bit signed integer.
    pub const I64: DlDataType = DlDataType { code: dtype_code::INT, bits: 64, lanes: 1 };

    /// Bytes per element.
    pub fn size_bytes(self) -> usize {
        (self.bits as usize).div_ceil(8) * self.lanes as usize
    }
}

impl fmt::Display for DlDataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.code {
            dtype_code::INT => "int",
            dtype_code::UINT => "uint",
            dtype_code::FLOAT => "float",
            dtype_code::BOOL => return f.write_str("bool"),
            _ => "code",
        };
        write!(f, "{name}{}", self.bits)?;
        if self.lanes != 1 {
            write!(f, "x{}", self.lanes)?;
        }
        Ok(())
    }
}

/// A borrowed view of a strided tensor, shaped like DLPack's `DLTensor`.
///
/// `data + byte_offset` is the address of element `[0, 0, ...]`; `strides` are in elements.
/// See the module docs for the lifetime rules.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct TensorView<'a> {
    /// Base pointer of the allocation (device memory for CUDA).
    pub data: *mut c_void,
    /// Offset in bytes from `data` to the first element.
    pub byte_offset: u64,
    /// Where the memory lives.
    pub device: DlDevice,
    /// Element type.
    pub dtype: DlDataType,
    /// Size of each dimension.
    pub shape: RSlice<'a, i64>,
    /// Stride of each dimension, in elements.
    pub strides: RSlice<'a, i64>,
}

impl TensorView<'_> {
    /// Number of elements.
    pub fn numel(&self) -> i64 {
        self.shape.iter().product()
    }

    /// Whether the view is compact row-major.
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1i64;
        for (&size, &stride) in self.shape.iter().zip(self.strides.iter()).rev() {
            if size != 1 && stride != expected {
                return false;
            }
            expected *= size;
        }
        true
    }

    /// A short description such as `float32[256, 3] on cpu`, for error messages.
    pub fn describe(&self) -> String {
        format!("{}{:?} on {}", self.dtype, self.shape.as_slice(), self.device)
    }
}
