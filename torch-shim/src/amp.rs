//! Automatic mixed precision pieces tch 0.26 lacks (`src/amp.cpp`): an autocast region with a
//! chosen lower-precision dtype ([`autocast`]; tch's own is CUDA float16 only) and the unscale
//! kernel of a gradient scaler ([`amp_unscale`], `torch._amp_foreach_non_finite_check_and_unscale_`).
use std::ffi::c_char;

use tch::{Device, Kind, Tensor};
use torch_sys::C_tensor;

use crate::{check, ShimError, ShimErrorKind};

mod ffi {
    use super::{c_char, C_tensor};

    extern "C" {
        pub fn rlhost_shim_autocast_enter(kind: i32, dtype: i32, prev: *mut i32, err: *mut *mut c_char) -> i32;
        pub fn rlhost_shim_autocast_exit(kind: i32, prev: *const i32, err: *mut *mut c_char) -> i32;
        pub fn rlhost_shim_amp_unscale(
            grads: *const *const C_tensor,
            n: usize,
            found_inf: *const C_tensor,
            inv_scale: *const C_tensor,
            err: *mut *mut c_char,
        ) -> i32;
    }
}

/// The shim's device kind for autocast: 0 for the CPU, 1 for CUDA.
fn device_kind(device: Device) -> Result<i32, ShimError> {
    match device {
        Device::Cpu => Ok(0),
        Device::Cuda(_) => Ok(1),
        other => Err(ShimError {
            kind: ShimErrorKind::InvalidArgument,
            message: format!("autocast: device {other:?} is neither the CPU nor CUDA"),
        }),
    }
}

/// c10's `ScalarType` code of an autocast dtype (tch keeps its own mapping private).
fn scalar_type(dtype: Kind) -> Result<i32, ShimError> {
    match dtype {
        Kind::Half => Ok(5),
        Kind::BFloat16 => Ok(15),
        other => Err(ShimError {
            kind: ShimErrorKind::InvalidArgument,
            message: format!("autocast: the dtype must be bfloat16 or float16, got {other:?}"),
        }),
    }
}

/// An open autocast region; dropping it restores the state before it (as `__exit__`, also when
/// the closure inside panics).
struct Region {
    kind: i32,
    prev: [i32; 3],
}

impl Drop for Region {
    fn drop(&mut self) {
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: `prev` holds the three values `rlhost_shim_autocast_enter` wrote.
        let rc = unsafe { ffi::rlhost_shim_autocast_exit(self.kind, self.prev.as_ptr(), &mut err) };
        // The kind was accepted on entry, so exit cannot refuse it; the message is freed either way.
        let _ = check(rc, err);
    }
}

/// Runs `f` under `torch.autocast(device_type, dtype)` for the device type of `device` (every
/// device of that type, as torch): eligible ops (matmul, linear, …) run in `dtype`
/// (`Kind::BFloat16` or `Kind::Half`), others in float32 or their inputs' type, by libtorch's
/// autocast lists. The weight-cast cache is on, as torch's default.
pub fn autocast<T>(device: Device, dtype: Kind, f: impl FnOnce() -> T) -> Result<T, ShimError> {
    let (kind, dtype) = (device_kind(device)?, scalar_type(dtype)?);
    let mut prev = [0i32; 3];
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: `prev` has room for the three values the shim writes.
    let rc = unsafe { ffi::rlhost_shim_autocast_enter(kind, dtype, prev.as_mut_ptr(), &mut err) };
    check(rc, err)?;
    let _region = Region { kind, prev };
    Ok(f())
}

/// `torch._amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale)`: multiplies
/// every tensor of `grads` by `inv_scale` (a float32 scalar tensor) in place, and sets
/// `found_inf` (a float32 scalar tensor) to 1.0 if any of their elements is inf or NaN. The
/// tensors must share one device and dtype (libtorch's rule for the foreach kernel).
pub fn amp_unscale(grads: &[Tensor], found_inf: &Tensor, inv_scale: &Tensor) -> Result<(), ShimError> {
    let ptrs: Vec<*const C_tensor> = grads.iter().map(|g| g.as_ptr()).collect();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: every pointer is a live `at::Tensor*` borrowed for the call.
    let rc = unsafe {
        ffi::rlhost_shim_amp_unscale(ptrs.as_ptr(), ptrs.len(), found_inf.as_ptr(), inv_scale.as_ptr(), &mut err)
    };
    check(rc, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscale_multiplies_and_flags_non_finite_gradients() {
        let grads = [Tensor::from_slice(&[2.0f32, 4.0]), Tensor::from_slice(&[8.0f32])];
        let found = Tensor::zeros([], (Kind::Float, Device::Cpu));
        let inv = Tensor::from(0.5f32);
        amp_unscale(&grads, &found, &inv).unwrap();
        assert_eq!(Vec::<f32>::try_from(&grads[0]).unwrap(), [1.0, 2.0]);
        assert_eq!(Vec::<f32>::try_from(&grads[1]).unwrap(), [4.0]);
        assert_eq!(found.double_value(&[]), 0.0);
        let bad = [Tensor::from_slice(&[1.0f32, f32::INFINITY])];
        amp_unscale(&bad, &found, &inv).unwrap();
        assert_eq!(found.double_value(&[]), 1.0);
    }

    #[test]
    fn cpu_autocast_runs_matmul_in_bfloat16_and_restores_the_state_after() {
        let a = Tensor::ones([2, 2], (Kind::Float, Device::Cpu));
        let inside = autocast(Device::Cpu, Kind::BFloat16, || a.matmul(&a)).unwrap();
        assert_eq!(inside.kind(), Kind::BFloat16);
        assert_eq!(a.matmul(&a).kind(), Kind::Float);
        let err = autocast(Device::Cpu, Kind::Float, || ()).unwrap_err();
        assert_eq!(err.kind, ShimErrorKind::InvalidArgument);
    }
}
