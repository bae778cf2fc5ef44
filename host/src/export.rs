//! `rlhost export`: a trained policy as an ONNX file, written by the player plugin that plays it
//! (`Player::export_onnx`), so a third-party player exports its own networks.
use crate::cli::{checkpoint_path, load_doc, load_plugins, warn_unknown_keys, RunOptions};
use crate::config;
use crate::registry::Registry;
use crate::runner::Runner;
use anyhow::{anyhow, bail, Result};
use clap::Args;
use rlhost_plugin_api::abi_stable::std_types::RStr;
use rlhost_plugin_api::SigmaOverride;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// `rlhost export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Config, plugins, checkpoint (required) and overrides.
    #[command(flatten)]
    pub run: RunOptions,
    /// The ONNX file to write (default: the checkpoint's path with `.onnx`).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Extra outputs beside `actions`: `mu`, `sigma`, `value` (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub outputs: Vec<String>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// Runs `rlhost export`.
pub fn export(args: &ExportArgs) -> Result<()> {
    let doc = load_doc(&args.run)?;
    let selector = args.run.checkpoint.as_deref().ok_or_else(|| anyhow!("export needs --checkpoint P|latest|best"))?;
    let checkpoint = checkpoint_path(selector, &doc)?;
    let output = args.output.clone().unwrap_or_else(|| checkpoint.with_extension("onnx"));
    // Checked here to fail before loading anything; the plugin's writer refuses it again, atomically.
    if !args.force && output.symlink_metadata().is_ok() {
        bail!("output {} already exists: pick another --output or pass --force to replace it", output.display());
    }
    let set = load_plugins(&args.run.plugins);
    let registry = Registry::new(&set.loaded, &args.run.plugins.plugin_ids);
    warn_unknown_keys(&args.run.config, &doc, &registry);
    let algo = config::require_str(&doc, "params.algo.name")?.to_string();
    let runner = Runner::load(registry, doc, Arc::new(AtomicBool::new(false)))?.without_progress();
    let mut player = runner.create_detached_player(&checkpoint)?;
    if let Some(sigma) = args.run.sigma {
        let outcome = player.set_sigma(sigma).into_result().map_err(|e| anyhow!("{e}"))?;
        if outcome.as_enum().ok() == Some(&SigmaOverride::NotFixed) {
            println!("Cannot set new sigma because fixed_sigma is False");
        }
    }
    let doc = runner.doc();
    let clip = |key: &str| config::get(doc, key).and_then(Value::as_f64);
    let options = json!({
        "outputs": args.outputs,
        "replace": args.force,
        "clip_observations": clip("params.env.clip_observations"),
        "clip_actions": clip("params.env.clip_actions"),
        "host_version": env!("CARGO_PKG_VERSION"),
        "metadata": {
            "config": serde_json::to_string(&doc["params"])?,
            "config_file": args.run.config.display().to_string(),
            "checkpoint": checkpoint.display().to_string(),
        },
    });
    let path = output.to_string_lossy();
    player
        .export_onnx(RStr::from(path.as_ref()), RStr::from(options.to_string().as_str()))
        .into_result()
        .map_err(|e| anyhow!("export with player '{algo}': {e}"))?;
    let mut names = vec!["actions".to_string()];
    names.extend(args.outputs.iter().filter(|n| *n != "actions").cloned());
    println!("exported {} (outputs: {})", output.display(), names.join(", "));
    Ok(())
}
