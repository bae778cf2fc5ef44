//! `python`: a batched torch environment with Isaac Lab's interface, built by a user's callable.
//!
//! `entry_point(num_envs=N, device="cpu"|"cuda:K", seed=S, **kwargs)` returns an object with
//! `num_envs`, `device`, `single_observation_space` (a `Box`, or a `Dict` with `policy` and an
//! optional `critic`), `single_action_space` (a `Box`), `reset() -> (obs, extras)`,
//! `step(actions) -> (obs, rewards, terminated, truncated, extras)` and `close()`. Its `policy`
//! observations become `obs`, `critic` becomes `states`; `truncated` are the time-outs;
//! `extras["log"]` are episode statistics and top-level scalars of `extras` per-step logs, as
//! rl_games' `IsaacAlgoObserver` reads them. Actions reach Python as a torch tensor sharing the
//! caller's memory (valid for the call); observations are copied once into the caller's buffers.
use crate::config::TorchEnvConfig;
use crate::python::{action_space, copy_returned, helpers, kwargs, observation_spec, Space};
use rlhost_python_bridge::pyo3::prelude::*;
use rlhost_python_bridge::{ensure_started, prepend_sys_path, py_error, tensor_to_torch};
use rlhost_sdk::api::abi_stable::std_types::RVec;
use rlhost_sdk::api::space::{OBS, STATES};
use rlhost_sdk::api::{ActionSpace_NE, AutoReset, AutoReset_NE, EnvArgs, EnvExtra, EnvInfo};
use rlhost_sdk::tensor::{device_name, dl_device, tch_device};
use rlhost_sdk::{ErrorKind, ExtrasCollector, NativeVecEnv, PluginError, StepBuffers};
use std::path::Path;
use tch::Tensor;

/// The builder's name.
pub const NAME: &str = "python";

/// Isaac Lab's observation group names, and the rlhost groups they become.
const GROUPS: [(&str, &str); 2] = [("policy", OBS), ("critic", STATES)];

/// The attributes the returned object must have.
const INTERFACE: [&str; 6] = ["num_envs", "device", "single_observation_space", "single_action_space", "reset", "step"];

/// One episode statistic from `helpers.read_extras`: key, sum of its values, how many.
type EpisodeRow = (String, f64, u64);

/// A user's torch environment.
pub struct TorchEnv {
    who: String,
    /// Whether `close()` ran (dropping closes it otherwise: this plugin made the env).
    closed: bool,
    env: Py<PyAny>,
    /// `torch.from_dlpack`.
    from_dlpack: Py<PyAny>,
    /// The Python key of each observation group (`None`: the observation itself, not a dict).
    keys: Vec<Option<String>>,
    info: EnvInfo,
    extras: ExtrasCollector,
    /// `helpers.ExtrasReader`, which remembers the last `extras["log"]` it summed.
    extras_reader: Py<PyAny>,
}

impl TorchEnv {
    /// Imports the entry point and builds the env.
    pub fn new(args: &EnvArgs) -> Result<Self, PluginError> {
        let config = TorchEnvConfig::from_json(&args.config_json)?;
        let who = format!("env 'python' ({})", config.entry_point);
        let device = tch_device(args.device)?;
        ensure_started()?;
        rlhost_python_bridge::print_tracebacks(args.verbose);
        Python::attach(|py| {
            let fail = |what: &str, e: PyErr| py_error(py, &format!("{who} {what}"), ErrorKind::Env, &e);
            let cwd = std::env::current_dir().unwrap_or_default();
            prepend_sys_path(py, &[cwd.as_path(), Path::new(args.config_dir.as_str())])
                .map_err(|e| fail("sys.path", e))?;
            let helpers = helpers(py).map_err(|e| fail("helpers", e))?;
            let from_dlpack =
                py.import("torch").and_then(|t| t.getattr("from_dlpack")).map_err(|e| fail("import torch", e))?;
            let make = helpers
                .getattr("load_entry_point")
                .and_then(|f| f.call1((&config.entry_point,)))
                .map_err(|e| fail("cannot import the entry point", e))?;
            let kw = kwargs(py, &config.kwargs).map_err(|e| fail("env_config.kwargs", e))?;
            kw.set_item("num_envs", args.num_envs)
                .and_then(|_| kw.set_item("device", device_name(device)))
                .and_then(|_| kw.set_item("seed", args.seed))
                .map_err(|e| fail("arguments", e))?;
            let env = make.call((), Some(&kw)).map_err(|e| fail("construction", e))?;
            let missing: Vec<&str> = INTERFACE.iter().copied().filter(|a| !env.hasattr(*a).unwrap_or(false)).collect();
            if !missing.is_empty() {
                return Err(PluginError::new(
                    ErrorKind::Env,
                    format!(
                        "{who}: the object it returned lacks {} (Isaac Lab's interface needs {})",
                        missing.join(", "),
                        INTERFACE.join(", ")
                    ),
                ));
            }
            let read = |attr: &str| env.getattr(attr).map_err(|e| fail(attr, e));
            let num_envs: u32 = read("num_envs")?.extract().map_err(|e| fail("num_envs", e))?;
            if num_envs != args.num_envs {
                return Err(PluginError::new(
                    ErrorKind::Env,
                    format!("{who}: its num_envs is {num_envs}; rlhost asked for {}", args.num_envs),
                ));
            }
            let env_device = read("device")?.str().map(|s| s.to_string()).map_err(|e| fail("device", e))?;
            if rlhost_sdk::tensor::parse_device(&env_device).ok() != Some(device) {
                return Err(PluginError::new(
                    ErrorKind::Device,
                    format!("{who}: its device is '{env_device}'; rlhost asked for {}", device_name(device)),
                ));
            }
            let obs_space =
                Space::of(&read("single_observation_space")?).map_err(|e| fail("single_observation_space", e))?;
            let act_space = Space::of(&read("single_action_space")?).map_err(|e| fail("single_action_space", e))?;
            let (keys, observations) = groups(&who, &obs_space)?;
            let action = action_space(&who, &act_space)?;
            let limit = env
                .getattr("max_episode_length")
                .ok()
                .and_then(|v| v.extract::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map_or(0, |v| v as u32);
            let info = EnvInfo {
                num_envs,
                observations: RVec::from(observations),
                action_space: ActionSpace_NE::new(action),
                agents: 1,
                value_size: 1,
                max_episode_steps: limit,
                device: dl_device(device),
                autoreset: AutoReset_NE::new(AutoReset::SameStep),
            };
            let extras_reader =
                helpers.getattr("ExtrasReader").and_then(|c| c.call0()).map_err(|e| fail("helpers", e))?.unbind();
            Ok(TorchEnv {
                closed: false,
                extras_reader,
                who,
                env: env.unbind(),
                from_dlpack: from_dlpack.unbind(),
                keys,
                info,
                extras: ExtrasCollector::default(),
            })
        })
    }

    /// Copies every observation group of `obs` into `buffers`.
    fn write_observations(&self, who: &str, obs: &Bound<'_, PyAny>, buffers: &mut [Tensor]) -> Result<(), PluginError> {
        for ((key, buffer), spec) in self.keys.iter().zip(buffers.iter_mut()).zip(self.info.observations.iter()) {
            match key {
                None => copy_returned(who, "observations", obs, buffer)?,
                Some(key) => {
                    let group = obs.get_item(key).map_err(|_| {
                        PluginError::new(
                            ErrorKind::Shape,
                            format!("{who} returned observations without the '{key}' group (rlhost's '{}')", spec.name),
                        )
                    })?;
                    copy_returned(who, &format!("observations['{key}']"), &group, buffer)?;
                }
            }
        }
        Ok(())
    }

    /// Records `extras` (episode statistics and per-step scalars) for the next `take_extras`.
    fn record_extras(&mut self, who: &str, extras: &Bound<'_, PyAny>) -> Result<(), PluginError> {
        let py = extras.py();
        let read = self.extras_reader.bind(py).call_method1("read", (extras,));
        let (episode, logs): (Vec<EpisodeRow>, Vec<(String, f64)>) =
            read.and_then(|v| v.extract()).map_err(|e| py_error(py, &format!("{who} extras"), ErrorKind::Env, &e))?;
        for (name, sum, count) in episode {
            self.extras.episode(&name, sum, count);
        }
        for (name, value) in logs {
            self.extras.log(&name, value);
        }
        Ok(())
    }
}

/// The observation groups of `space`: a `Box` is `obs`; a `Dict` needs `policy` and may have `critic`.
fn groups(who: &str, space: &Space) -> Result<(Vec<Option<String>>, Vec<rlhost_sdk::api::TensorSpec>), PluginError> {
    match space {
        Space::Dict(entries) => {
            let mut keys = Vec::new();
            let mut specs = Vec::new();
            for (key, name) in GROUPS {
                if let Some((_, s)) = entries.iter().find(|(k, _)| k == key) {
                    keys.push(Some(key.to_string()));
                    specs.push(observation_spec(who, name, s)?);
                }
            }
            if keys.first() != Some(&Some("policy".to_string())) {
                return Err(PluginError::new(
                    ErrorKind::Unsupported,
                    format!("{who}: its observation space {} has no 'policy' group", space.describe()),
                ));
            }
            Ok((keys, specs))
        }
        other => Ok((vec![None], vec![observation_spec(who, OBS, other)?])),
    }
}

impl NativeVecEnv for TorchEnv {
    fn info(&self) -> EnvInfo {
        self.info.clone()
    }

    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError> {
        Python::attach(|py| {
            let who = format!("{} reset()", self.who);
            let out = self.env.bind(py).call_method0("reset").map_err(|e| py_error(py, &who, ErrorKind::Env, &e))?;
            let item =
                |i: usize| out.get_item(i).map_err(|e| py_error(py, &format!("{who} result"), ErrorKind::Env, &e));
            let (obs, extras) = (item(0)?, item(1)?);
            self.write_observations(&who, &obs, observations)?;
            self.record_extras(&who, &extras)
        })
    }

    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        Python::attach(|py| {
            let who = format!("{} step()", self.who);
            let actions = tensor_to_torch(self.from_dlpack.bind(py), actions)
                .map_err(|e| py_error(py, &format!("{who} actions"), ErrorKind::Env, &e))?;
            let result = self
                .env
                .bind(py)
                .call_method1("step", (actions,))
                .map_err(|e| py_error(py, &who, ErrorKind::Env, &e))?;
            let item =
                |i: usize| result.get_item(i).map_err(|e| py_error(py, &format!("{who} result"), ErrorKind::Env, &e));
            self.write_observations(&who, &item(0)?, out.observations_mut())?;
            copy_returned(&who, "rewards", &item(1)?, out.rewards_mut())?;
            copy_returned(&who, "terminated", &item(2)?, out.terminated_mut())?;
            copy_returned(&who, "truncated", &item(3)?, out.truncated_mut())?;
            self.record_extras(&who, &item(4)?)
        })
    }

    fn take_extras(&mut self) -> Result<Vec<EnvExtra>, PluginError> {
        Ok(self.extras.take())
    }

    fn close(&mut self) -> Result<(), PluginError> {
        if std::mem::replace(&mut self.closed, true) {
            return Ok(());
        }
        Python::attach(|py| {
            let env = self.env.bind(py);
            if !env.hasattr("close").unwrap_or(false) {
                return Ok(());
            }
            env.call_method0("close")
                .map(|_| ())
                .map_err(|e| py_error(py, &format!("{} close()", self.who), ErrorKind::Env, &e))
        })
    }
}

impl Drop for TorchEnv {
    /// Closes the env this plugin built, once.
    fn drop(&mut self) {
        let _ = self.close();
    }
}
