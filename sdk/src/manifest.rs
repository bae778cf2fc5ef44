//! Plugin manifests with the versions this SDK was built against.
use rlhost_plugin_api::{PluginManifest, API_VERSION};
use std::ffi::CString;

/// The tch crate version plugins built with this SDK use.
pub const TCH_VERSION: &str = "0.26.0";
/// The libtorch version found at build time (PyTorch's `__version__`, such as `2.13.0+cu130`).
pub const LIBTORCH_VERSION: &str = env!("RLHOST_LIBTORCH_VERSION");

/// A manifest filled with this SDK's API, tch and libtorch versions.
pub fn manifest(id: &str, name: &str, version: &str, description: &str) -> PluginManifest {
    PluginManifest {
        id: id.into(),
        name: name.into(),
        version: version.into(),
        description: description.into(),
        api_version: API_VERSION.into(),
        tch_version: TCH_VERSION.into(),
        libtorch_version: LIBTORCH_VERSION.into(),
        panic_unwind: cfg!(panic = "unwind"),
    }
}

/// The manifest as JSON, for the pre-check symbol.
pub fn manifest_json(m: &PluginManifest) -> CString {
    let value = serde_json::json!({
        "id": m.id.as_str(),
        "name": m.name.as_str(),
        "version": m.version.as_str(),
        "description": m.description.as_str(),
        "api_version": m.api_version.as_str(),
        "tch_version": m.tch_version.as_str(),
        "libtorch_version": m.libtorch_version.as_str(),
        "panic_unwind": m.panic_unwind,
    });
    CString::new(value.to_string()).expect("JSON has no NUL bytes")
}
