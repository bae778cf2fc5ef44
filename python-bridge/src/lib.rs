//! CPython inside rlhost, shared by the Python environment plugin and the `rlhost` Python module.
//!
//! - [`interpreter`]: starts the interpreter from a plugin loaded with `RTLD_LOCAL` (libpython
//!   made global first, so numpy's and torch's C extensions resolve its symbols), with the
//!   venv's packages on `sys.path`; inside a running Python it only attaches.
//! - [`dlpack`]: torch tensors and numpy arrays as tch tensors sharing their memory, and tch
//!   tensors as torch tensors, both over DLPack through `rlhost-torch-shim`. rlhost and the
//!   embedded torch load the same libtorch files, so a tensor crosses without a copy.
//! - [`failure`]: a Python exception as the one-line [`PluginError`](rlhost_sdk::PluginError)
//!   every rlhost error is, its traceback kept as detail.
pub mod dlpack;
pub mod failure;
pub mod interpreter;

pub use dlpack::{tensor_from_py, tensor_to_torch};
pub use failure::{print_tracebacks, py_error, PyFailure};
pub use interpreter::{ensure_started, prepend_sys_path};
pub use pyo3;
