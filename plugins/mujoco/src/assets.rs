//! Where the model XML files are: Gymnasium's own, in the venv the plugin was built against.
use rlhost_sdk::{ErrorKind, PluginError};
use std::path::{Path, PathBuf};

/// `gymnasium/envs/mujoco/assets` of the venv found at build time (empty if Gymnasium was missing).
pub const GYMNASIUM_ASSETS: &str = env!("RLHOST_MUJOCO_BUILD_ASSETS");

/// Resolves `xml_file` as Gymnasium's `expand_model_path` does: a path starting with `/` or
/// `~` is used as given, one starting with `.` is relative to the config's folder (`config_dir`,
/// or the working directory when that is empty), and a bare name is a file of Gymnasium's
/// assets folder. A missing file is a one-line error naming it.
pub fn model_path(env: &str, xml_file: &str, config_dir: &str) -> Result<PathBuf, PluginError> {
    let path = if let Some(rest) = xml_file.strip_prefix("~/") {
        std::env::var_os("HOME").map_or_else(|| PathBuf::from(xml_file), |home| Path::new(&home).join(rest))
    } else if xml_file.starts_with('/') {
        PathBuf::from(xml_file)
    } else if xml_file.starts_with('.') {
        Path::new(config_dir).join(xml_file)
    } else {
        if GYMNASIUM_ASSETS.is_empty() {
            return Err(PluginError::new(
                ErrorKind::NotFound,
                format!("{env}: built without Gymnasium, so there is no {xml_file}: install gymnasium==1.4.0 into the venv (scripts/setup.sh) and rebuild"),
            ));
        }
        Path::new(GYMNASIUM_ASSETS).join(xml_file)
    };
    if !path.is_file() {
        return Err(PluginError::new(
            ErrorKind::NotFound,
            format!(
                "{env}: MuJoCo model {} not found (Gymnasium 1.4.0's models come with scripts/setup.sh)",
                path.display()
            ),
        ));
    }
    Ok(path)
}
