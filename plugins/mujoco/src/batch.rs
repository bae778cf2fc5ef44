//! N environments of one task stepped on a thread pool: time limits, same-step auto-reset,
//! per-environment seeds, and the [`NativeVecEnv`] implementation.
//!
//! Each environment owns one `mjData` of the shared model. A step splits the batch into one
//! contiguous chunk per thread; every environment reads only its own action row and writes
//! only its own observation row and outcome, so the result does not depend on the thread count.
use crate::config::ConfigReader;
use crate::model::{Model, Sim};
use crate::rng::EpisodeRng;
use crate::task::{initial_state, Task};
use rayon::prelude::*;
use rlhost_sdk::api::space::OBS;
use rlhost_sdk::api::{ActionSpace, ActionSpace_NE, AutoReset, AutoReset_NE, EnvInfo, TensorSpec};
use rlhost_sdk::tensor::{check_device_available, dl_device};
use rlhost_sdk::{ErrorKind, NativeVecEnv, PluginError, StepBuffers};
use std::sync::Arc;
use tch::{Device, Tensor};

/// Gymnasium's `max_episode_steps` for every v5 locomotion task.
pub const DEFAULT_MAX_EPISODE_STEPS: u32 = 1000;

/// One environment: its simulation, seed and counters.
#[derive(Debug)]
struct Slot {
    sim: Sim,
    /// `seed + i`: the key of this environment's random streams.
    env_seed: u64,
    /// Episodes started so far (the next episode's stream index).
    episodes: u64,
    /// Steps taken in the current episode.
    elapsed: u32,
    /// The current observation in float64.
    obs: Vec<f64>,
}

/// What one environment's step produced.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    /// Gymnasium's float64 reward.
    pub reward: f64,
    /// The step ended the episode (unhealthy).
    pub terminated: bool,
    /// The step reached the time limit.
    pub truncated: bool,
}

/// The per-environment work, shared by every thread.
struct Stepper<'a> {
    task: &'a dyn Task,
    max_steps: u32,
}

impl Stepper<'_> {
    /// Starts the slot's next episode from the task's reset noise.
    fn start_episode(&self, slot: &mut Slot) {
        let mut rng = EpisodeRng::new(slot.env_seed, slot.episodes);
        let (qpos, qvel) = initial_state(self.task, slot.sim.model(), &mut rng);
        slot.sim.reset_to(&qpos, &qvel);
        slot.episodes += 1;
        slot.elapsed = 0;
        self.task.observe(&slot.sim, &mut slot.obs);
    }

    /// Gymnasium's `step`, then the TimeLimit check, then an auto-reset if the episode ended.
    fn step(&self, slot: &mut Slot, action: &[f32]) -> Outcome {
        let before = self.task.position(&slot.sim);
        let frames = self.task.common().frame_skip;
        slot.sim.simulate(action, frames);
        let after = self.task.position(&slot.sim);
        let dt = slot.sim.model().timestep() * f64::from(frames);
        let velocity = [(after[0] - before[0]) / dt, (after[1] - before[1]) / dt];
        let reward = self.task.reward(&slot.sim, action, velocity);
        let terminated = self.task.terminated(&slot.sim);
        slot.elapsed += 1;
        // As Gymnasium's TimeLimit: a time-out is reported even when the step is also terminal.
        let truncated = slot.elapsed >= self.max_steps;
        if terminated || truncated {
            self.start_episode(slot);
        } else {
            self.task.observe(&slot.sim, &mut slot.obs);
        }
        Outcome { reward, terminated, truncated }
    }
}

/// N environments of one MuJoCo task.
#[derive(Debug)]
pub struct MujocoEnv {
    name: String,
    task: Arc<dyn Task>,
    model: Arc<Model>,
    slots: Vec<Slot>,
    threads: Threads,
    max_steps: u32,
    device: Device,
    obs_dim: usize,
    actions: Vec<f32>,
    outcomes: Vec<Outcome>,
}

/// Who steps the batch.
#[derive(Debug)]
enum Threads {
    /// libtorch's intra-op threads (the default): the env steps and the policy alternate, so
    /// the env takes the threads the policy just used, awake, instead of a second pool that
    /// competes with them for the cores (`rlhost_torch_shim::parallel`).
    Torch,
    /// `num_threads` of its own: a rayon pool, or the calling thread alone for 1.
    Own { pool: Option<rayon::ThreadPool>, count: usize },
}

/// A raw pointer handed to the ranges of one `parallel_for`, each of which uses a disjoint part.
struct Shared<T>(*mut T);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Shared<T> {}
// SAFETY: only ever dereferenced on disjoint index ranges (`on_torch_threads`).
unsafe impl<T> Sync for Shared<T> {}
unsafe impl<T> Send for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so that closures capture the `Sync` wrapper, not its field).
    fn get(self) -> *mut T {
        self.0
    }
}

/// Runs `work` on the envs of each range libtorch's `parallel_for` hands out, with their action
/// rows and outcomes.
fn on_torch_threads(
    name: &str,
    slots: &mut [Slot],
    actions: &[f32],
    nu: usize,
    outcomes: &mut [Outcome],
    work: impl Fn(&mut [Slot], &[f32], &mut [Outcome]) + Sync,
) -> Result<(), PluginError> {
    let n = slots.len();
    assert!(actions.len() == n * nu && outcomes.len() == n, "one action row and one outcome per env");
    let (slots, outcomes) = (Shared(slots.as_mut_ptr()), Shared(outcomes.as_mut_ptr()));
    rlhost_torch_shim::parallel::parallel_for(n, |r| {
        // SAFETY: parallel_for's ranges are disjoint and inside 0..n, so no two threads touch the
        // same env or outcome; the borrows of the caller outlive the call.
        let (s, o) = unsafe {
            (
                std::slice::from_raw_parts_mut(slots.get().add(r.start), r.len()),
                std::slice::from_raw_parts_mut(outcomes.get().add(r.start), r.len()),
            )
        };
        work(s, &actions[r.start * nu..r.end * nu], o);
    })
    .map_err(|e| PluginError::new(ErrorKind::Env, format!("{name}: stepping on libtorch's threads: {e}")))
}

impl MujocoEnv {
    /// Creates and resets `num_envs` environments of `task`; environment i is seeded `seed + i`.
    /// Reads `num_threads` and `max_episode_steps` from `config`.
    pub fn new(
        name: &str,
        task: Arc<dyn Task>,
        model: Arc<Model>,
        num_envs: u32,
        seed: u64,
        device: Device,
        config: &ConfigReader,
    ) -> Result<Self, PluginError> {
        if num_envs == 0 {
            return Err(PluginError::new(ErrorKind::Config, format!("{name}: num_envs must be at least 1")));
        }
        check_device_available(name, device)?;
        let threads = match config.positive("num_threads")? {
            None => Threads::Torch,
            Some(n) => Threads::Own { pool: Self::own_pool(name, n as usize)?, count: n as usize },
        };
        let obs_dim = task.obs_dim(&model);
        let slots = (0..num_envs)
            .map(|i| {
                Ok(Slot {
                    sim: Sim::new(model.clone())?,
                    env_seed: seed.wrapping_add(u64::from(i)),
                    episodes: 0,
                    elapsed: 0,
                    obs: vec![0.0; obs_dim],
                })
            })
            .collect::<Result<Vec<_>, PluginError>>()?;
        let mut env = MujocoEnv {
            name: name.to_string(),
            max_steps: config.positive("max_episode_steps")?.unwrap_or(DEFAULT_MAX_EPISODE_STEPS),
            actions: vec![0.0; num_envs as usize * model.nu()],
            outcomes: vec![Outcome::default(); num_envs as usize],
            task,
            model,
            slots,
            threads,
            device,
            obs_dim,
        };
        env.reset_all()?;
        Ok(env)
    }

    /// A rayon pool of `count` threads; none for 1 (the calling thread steps).
    fn own_pool(name: &str, count: usize) -> Result<Option<rayon::ThreadPool>, PluginError> {
        if count <= 1 {
            return Ok(None);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(count)
            .thread_name(|i| format!("mujoco-{i}"))
            .build()
            .map_err(|e| PluginError::new(ErrorKind::Env, format!("{name}: cannot start {count} threads: {e}")))?;
        Ok(Some(pool))
    }

    /// The environment name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of environments.
    pub fn num_envs(&self) -> usize {
        self.slots.len()
    }

    /// Threads stepping the batch (libtorch's intra-op thread count unless `num_threads` is set).
    pub fn num_threads(&self) -> usize {
        match &self.threads {
            Threads::Torch => tch::get_num_threads().max(1) as usize,
            Threads::Own { count, .. } => *count,
        }
    }

    /// The shared model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Length of one observation.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// Physics steps per environment step.
    pub fn frame_skip(&self) -> u32 {
        self.task.common().frame_skip
    }

    /// The step limit in force.
    pub fn max_episode_steps(&self) -> u32 {
        self.max_steps
    }

    /// Environment `i`'s current observation in float64 (what Gymnasium returns).
    pub fn observation(&self, i: usize) -> &[f64] {
        &self.slots[i].obs
    }

    /// Environment `i`'s positions.
    pub fn qpos(&self, i: usize) -> &[f64] {
        self.slots[i].sim.qpos()
    }

    /// Environment `i`'s velocities.
    pub fn qvel(&self, i: usize) -> &[f64] {
        self.slots[i].sim.qvel()
    }

    /// Steps taken in environment `i`'s current episode.
    pub fn elapsed_steps(&self, i: usize) -> u32 {
        self.slots[i].elapsed
    }

    /// The outcomes of the last step, float64 rewards included.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// Restarts environment `i`'s episode from `qpos`/`qvel` (Gymnasium's `reset` followed by
    /// `set_state`), for replaying recorded episodes.
    pub fn restart_from(&mut self, i: usize, qpos: &[f64], qvel: &[f64]) -> Result<(), PluginError> {
        let (nq, nv) = (self.model.nq(), self.model.nv());
        if (qpos.len(), qvel.len()) != (nq, nv) {
            return Err(PluginError::new(
                ErrorKind::Shape,
                format!("{}: state of sizes ({}, {}), expected ({nq}, {nv})", self.name, qpos.len(), qvel.len()),
            ));
        }
        let slot = &mut self.slots[i];
        slot.sim.reset_to(qpos, qvel);
        slot.elapsed = 0;
        self.task.observe(&slot.sim, &mut slot.obs);
        Ok(())
    }

    /// Starts a new episode in every environment.
    fn reset_all(&mut self) -> Result<(), PluginError> {
        let stepper = Stepper { task: self.task.as_ref(), max_steps: self.max_steps };
        let work = |slot: &mut Slot| stepper.start_episode(slot);
        match &self.threads {
            Threads::Torch => {
                on_torch_threads(&self.name, &mut self.slots, &[], 0, &mut self.outcomes, |slots, _, _| {
                    slots.iter_mut().for_each(work)
                })?
            }
            Threads::Own { pool: None, .. } => self.slots.iter_mut().for_each(work),
            Threads::Own { pool: Some(pool), .. } => pool.install(|| self.slots.par_iter_mut().for_each(work)),
        }
        Ok(())
    }

    /// Steps every environment with its row of `self.actions`.
    fn step_all(&mut self) -> Result<(), PluginError> {
        let stepper = Stepper { task: self.task.as_ref(), max_steps: self.max_steps };
        let nu = self.model.nu();
        let work = |slots: &mut [Slot], actions: &[f32], outcomes: &mut [Outcome]| {
            for ((slot, action), outcome) in slots.iter_mut().zip(actions.chunks(nu)).zip(outcomes) {
                *outcome = stepper.step(slot, action);
            }
        };
        let (slots, actions, outcomes) = (&mut self.slots, &self.actions, &mut self.outcomes);
        match &self.threads {
            Threads::Torch => on_torch_threads(&self.name, slots, actions, nu, outcomes, work)?,
            Threads::Own { pool: None, .. } => work(slots, actions, outcomes),
            Threads::Own { pool: Some(pool), count } => {
                let chunk = slots.len().div_ceil(*count);
                pool.install(|| {
                    slots
                        .par_chunks_mut(chunk)
                        .zip(actions.par_chunks(chunk * nu).zip(outcomes.par_chunks_mut(chunk)))
                        .for_each(|(s, (a, o))| work(s, a, o))
                })
            }
        }
        Ok(())
    }

    /// Steps with a flat row-major (N, nu) action buffer, for tests and benchmarks.
    pub fn step_flat(&mut self, actions: &[f32]) -> Result<&[Outcome], PluginError> {
        if actions.len() != self.actions.len() {
            return Err(PluginError::new(
                ErrorKind::Shape,
                format!("{}: {} action values, expected {}", self.name, actions.len(), self.actions.len()),
            ));
        }
        self.actions.copy_from_slice(actions);
        self.check_finite()?;
        self.step_all()?;
        Ok(&self.outcomes)
    }

    /// Refuses a NaN or infinite action before any environment moves.
    fn check_finite(&self) -> Result<(), PluginError> {
        let nu = self.model.nu();
        match self.actions.iter().position(|a| !a.is_finite()) {
            None => Ok(()),
            Some(k) => {
                let env = k / nu;
                let row = &self.actions[env * nu..(env + 1) * nu];
                Err(PluginError::new(
                    ErrorKind::NonFinite,
                    format!("{}: non-finite action in env {env}: {row:?}; no environment was stepped", self.name),
                ))
            }
        }
    }

    /// Copies every observation, as float32, into `out` (N, obs_dim) on the env's device.
    fn write_observations(&self, out: &mut Tensor) {
        let flat: Vec<f32> = self.slots.iter().flat_map(|s| s.obs.iter().map(|&x| x as f32)).collect();
        out.copy_(&Tensor::from_slice(&flat).view([self.slots.len() as i64, self.obs_dim as i64]));
    }
}

impl NativeVecEnv for MujocoEnv {
    fn info(&self) -> EnvInfo {
        let d = self.obs_dim;
        let range = self.model.ctrl_range();
        EnvInfo {
            num_envs: self.slots.len() as u32,
            observations: vec![TensorSpec::float32(
                OBS,
                &[d as i64],
                vec![f32::NEG_INFINITY; d],
                vec![f32::INFINITY; d],
            )]
            .into(),
            action_space: ActionSpace_NE::new(ActionSpace::Box {
                low: range.iter().step_by(2).map(|&x| x as f32).collect::<Vec<_>>().into(),
                high: range.iter().skip(1).step_by(2).map(|&x| x as f32).collect::<Vec<_>>().into(),
            }),
            agents: 1,
            value_size: 1,
            max_episode_steps: self.max_steps,
            device: dl_device(self.device),
            autoreset: AutoReset_NE::new(AutoReset::SameStep),
        }
    }

    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError> {
        self.reset_all()?;
        self.write_observations(&mut observations[0]);
        Ok(())
    }

    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        let actions = actions.to_device(Device::Cpu).contiguous();
        let n = self.actions.len();
        actions.copy_data(&mut self.actions, n);
        self.check_finite()?;
        self.step_all()?;
        self.write_observations(&mut out.observations_mut()[0]);
        let rewards: Vec<f32> = self.outcomes.iter().map(|o| o.reward as f32).collect();
        let terminated: Vec<bool> = self.outcomes.iter().map(|o| o.terminated).collect();
        let truncated: Vec<bool> = self.outcomes.iter().map(|o| o.truncated).collect();
        out.rewards_mut().copy_(&Tensor::from_slice(&rewards));
        out.terminated_mut().copy_(&Tensor::from_slice(&terminated));
        out.truncated_mut().copy_(&Tensor::from_slice(&truncated));
        Ok(())
    }
}
