//! libtorch pieces that tch 0.26 lacks, through a small C++ shim (`src/shim.cpp`):
//!
//! * the default CPU / CUDA generator's state, to save and restore ([`generator_state`],
//!   [`set_generator_state`]), so a checkpoint resumes in constant time instead of replaying draws;
//! * DLPack export and import ([`to_dlpack`], [`from_dlpack`]) for zero-copy exchange;
//! * mixed precision ([`autocast`] with a chosen dtype, [`amp_unscale`] for a gradient scaler,
//!   `src/amp.cpp`);
//! * fused activation kernels for the fast arithmetic mode ([`fused_elu`], `src/fused.cpp`);
//! * libtorch's intra-op thread pool for other work ([`parallel::parallel_for`], `src/parallel.cpp`);
//! * c10d collectives ([`ProcessGroup`]: TCPStore rendezvous, Gloo broadcast, all-reduce and
//!   barrier, each bounded by a timeout) for data-parallel training across processes.
//!
//! Every C++ entry point catches all exceptions and returns an error code plus message, which
//! arrive here as [`ShimError`].
#![deny(missing_docs)]
use std::ffi::{c_char, CStr};
use std::fmt;

use tch::{Device, Tensor};
use torch_sys::C_tensor;

pub mod amp;
pub mod c10d;
pub mod dlpack;
pub mod parallel;
pub use amp::{amp_unscale, autocast};
pub use c10d::{nccl_built, Backend, GroupOptions, ProcessGroup, ReduceOp};
pub use dlpack::{
    DLDataType, DLDataTypeCode, DLDevice, DLDeviceType, DLManagedTensor, DLManagedTensorVersioned, DLPackVersion,
    DLTensor,
};

/// The `_GLIBCXX_USE_CXX11_ABI` value the shim was compiled with (libtorch's own).
pub const CXX11_ABI: &str = env!("RLHOST_TORCH_SHIM_CXX11_ABI");

mod ffi {
    use super::{C_tensor, DLManagedTensor};
    use std::ffi::{c_char, c_void};

    extern "C" {
        pub fn rlhost_shim_free(p: *mut c_void);
        pub fn rlhost_shim_generator_state(
            kind: i32,
            index: i32,
            out: *mut *mut u8,
            out_len: *mut usize,
            err: *mut *mut c_char,
        ) -> i32;
        pub fn rlhost_shim_set_generator_state(
            kind: i32,
            index: i32,
            data: *const u8,
            len: usize,
            err: *mut *mut c_char,
        ) -> i32;
        pub fn rlhost_shim_to_dlpack(t: *const C_tensor, out: *mut *mut DLManagedTensor, err: *mut *mut c_char) -> i32;
        pub fn rlhost_shim_from_dlpack(
            src: *mut DLManagedTensor,
            out: *mut *mut C_tensor,
            err: *mut *mut c_char,
        ) -> i32;
        pub fn rlhost_shim_fused_elu(x: *const C_tensor, out: *mut *mut C_tensor, err: *mut *mut c_char) -> i32;
        pub fn rlhost_shim_fused_elu_vectorized() -> i32;
        pub fn rlhost_shim_fused_elu_mlp(
            x: *const C_tensor,
            params: *const *const C_tensor,
            count: i64,
            out: *mut *mut C_tensor,
            err: *mut *mut c_char,
        ) -> i32;
        #[cfg(test)]
        pub fn rlhost_shim_dlpack_layout(out: *mut usize, n: usize);
    }
}

/// What kind of failure a [`ShimError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShimErrorKind {
    /// libtorch threw (a `c10::Error` or other `std::exception`).
    Torch,
    /// The shim rejected an argument (bad device, wrong-size or invalid state, null pointer).
    InvalidArgument,
    /// A CUDA device was asked for but CUDA is not available.
    CudaUnavailable,
    /// A C++ exception that is not a `std::exception`, or an unknown error code.
    Unknown,
    /// A c10d rendezvous or collective failed: a rank is gone, unreachable or too slow (timeout).
    Distributed,
}

/// An error reported by the C++ shim: its kind and libtorch's (or the shim's) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimError {
    /// The kind of failure.
    pub kind: ShimErrorKind,
    /// The message (without the C++ backtrace).
    pub message: String,
}

impl fmt::Display for ShimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rlhost-torch-shim ({:?}): {}", self.kind, self.message)
    }
}

impl std::error::Error for ShimError {}

impl ShimError {
    fn invalid(message: impl Into<String>) -> Self {
        Self { kind: ShimErrorKind::InvalidArgument, message: message.into() }
    }
}

/// Turns a shim return code and its malloc'd message into a `Result`, freeing the message.
fn check(rc: i32, err: *mut c_char) -> Result<(), ShimError> {
    let message = if err.is_null() {
        String::new()
    } else {
        // SAFETY: the shim sets `err` to a NUL-terminated malloc'd string, freed here once.
        let m = unsafe { CStr::from_ptr(err) }.to_string_lossy().into_owned();
        unsafe { ffi::rlhost_shim_free(err.cast()) };
        m
    };
    let kind = match rc {
        0 => return Ok(()),
        1 => ShimErrorKind::Torch,
        2 => ShimErrorKind::InvalidArgument,
        3 => ShimErrorKind::CudaUnavailable,
        5 => ShimErrorKind::Distributed,
        _ => ShimErrorKind::Unknown,
    };
    Err(ShimError { kind, message: if message.is_empty() { format!("error code {rc}") } else { message } })
}

/// The shim's device arguments: (0, 0) for CPU, (1, index) for CUDA.
fn device_args(device: Device) -> Result<(i32, i32), ShimError> {
    match device {
        Device::Cpu => Ok((0, 0)),
        Device::Cuda(i) => {
            i32::try_from(i).map(|i| (1, i)).map_err(|_| ShimError::invalid(format!("CUDA index {i} out of range")))
        }
        other => Err(ShimError::invalid(format!("generator state: unsupported device {other:?} (CPU and CUDA only)"))),
    }
}

/// The state of `device`'s default generator (the one `manual_seed` seeds and `randn` draws from).
///
/// For the CPU this is the mt19937 state (5056 bytes with libtorch 2.13); for `Device::Cuda(i)`
/// the Philox seed and offset. Errors with [`ShimErrorKind::CudaUnavailable`] without CUDA.
pub fn generator_state(device: Device) -> Result<Vec<u8>, ShimError> {
    let (kind, index) = device_args(device)?;
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut len = 0usize;
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: valid out-pointers; on success `data` is a malloc'd buffer of `len` bytes.
    let rc = unsafe { ffi::rlhost_shim_generator_state(kind, index, &mut data, &mut len, &mut err) };
    check(rc, err)?;
    if data.is_null() {
        return Ok(Vec::new());
    }
    // SAFETY: `data` holds `len` initialised bytes; copied, then freed once.
    let state = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    unsafe { ffi::rlhost_shim_free(data.cast()) };
    Ok(state)
}

/// Restores `device`'s default generator from bytes returned by [`generator_state`].
///
/// A state of the wrong size, or bytes that are not a valid saved state, give `Err` and leave
/// the generator unchanged.
pub fn set_generator_state(device: Device, state: &[u8]) -> Result<(), ShimError> {
    let (kind, index) = device_args(device)?;
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: `state` is valid for `state.len()` bytes for the call; the shim copies it.
    let rc = unsafe { ffi::rlhost_shim_set_generator_state(kind, index, state.as_ptr(), state.len(), &mut err) };
    check(rc, err)
}

/// Exports `tensor` as a legacy (unversioned) DLPack tensor with `at::toDLPack`, sharing its data.
///
/// The result holds a reference to the storage; it must be consumed exactly once: by
/// [`from_dlpack`], by a DLPack consumer (e.g. a `"dltensor"` PyCapsule), or by [`drop_dlpack`].
/// Dropping the pointer without that leaks the storage. Autograd history is not carried.
pub fn to_dlpack(tensor: &Tensor) -> Result<*mut DLManagedTensor, ShimError> {
    let mut out: *mut DLManagedTensor = std::ptr::null_mut();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: `tensor.as_ptr()` is a live `at::Tensor*` for the call.
    let rc = unsafe { ffi::rlhost_shim_to_dlpack(tensor.as_ptr(), &mut out, &mut err) };
    check(rc, err)?;
    Ok(out)
}

/// Imports a DLPack tensor with `at::fromDLPack`, sharing its data; the tensor calls the deleter
/// when its storage is released.
///
/// `src` is always consumed: on `Err` its deleter has already run.
///
/// # Safety
///
/// `src` must be null or a valid `DLManagedTensor` not consumed before, whose `dl_tensor`
/// (data, `shape`, `strides`) stays valid until its deleter runs; it must not be used afterwards.
pub unsafe fn from_dlpack(src: *mut DLManagedTensor) -> Result<Tensor, ShimError> {
    let mut out: *mut C_tensor = std::ptr::null_mut();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: the caller guarantees `src`; `out` receives a `new at::Tensor` on success.
    let rc = unsafe { ffi::rlhost_shim_from_dlpack(src, &mut out, &mut err) };
    check(rc, err)?;
    if out.is_null() {
        return Err(ShimError { kind: ShimErrorKind::Unknown, message: "from_dlpack returned no tensor".into() });
    }
    // SAFETY: `out` is a heap `at::Tensor*` that tch's `Drop` frees with `delete`.
    Ok(unsafe { Tensor::from_ptr(out) })
}

/// Releases a DLPack tensor that will not be imported, by calling its deleter (if any).
///
/// # Safety
///
/// `src` must be null or a valid, not yet consumed `DLManagedTensor`; it must not be used afterwards.
pub unsafe fn drop_dlpack(src: *mut DLManagedTensor) {
    if src.is_null() {
        return;
    }
    // SAFETY: the caller guarantees `src` is valid and unconsumed.
    if let Some(deleter) = unsafe { (*src).deleter } {
        unsafe { deleter(src) };
    }
}

/// ELU (alpha 1) through the fused kernels of `src/fused.cpp`: for float32 CPU tensors a
/// polynomial expm1 (within a few float ulps of libtorch's `elu`, NaN and ±inf as libtorch) whose
/// backward reuses the output; any other dtype or device is libtorch's own `elu`. Autograd
/// records it like any op when `x` requires grad.
pub fn fused_elu(x: &Tensor) -> Result<Tensor, ShimError> {
    let mut out: *mut C_tensor = std::ptr::null_mut();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: `x.as_ptr()` is a live `at::Tensor*` for the call; `out` receives a new tensor.
    let rc = unsafe { ffi::rlhost_shim_fused_elu(x.as_ptr(), &mut out, &mut err) };
    check(rc, err)?;
    if out.is_null() {
        return Err(ShimError { kind: ShimErrorKind::Unknown, message: "fused_elu returned no tensor".into() });
    }
    // SAFETY: `out` is a heap `at::Tensor*` that tch's `Drop` frees with `delete`.
    Ok(unsafe { Tensor::from_ptr(out) })
}

/// An MLP of Linear + ELU layers as one fused pass (`src/fused.cpp`): `params` is weight_0,
/// bias_0, weight_1, ... (`nn.Linear` layout), `x` is (rows, features). The rows go through every
/// layer in cache-sized blocks, one parallel region per pass, and autograd records one node when
/// grad mode is on and an operand requires grad. Float32 contiguous CPU operands only: anything
/// else is an [`ShimErrorKind::InvalidArgument`] error and the caller runs the layers itself.
/// Sums run in another order than libtorch's op-by-op network: the results differ in the last bits.
pub fn fused_elu_mlp(x: &Tensor, params: &[&Tensor]) -> Result<Tensor, ShimError> {
    let ptrs: Vec<*const C_tensor> = params.iter().map(|t| t.as_ptr()).collect();
    let mut out: *mut C_tensor = std::ptr::null_mut();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: every pointer is a live `at::Tensor*` for the call; `out` receives a new tensor.
    let rc =
        unsafe { ffi::rlhost_shim_fused_elu_mlp(x.as_ptr(), ptrs.as_ptr(), ptrs.len() as i64, &mut out, &mut err) };
    check(rc, err)?;
    if out.is_null() {
        return Err(ShimError { kind: ShimErrorKind::Unknown, message: "fused_elu_mlp returned no tensor".into() });
    }
    // SAFETY: `out` is a heap `at::Tensor*` that tch's `Drop` frees with `delete`.
    Ok(unsafe { Tensor::from_ptr(out) })
}

/// Whether [`fused_elu`] runs its AVX2 + FMA kernels on this CPU (otherwise a scalar loop).
pub fn fused_elu_vectorized() -> bool {
    // SAFETY: no arguments; reads a cached CPU feature check.
    unsafe { ffi::rlhost_shim_fused_elu_vectorized() != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn dlpack_layout_matches_the_header() {
        let mut c = [0usize; 18];
        unsafe { ffi::rlhost_shim_dlpack_layout(c.as_mut_ptr(), c.len()) };
        let rust = [
            size_of::<DLDevice>(),
            size_of::<DLDataType>(),
            size_of::<DLTensor>(),
            offset_of!(DLTensor, shape),
            offset_of!(DLTensor, byte_offset),
            size_of::<DLManagedTensor>(),
            offset_of!(DLManagedTensor, manager_ctx),
            offset_of!(DLManagedTensor, deleter),
            size_of::<DLManagedTensorVersioned>(),
            offset_of!(DLManagedTensorVersioned, flags),
            offset_of!(DLManagedTensorVersioned, dl_tensor),
        ];
        assert_eq!(&c[..rust.len()], &rust[..]);
        assert_eq!((c[11], c[12]), (1, 3), "DLPack header version");
        assert_eq!(c[13], 5056, "CPUGeneratorImplState size");
        assert_eq!(&c[14..], [8, 16, 5040, 5052], "CPUGeneratorImplState field offsets");
    }

    #[test]
    fn unsupported_device_is_an_error() {
        let e = generator_state(Device::Mps).unwrap_err();
        assert_eq!(e.kind, ShimErrorKind::InvalidArgument);
    }
}
