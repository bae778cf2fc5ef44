//! Python environments for rlhost, through an embedded CPython (pyo3) sharing the process's
//! one libtorch:
//! - [`gym`]: `gym:<id>`, any registered Gymnasium environment (MuJoCo's included), batched by
//!   Gymnasium's own vector API (`env_config.vectorization: sync | async`, the rest of
//!   `env_config` its keyword arguments);
//! - [`torch_env`]: `python`, a batched torch environment with Isaac Lab's interface, built by
//!   `env_config.entry_point` (`package.module:callable`) with `env_config.kwargs`.
//!
//! A Python exception becomes one line naming the env and the exception (the traceback is the
//! error's detail, shown with `--verbose`); wrong shapes, dtypes or devices returned from Python
//! are one line naming the tensor and what was expected.
//!
//! This crate is the environments; the plugin (`plugin/`, `librlhost_python_env_plugin.so`) only
//! exports them, so tests can link these types beside another plugin's library.
pub mod config;
pub mod gym;
pub mod python;
pub mod torch_env;

pub use gym::GymEnv;
pub use torch_env::TorchEnv;
