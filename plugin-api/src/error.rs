//! The error every plugin call returns.
use abi_stable::std_types::{RResult, RString};
use abi_stable::StableAbi;
use std::fmt;

/// What went wrong, in categories the host can act on.
///
/// Non-exhaustive across the boundary ([`ErrorKind_NE`]): a later 2.x may add kinds, and a host
/// that does not know one reads it as [`ErrorKind::Other`] (see [`PluginError::kind`]).
#[non_exhaustive]
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u8; 8], align = u64, traits(Debug, Clone, PartialEq, Eq))))]
pub enum ErrorKind {
    /// A configuration key is missing, has the wrong type or an invalid value.
    Config,
    /// A file could not be read or written.
    Io,
    /// A tensor has the wrong shape, dtype or layout.
    Shape,
    /// A tensor lives on the wrong device, or the device is unavailable.
    Device,
    /// A checkpoint is missing, truncated or does not fit this model.
    Checkpoint,
    /// The plugin panicked; the panic was caught at the boundary.
    Panic,
    /// A requested name (builder, environment) is unknown.
    NotFound,
    /// The feature exists in rl_games but is not supported by this plugin.
    Unsupported,
    /// A loss, action or state became NaN or infinite.
    NonFinite,
    /// The environment itself failed (a simulator error, a Python exception).
    Env,
    /// The user interrupted a call (Ctrl-C); nothing is wrong with the inputs.
    Interrupted,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// A short lowercase name, used in one-line error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Io => "io",
            ErrorKind::Shape => "shape",
            ErrorKind::Device => "device",
            ErrorKind::Checkpoint => "checkpoint",
            ErrorKind::Panic => "panic",
            ErrorKind::NotFound => "not found",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::NonFinite => "non-finite",
            ErrorKind::Env => "environment",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Other => "error",
        }
    }
}

/// A stable error: a kind, a one-line message and an optional multi-line detail.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginError {
    /// The category; read it with [`PluginError::kind`].
    pub kind_ne: ErrorKind_NE,
    /// One line, naming the thing at fault.
    pub message: RString,
    /// Anything longer (a backtrace, a libtorch report); may be empty.
    pub detail: RString,
}

/// The result type of every call across the boundary.
pub type PResult<T> = RResult<T, PluginError>;

impl PluginError {
    /// An error with a message and no detail; the message is cut to its first line.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message: String = message.into();
        let (first, rest) = match message.split_once('\n') {
            Some((first, rest)) => (first.to_string(), rest.to_string()),
            None => (message, String::new()),
        };
        PluginError { kind_ne: ErrorKind_NE::new(kind), message: first.into(), detail: rest.into() }
    }

    /// The category; a kind added by a later 2.x reads as [`ErrorKind::Other`].
    pub fn kind(&self) -> ErrorKind {
        self.kind_ne.as_enum().copied().unwrap_or(ErrorKind::Other)
    }

    /// Replaces the detail text.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into().into();
        self
    }

    /// Replaces the kind, keeping the message and detail.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind_ne = ErrorKind_NE::new(kind);
        self
    }

    /// Prefixes the message with `context: `.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message).into();
        self
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}
