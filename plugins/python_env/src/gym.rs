//! `gym:<id>`: any registered Gymnasium environment, batched by Gymnasium's own vector API.
//!
//! Observations and rewards are numpy arrays, borrowed over DLPack and copied once into the
//! caller's buffers (with the cast to float32); actions are written into one numpy array made at
//! start, which the vector env reads. Finished episodes restart in the same step
//! (`AutoresetMode.SAME_STEP`), as rl_games expects.
use crate::config::GymConfig;
use crate::python::{action_space, copy_returned, helpers, kwargs, observation_spec, Space};
use rlhost_python_bridge::pyo3::prelude::*;
use rlhost_python_bridge::{ensure_started, py_error, tensor_from_py};
use rlhost_sdk::api::abi_stable::std_types::RVec;
use rlhost_sdk::api::space::OBS;
use rlhost_sdk::api::{ActionSpace_NE, AutoReset, AutoReset_NE, EnvArgs, EnvInfo};
use rlhost_sdk::tensor::{dl_device, tch_device};
use rlhost_sdk::{ErrorKind, NativeVecEnv, PluginError, StepBuffers};
use tch::{Device, Tensor};

/// The prefix of the family's names.
pub const PREFIX: &str = "gym:";

/// A Gymnasium vector env.
pub struct GymEnv {
    who: String,
    /// Whether `close()` ran (dropping closes it otherwise: this plugin made the env).
    closed: bool,
    env: Py<PyAny>,
    /// The numpy array handed to `step`, and a tch view of its memory.
    actions: (Py<PyAny>, Tensor),
    info: EnvInfo,
    seed: u64,
}

impl GymEnv {
    /// Makes `gym:<id>` for `args` (CPU only: Gymnasium steps numpy arrays).
    pub fn new(name: &str, args: &EnvArgs) -> Result<Self, PluginError> {
        let id = name.strip_prefix(PREFIX).unwrap_or(name);
        let who = format!("env '{name}'");
        let config = GymConfig::from_json(&args.config_json)?;
        if tch_device(args.device)? != Device::Cpu {
            return Err(PluginError::new(
                ErrorKind::Device,
                format!("{who} steps numpy arrays on the CPU; set params.config.env_config.device: cpu"),
            ));
        }
        ensure_started()?;
        rlhost_python_bridge::print_tracebacks(args.verbose);
        Python::attach(|py| {
            let fail = |what: &str, e: PyErr| py_error(py, &format!("{who} {what}"), ErrorKind::Env, &e);
            let helpers = helpers(py).map_err(|e| fail("helpers", e))?;
            let kw = kwargs(py, &config.kwargs).map_err(|e| fail("env_config", e))?;
            let env = helpers
                .getattr("make_gym_vector")
                .and_then(|f| f.call1((id, args.num_envs, config.vectorization.as_str(), kw)))
                .map_err(|e| fail("gymnasium.make_vec", e))?;
            let obs_space = env.getattr("single_observation_space").and_then(|s| Space::of(&s));
            let act_space = env.getattr("single_action_space").and_then(|s| Space::of(&s));
            let (obs_space, act_space) =
                (obs_space.map_err(|e| fail("spaces", e))?, act_space.map_err(|e| fail("spaces", e))?);
            let observation = observation_spec(&who, OBS, &obs_space)?;
            let action = action_space(&who, &act_space)?;
            let limit: u32 = helpers
                .getattr("gym_episode_limit")
                .and_then(|f| f.call1((&env,)))
                .and_then(|v| v.extract())
                .map_err(|e| fail("spec", e))?;
            let dtype = match &act_space {
                Space::Box { dtype, .. } => dtype.clone(),
                _ => "int64".to_string(),
            };
            let mut shape = vec![args.num_envs as i64];
            if let Space::Box { shape: s, .. } = &act_space {
                shape.extend(s);
            } else if let Space::MultiDiscrete(nvec) = &act_space {
                shape.push(nvec.len() as i64);
            }
            let array = py
                .import("numpy")
                .and_then(|np| np.call_method1("zeros", (shape, dtype)))
                .map_err(|e| fail("action array", e))?;
            let view = tensor_from_py(&array).map_err(|e| fail("action array", e))?;
            let info = EnvInfo {
                num_envs: args.num_envs,
                observations: RVec::from(vec![observation]),
                action_space: ActionSpace_NE::new(action),
                agents: 1,
                value_size: 1,
                max_episode_steps: limit,
                device: dl_device(Device::Cpu),
                autoreset: AutoReset_NE::new(AutoReset::SameStep),
            };
            Ok(GymEnv { closed: false, who, env: env.unbind(), actions: (array.unbind(), view), info, seed: args.seed })
        })
    }
}

impl GymEnv {
    /// The Gymnasium vector env itself, for tests and tools that read its sub-environments.
    pub fn vector_env(&self) -> &Py<PyAny> {
        &self.env
    }
}

impl NativeVecEnv for GymEnv {
    fn info(&self) -> EnvInfo {
        self.info.clone()
    }

    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError> {
        Python::attach(|py| {
            let kw = rlhost_python_bridge::pyo3::types::PyDict::new(py);
            let out = kw
                .set_item("seed", self.seed)
                .and_then(|_| self.env.bind(py).call_method("reset", (), Some(&kw)))
                .map_err(|e| py_error(py, &format!("{} reset()", self.who), ErrorKind::Env, &e))?;
            let obs =
                out.get_item(0).map_err(|e| py_error(py, &format!("{} reset()", self.who), ErrorKind::Env, &e))?;
            copy_returned(&format!("{} reset()", self.who), "observations", &obs, &mut observations[0])
        })
    }

    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        self.actions.1.copy_(actions);
        Python::attach(|py| {
            let who = format!("{} step()", self.who);
            let result = self
                .env
                .bind(py)
                .call_method1("step", (self.actions.0.bind(py),))
                .map_err(|e| py_error(py, &who, ErrorKind::Env, &e))?;
            let item = |i: usize| result.get_item(i).map_err(|e| py_error(py, &who, ErrorKind::Env, &e));
            copy_returned(&who, "observations", &item(0)?, out.obs_mut(0))?;
            copy_returned(&who, "rewards", &item(1)?, out.rewards_mut())?;
            copy_returned(&who, "terminated", &item(2)?, out.terminated_mut())?;
            copy_returned(&who, "truncated", &item(3)?, out.truncated_mut())
        })
    }

    fn close(&mut self) -> Result<(), PluginError> {
        if std::mem::replace(&mut self.closed, true) {
            return Ok(());
        }
        Python::attach(|py| {
            self.env
                .bind(py)
                .call_method0("close")
                .map(|_| ())
                .map_err(|e| py_error(py, &format!("{} close()", self.who), ErrorKind::Env, &e))
        })
    }
}

impl Drop for GymEnv {
    /// Closes the vector env (async workers exit cleanly instead of finding a broken pipe).
    fn drop(&mut self) {
        let _ = self.close();
    }
}
