//! Python exceptions as rlhost's one-line errors.
use pyo3::prelude::*;
use pyo3::types::PyTracebackMethods;
use rlhost_sdk::{ErrorKind, PluginError};
use std::sync::atomic::{AtomicBool, Ordering};

static PRINT_TRACEBACKS: AtomicBool = AtomicBool::new(false);

/// Whether [`py_error`] also prints each traceback to stderr (the host's `--verbose`): the
/// host shows only an error's first line, and the traceback is what a user debugs with.
pub fn print_tracebacks(on: bool) {
    PRINT_TRACEBACKS.store(on, Ordering::Relaxed);
}

/// A Python exception: `Type: message` on one line, the formatted traceback apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyFailure {
    /// `ValueError: bad action`, newlines folded.
    pub line: String,
    /// The traceback as Python prints it (empty when there is none).
    pub traceback: String,
    /// Whether it was a `KeyboardInterrupt`.
    pub interrupted: bool,
}

/// Describes `err` without consuming it.
pub fn describe(py: Python<'_>, err: &PyErr) -> PyFailure {
    let type_name = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".to_string());
    let message = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = if message.is_empty() { type_name.clone() } else { format!("{type_name}: {message}") };
    let traceback = err.traceback(py).and_then(|tb| tb.format().ok()).unwrap_or_default();
    let interrupted = err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py);
    PyFailure { line, traceback, interrupted }
}

/// The error for `err` raised while doing `context` (for example `env 'python' (my_env:make)
/// step()`): one line with the exception's type and message, the traceback as detail. Kind
/// [`ErrorKind::Interrupted`] for a `KeyboardInterrupt`, `fallback` otherwise.
pub fn py_error(py: Python<'_>, context: &str, fallback: ErrorKind, err: &PyErr) -> PluginError {
    let failure = describe(py, err);
    let kind = if failure.interrupted { ErrorKind::Interrupted } else { fallback };
    if PRINT_TRACEBACKS.load(Ordering::Relaxed) && !failure.traceback.is_empty() {
        eprintln!("{context}: Python traceback (most recent call last):\n{}{}", failure.traceback, failure.line);
    }
    PluginError::new(kind, format!("{context}: {}", failure.line)).with_detail(failure.traceback)
}
