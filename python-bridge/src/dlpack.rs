//! Tensors across the Python boundary over DLPack, without copies.
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use rlhost_torch_shim::DLManagedTensor;
use std::ffi::CStr;
use tch::Tensor;

const DLTENSOR: &CStr = c"dltensor";
const USED_DLTENSOR: &CStr = c"used_dltensor";

/// Borrows `obj` (a torch tensor, a numpy array, anything with `__dlpack__`) as a tch tensor
/// sharing its memory; the Python object stays alive until the tensor is dropped.
///
/// A torch tensor that requires grad is detached first; an object without `__dlpack__` (a
/// Python float or list) goes through `numpy.asarray`, which copies.
pub fn tensor_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let py = obj.py();
    let capsule = match obj.call_method0("__dlpack__") {
        Ok(c) => c,
        Err(first) => {
            if obj.hasattr("detach")? {
                obj.call_method0("detach")?.call_method0("__dlpack__")?
            } else if !obj.hasattr("__dlpack__")? {
                py.import("numpy")?.call_method1("ascontiguousarray", (obj,))?.call_method0("__dlpack__")?
            } else {
                return Err(first);
            }
        }
    };
    // SAFETY: `capsule` is a live object; a "dltensor" capsule holds an unconsumed
    // DLManagedTensor, which renaming it to "used_dltensor" hands over to us (DLPack's rule).
    unsafe {
        let raw = pyo3::ffi::PyCapsule_GetPointer(capsule.as_ptr(), DLTENSOR.as_ptr());
        if raw.is_null() {
            return Err(PyErr::fetch(py));
        }
        if pyo3::ffi::PyCapsule_SetName(capsule.as_ptr(), USED_DLTENSOR.as_ptr()) != 0 {
            return Err(PyErr::fetch(py));
        }
        rlhost_torch_shim::from_dlpack(raw.cast::<DLManagedTensor>())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }
}

/// Frees a DLPack capsule nobody consumed.
unsafe extern "C" fn drop_unused_capsule(capsule: *mut pyo3::ffi::PyObject) {
    // SAFETY: called by Python with the capsule; a consumer renamed it when it took ownership.
    unsafe {
        if pyo3::ffi::PyCapsule_IsValid(capsule, DLTENSOR.as_ptr()) == 1 {
            let raw = pyo3::ffi::PyCapsule_GetPointer(capsule, DLTENSOR.as_ptr());
            rlhost_torch_shim::drop_dlpack(raw.cast::<DLManagedTensor>());
        }
    }
}

/// A torch tensor sharing `tensor`'s memory (CPU or CUDA), made by `from_dlpack` (the
/// `torch.from_dlpack` function, looked up once by the caller).
pub fn tensor_to_torch<'py>(from_dlpack: &Bound<'py, PyAny>, tensor: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let py = from_dlpack.py();
    let managed = rlhost_torch_shim::to_dlpack(tensor).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    // SAFETY: the capsule owns `managed` until a consumer renames it; its destructor frees it
    // otherwise.
    let capsule = unsafe {
        let raw = pyo3::ffi::PyCapsule_New(managed.cast(), DLTENSOR.as_ptr(), Some(drop_unused_capsule));
        if raw.is_null() {
            rlhost_torch_shim::drop_dlpack(managed);
            return Err(PyErr::fetch(py));
        }
        Bound::from_owned_ptr(py, raw)
    };
    from_dlpack.call1((capsule,))
}
