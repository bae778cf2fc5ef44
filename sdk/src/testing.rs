//! Test doubles that plugin tests share: an observer that records everything and a scripted
//! environment with known observations, rewards, episode ends and extras.
use crate::adapt::{vec_env_box, NativeVecEnv};
use crate::buffers::StepBuffers;
use crate::extras::ExtrasCollector;
use crate::tensor::dl_device;
use rlhost_plugin_api::abi_stable::sabi_trait::TD_Opaque;
use rlhost_plugin_api::abi_stable::std_types::{RSlice, RStr};
use rlhost_plugin_api::{
    ActionSpace, ActionSpace_NE, AutoReset, AutoReset_NE, EnvExtra, EnvInfo, EpochProgress, Observer, ObserverBox,
    Observer_TO, PluginError, Scalar, TensorSpec, VecEnvBox,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tch::{Device, Kind, Tensor};

/// What a [`RecordingObserver`] received.
#[derive(Debug, Default, Clone)]
pub struct Recorded {
    /// Every scalar, in arrival order.
    pub scalars: Vec<Scalar>,
    /// Every message line.
    pub messages: Vec<String>,
    /// Every epoch report.
    pub epochs: Vec<EpochProgress>,
}

impl Recorded {
    /// The values of one tag, in order.
    pub fn series(&self, tag: &str) -> Vec<f64> {
        self.scalars.iter().filter(|s| s.tag == tag).map(|s| s.value).collect()
    }
}

/// An observer that records everything; [`RecordingObserver::request_stop`] plays Ctrl-C.
#[derive(Debug, Clone, Default)]
pub struct RecordingObserver {
    recorded: Arc<Mutex<Recorded>>,
    stop: Arc<AtomicBool>,
}

impl RecordingObserver {
    /// A fresh recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A boxed handle for a plugin under test (it shares this recorder's state).
    pub fn handle(&self) -> ObserverBox {
        Observer_TO::from_value(self.clone(), TD_Opaque)
    }

    /// A copy of what was recorded so far.
    pub fn recorded(&self) -> Recorded {
        self.recorded.lock().expect("recorder lock").clone()
    }

    /// Makes `should_stop` answer true from now on.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Observer for RecordingObserver {
    fn scalars(&self, values: RSlice<'_, Scalar>) {
        self.recorded.lock().expect("recorder lock").scalars.extend(values.iter().cloned());
    }
    fn message(&self, text: RStr<'_>) {
        self.recorded.lock().expect("recorder lock").messages.push(text.to_string());
    }
    fn epoch(&self, progress: EpochProgress) {
        self.recorded.lock().expect("recorder lock").epochs.push(progress);
    }
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A scripted batch: env `i`'s episodes last `episode_lengths[i]` steps, the policy observation
/// is `[step in episode, i, 0, ...]`, the reward is the sum of the env's actions, and episodes
/// end by time-out (truncated) or, with `terminal`, as terminal states.
#[derive(Debug, Clone)]
pub struct ScriptedEnv {
    /// Steps per episode, per environment.
    pub episode_lengths: Vec<i64>,
    /// Size of the policy observation (at least 2).
    pub obs_dim: i64,
    /// Size of a privileged `states` group (0: none).
    pub states_dim: i64,
    /// Action dimensions (box in [-1, 1]).
    pub action_dim: i64,
    /// Episodes end as terminal states instead of time-outs.
    pub terminal: bool,
    elapsed: Vec<i64>,
    extras: ExtrasCollector,
}

impl ScriptedEnv {
    /// `episode_lengths.len()` environments with the given observation and action sizes.
    pub fn new(episode_lengths: Vec<i64>, obs_dim: i64, action_dim: i64) -> Self {
        let n = episode_lengths.len();
        ScriptedEnv {
            episode_lengths,
            obs_dim: obs_dim.max(2),
            states_dim: 0,
            action_dim,
            terminal: false,
            elapsed: vec![0; n],
            extras: ExtrasCollector::default(),
        }
    }

    /// Adds a `states` group of `dim` values (`[step, i, 1, ...]`).
    pub fn with_states(mut self, dim: i64) -> Self {
        self.states_dim = dim.max(2);
        self
    }

    /// Boxed for the boundary.
    pub fn boxed(self) -> VecEnvBox {
        vec_env_box(self).expect("a scripted env always describes valid buffers")
    }

    fn observe(&self, dim: i64, fill: f32) -> Tensor {
        let n = self.elapsed.len() as i64;
        let mut rows = vec![fill; (n * dim) as usize];
        for (i, &t) in self.elapsed.iter().enumerate() {
            rows[i * dim as usize] = t as f32;
            rows[i * dim as usize + 1] = i as f32;
        }
        Tensor::from_slice(&rows).view([n, dim])
    }

    fn write_observations(&self, out: &mut [Tensor]) {
        out[0].copy_(&self.observe(self.obs_dim, 0.0));
        if self.states_dim > 0 {
            out[1].copy_(&self.observe(self.states_dim, 1.0));
        }
    }
}

impl NativeVecEnv for ScriptedEnv {
    fn info(&self) -> EnvInfo {
        let unbounded = |d: i64| (vec![f32::NEG_INFINITY; d as usize], vec![f32::INFINITY; d as usize]);
        let (lo, hi) = unbounded(self.obs_dim);
        let mut observations = vec![TensorSpec::float32("obs", &[self.obs_dim], lo, hi)];
        if self.states_dim > 0 {
            let (lo, hi) = unbounded(self.states_dim);
            observations.push(TensorSpec::float32("states", &[self.states_dim], lo, hi));
        }
        let a = self.action_dim as usize;
        EnvInfo {
            num_envs: self.elapsed.len() as u32,
            observations: observations.into(),
            action_space: ActionSpace_NE::new(ActionSpace::Box {
                low: vec![-1.0; a].into(),
                high: vec![1.0; a].into(),
            }),
            agents: 1,
            value_size: 1,
            max_episode_steps: self.episode_lengths.iter().copied().max().unwrap_or(0) as u32,
            device: dl_device(Device::Cpu),
            autoreset: AutoReset_NE::new(AutoReset::SameStep),
        }
    }

    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError> {
        self.elapsed.iter_mut().for_each(|t| *t = 0);
        self.write_observations(observations);
        Ok(())
    }

    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        let rewards = actions.to_device(Device::Cpu).sum_dim_intlist(-1, false, Kind::Float);
        let mut ended = vec![false; self.elapsed.len()];
        for (i, t) in self.elapsed.iter_mut().enumerate() {
            *t += 1;
            if *t >= self.episode_lengths[i] {
                ended[i] = true;
                *t = 0;
            }
        }
        let finished = ended.iter().filter(|e| **e).count() as u64;
        self.extras.log("Metrics/step_reward", rewards.mean(Kind::Float).double_value(&[]));
        if finished > 0 {
            self.extras.episode("Episode_Reward/scripted", finished as f64, finished);
        }
        let ended = Tensor::from_slice(&ended);
        let none = ended.zeros_like();
        let (terminated, truncated) = if self.terminal { (&ended, &none) } else { (&none, &ended) };
        let mut observations: Vec<Tensor> = out.observations().iter().map(Tensor::shallow_clone).collect();
        self.write_observations(&mut observations);
        out.rewards_mut().copy_(&rewards);
        out.terminated_mut().copy_(terminated);
        out.truncated_mut().copy_(truncated);
        Ok(())
    }

    fn take_extras(&mut self) -> Result<Vec<EnvExtra>, PluginError> {
        Ok(self.extras.take())
    }
}

/// The environment variable naming a folder of rl_games fixtures made on this machine
/// (bench/ab/machine_fixtures.py), laid out as the repository is.
pub const RL_GAMES_FIXTURES_ENV: &str = "RLHOST_RL_GAMES_FIXTURES";

/// The rl_games fixture at `repo_relative` (e.g. `model/tests/fixtures/x.npz`): under
/// `$RLHOST_RL_GAMES_FIXTURES` when that is set (fixtures made on this CPU kind, because the
/// same-seed tests are bit-exact and libtorch's CPU kernels round differently on other kinds),
/// else the committed one in this repository.
pub fn rl_games_fixture(repo_relative: &str) -> std::path::PathBuf {
    let base = match std::env::var_os(RL_GAMES_FIXTURES_ENV) {
        Some(dir) if !dir.is_empty() => std::path::PathBuf::from(dir),
        _ => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
    };
    base.join(repo_relative)
}
