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
    let capsule = match torch_capsule(obj) {
        Some(c) => Ok(c),
        None => obj.call_method0("__dlpack__"),
    };
    let capsule = match capsule {
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

/// `torch.Tensor` and `torch._C._to_dlpack`, once torch has been imported by someone.
fn torch_handles(py: Python<'_>) -> Option<&'static (Py<PyAny>, Py<PyAny>)> {
    static HANDLES: std::sync::OnceLock<(Py<PyAny>, Py<PyAny>)> = std::sync::OnceLock::new();
    if let Some(h) = HANDLES.get() {
        return Some(h);
    }
    let modules = py.import("sys").ok()?.getattr("modules").ok()?;
    let torch = modules.get_item("torch").ok()?;
    let tensor = torch.getattr("Tensor").ok()?.unbind();
    let to_dlpack = torch.getattr("_C").ok()?.getattr("_to_dlpack").ok()?.unbind();
    Some(HANDLES.get_or_init(|| (tensor, to_dlpack)))
}

/// The capsule of a torch tensor through `torch._C._to_dlpack`: the C entry point behind
/// `Tensor.__dlpack__`, without its Python-level checks (about 7x faster per call, which matters
/// for the five tensors of every step). `None` for anything else, or when it refuses.
fn torch_capsule<'py>(obj: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
    let (tensor, to_dlpack) = torch_handles(obj.py())?;
    if !obj.is_instance(tensor.bind(obj.py())).unwrap_or(false) {
        return None;
    }
    to_dlpack.bind(obj.py()).call1((obj,)).ok()
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
