//! `Player::export_onnx`: the restored policy, exactly as [`PpoPlayer::act`](crate::PpoPlayer)
//! computes it deterministically, as an ONNX file (`rlhost_model::onnx`).
use crate::player::Loaded;
use rlhost_model::checkpoint::{keys, LoadedCheckpoint, VALUE_RMS};
use rlhost_model::onnx::{self, DenseF32, Outputs, PolicyGraph};
use rlhost_model::spec::NetworkConfig;
use rlhost_sdk::{ErrorKind, PluginError, PluginResult};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use tch::{Device, Kind};

/// The exporter options (`options_json`), all optional; an unknown key is an error naming it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportOptions {
    /// Extra outputs beside `actions`: any of `mu`, `sigma`, `value`.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Replace an existing file at the path (otherwise it is refused).
    #[serde(default)]
    pub replace: bool,
    /// The host wrapper's observation clamp (`params.env.clip_observations`), put in the graph.
    #[serde(default)]
    pub clip_observations: Option<f32>,
    /// The host wrapper's action clamp (`params.env.clip_actions`), put in the graph.
    #[serde(default)]
    pub clip_actions: Option<f32>,
    /// The host's version, written as the model's `producer_version` and `rlhost_version`.
    #[serde(default)]
    pub host_version: Option<String>,
    /// More `metadata_props` (the host's config, file names).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl ExportOptions {
    /// Parses `options_json` (empty text means no options).
    pub fn parse(text: &str) -> PluginResult<Self> {
        if text.trim().is_empty() {
            return Ok(ExportOptions::default());
        }
        serde_json::from_str(text).map_err(|e| PluginError::new(ErrorKind::Config, format!("export options: {e}")))
    }
}

fn positive(name: &str, v: Option<f32>) -> PluginResult<Option<f32>> {
    match v {
        Some(c) if !(c.is_finite() && c > 0.0) => Err(PluginError::new(
            ErrorKind::Config,
            format!("export options: {name} must be a positive finite number, got {c}"),
        )),
        other => Ok(other),
    }
}

/// Writes `loaded`'s policy to `path`.
pub(crate) fn export(loaded: &Loaded, path: &Path, options_json: &str) -> PluginResult<()> {
    let _no_grad = tch::no_grad_guard();
    let options = ExportOptions::parse(options_json)?;
    let outputs = Outputs::parse(options.outputs.iter().map(String::as_str))?;
    let clip_observations = positive("clip_observations", options.clip_observations)?;
    let clip_actions = positive("clip_actions", options.clip_actions)?;
    onnx::check_exportable(&loaded.network_json)?;
    let network: NetworkConfig = loaded.model.net.config().clone();

    let mut params = BTreeMap::new();
    for (name, t) in loaded.model.net.actor_parameters() {
        params.insert(name, DenseF32::of(&t)?);
    }
    let mut value_norm = None;
    if outputs.value {
        // The player restores only the actor: the critic comes from the same checkpoint file.
        let ckpt = LoadedCheckpoint::read(&loaded.checkpoint)?;
        for (name, t) in loaded.model.net.named_parameters() {
            if onnx::is_critic_param(&name) {
                params.insert(
                    name.clone(),
                    DenseF32::of(&ckpt.finite_tensor(&name, Kind::Float, &t.size(), Device::Cpu)?)?,
                );
            }
        }
        let normalize_value =
            ckpt.flag(keys::NORMALIZE_VALUE).unwrap_or_else(|| ckpt.has(&format!("{VALUE_RMS}.running_mean")));
        if normalize_value {
            let stat = |what: &str| ckpt.finite_tensor(&format!("{VALUE_RMS}.{what}"), Kind::Double, &[1], Device::Cpu);
            let (mean, var) = (stat("running_mean")?, stat("running_var")?);
            ckpt.check_variance(&format!("{VALUE_RMS}.running_var"), &var)?;
            value_norm = Some((DenseF32::of(&mean)?, DenseF32::of(&var)?));
        }
    }
    let obs_norm = match &loaded.model.obs_rms {
        Some(rms) => Some((DenseF32::of(&rms.mean)?, DenseF32::of(&rms.var)?)),
        None => None,
    };
    let rescale = if loaded.actions.clip {
        let (half_range, mid) = loaded.actions.rescale();
        Some((DenseF32::of(half_range)?.data, DenseF32::of(mid)?.data))
    } else {
        None
    };
    let graph = PolicyGraph {
        network,
        obs_shape: loaded.obs_shape.clone(),
        obs_uint8: loaded.obs_uint8,
        action_dim: loaded.action_dim,
        params,
        obs_norm,
        value_norm,
        rescale,
        clip_observations,
        clip_actions,
        outputs,
    };

    let host_version = options.host_version.clone().unwrap_or_default();
    let (low, high) = &loaded.bounds;
    let mut metadata: BTreeMap<String, String> = options.metadata.clone();
    let mut put = |k: &str, v: String| {
        metadata.insert(k.to_string(), v);
    };
    let (obs_dtype, obs_clip) = if loaded.obs_uint8 { ("uint8", None) } else { ("float32", clip_observations) };
    put(
        "observation_space",
        json!({"name": "obs", "dtype": obs_dtype, "shape": loaded.obs_shape, "clip": obs_clip}).to_string(),
    );
    if let Some(rnn) = &graph.network.rnn {
        // The graph is one step: the caller carries the states and zeroes an env's on `done`.
        let states: Vec<Value> = graph
            .state_names()
            .into_iter()
            .map(|(i, o)| json!({"input": i, "output": o, "shape": [rnn.layers, "batch", rnn.units]}))
            .collect();
        put("recurrent_states", Value::from(states).to_string());
    }
    put(
        "action_space",
        json!({"type": "box", "dtype": "float32", "shape": [loaded.action_dim], "low": low, "high": high,
               "clip_actions": loaded.actions.clip, "env_clip_actions": clip_actions})
        .to_string(),
    );
    put("outputs", Value::from(outputs.names()).to_string());
    put("normalize_input", loaded.model.obs_rms.is_some().to_string());
    put("deterministic", "true".into());
    put("rlhost_version", host_version.clone());
    put("plugin_id", crate::PLUGIN_ID.into());
    put("plugin_version", env!("CARGO_PKG_VERSION").into());
    put("network", loaded.network_json.to_string());
    put("opset", onnx::OPSET.to_string());
    let metadata: Vec<(String, String)> = metadata.into_iter().collect();
    let model = graph.build(&host_version, &metadata)?;
    onnx::write_file(path, &onnx::encode(&model), options.replace)
}
