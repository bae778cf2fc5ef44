//! Small helpers to build [`PluginError`]s from other errors.
use rlhost_plugin_api::{ErrorKind, PluginError};

/// Results inside plugin code.
pub type PluginResult<T> = Result<T, PluginError>;

/// Turns a libtorch error into a [`PluginError`]: its first line as the message, the rest
/// (libtorch's C++ backtrace) as detail.
pub fn tch_error(kind: ErrorKind, context: &str, err: tch::TchError) -> PluginError {
    let text = err.to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("libtorch error");
    let rest: Vec<&str> = lines.collect();
    PluginError::new(kind, format!("{context}: {first}")).with_detail(rest.join("\n"))
}

/// Adds context to any displayable error.
pub trait ResultExt<T> {
    /// Maps the error to a [`PluginError`] of `kind` whose message starts with `context`.
    fn plugin_err(self, kind: ErrorKind, context: impl FnOnce() -> String) -> PluginResult<T>;
}

impl<T, E: std::fmt::Display> ResultExt<T> for Result<T, E> {
    fn plugin_err(self, kind: ErrorKind, context: impl FnOnce() -> String) -> PluginResult<T> {
        self.map_err(|e| {
            let text = e.to_string();
            let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
            PluginError::new(kind, format!("{}: {first}", context())).with_detail(rest)
        })
    }
}
