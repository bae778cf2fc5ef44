//! The Runner: rl_games' `load(config)` then `run(train | play, checkpoint, sigma)`.
use crate::config;
use crate::observer::HostObserver;
use crate::registry::Registry;
use crate::run_dir::RunDir;
use crate::wrapper::{HostEnv, WrapperOptions};
use anyhow::{anyhow, bail, Result};
use rlhost_plugin_api::abi_stable::std_types::{RNone, RSome, RStr};
use rlhost_plugin_api::{
    AlgoArgs, EnvArgs, PlayStats, PlayerArgs, SigmaOverride, SigmaOverride_NE, TrainSummary, VecEnvBox,
};
use rlhost_sdk::tensor::{check_device_available, device_name, dl_device, parse_device};
use rlhost_sdk::EnvHandle;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tch::Device;

/// Train or play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `agent.train()`.
    Train,
    /// `player.run()`.
    Play,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Training finished (or was interrupted); the run folder, every scalar reported and the
    /// agent's cumulative phase times (seconds by phase, plus `epochs`) are given.
    Trained {
        summary: TrainSummary,
        run_dir: PathBuf,
        scalars: BTreeMap<String, Vec<f64>>,
        phase_times: BTreeMap<String, f64>,
    },
    /// Playing finished.
    Played(PlayStats),
}

/// Multi-GPU placement read from torchrun's variables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rank {
    /// `LOCAL_RANK`.
    pub local: u64,
    /// `RANK`.
    pub global: u64,
    /// `WORLD_SIZE`.
    pub world_size: u64,
    /// `MASTER_ADDR` and `MASTER_PORT`: rank 0's rendezvous address (required with more than one rank).
    pub master: Option<(String, u16)>,
    /// `TORCHELASTIC_USE_AGENT_STORE=True`: torchrun's agent serves the store at that address.
    pub agent_store: bool,
    /// `TORCHELASTIC_RESTART_COUNT`: which attempt of the group this is.
    pub restart_count: u64,
}

impl Rank {
    /// Whether this process writes the run folder, TensorBoard and checkpoints (rl_games: rank 0).
    pub fn is_leader(&self) -> bool {
        self.global == 0
    }

    /// The placement the algorithm joins its process group with (`params.config.process_group`).
    fn process_group(&self) -> Option<Value> {
        let (addr, port) = self.master.as_ref().filter(|_| self.world_size > 1)?;
        Some(serde_json::json!({
            "rank": self.global,
            "local_rank": self.local,
            "world_size": self.world_size,
            "master_addr": addr,
            "master_port": port,
            "agent_store": self.agent_store,
            "restart_count": self.restart_count,
        }))
    }
}

/// The host-resolved key carrying the rank placement to the algorithm (never set by users).
pub const PROCESS_GROUP_KEY: &str = "params.config.process_group";

/// A loaded config, ready to run.
pub struct Runner<'p> {
    registry: Registry<'p>,
    doc: Value,
    seed: u64,
    device: Device,
    rank: Option<Rank>,
    stop: Arc<AtomicBool>,
    show_progress: bool,
    config_dir: Option<PathBuf>,
    verbose: bool,
    epoch_listener: Option<crate::observer::EpochListener>,
}

impl<'p> Runner<'p> {
    /// rl_games' `load_config`: seed, multi-GPU rank, torch threads, device.
    pub fn load(registry: Registry<'p>, mut doc: Value, stop: Arc<AtomicBool>) -> Result<Self> {
        let multi_gpu = config::opt_bool(&doc, "params.config.multi_gpu")?.unwrap_or(false);
        if config::get(&doc, PROCESS_GROUP_KEY).is_some() {
            bail!("config key {PROCESS_GROUP_KEY} is set by rlhost from torchrun's RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; remove it from the config");
        }
        let rank = if multi_gpu { Some(read_rank()?) } else { None };
        if let Some(r) = &rank {
            println!("global_rank = {} local_rank = {} world_size = {}", r.global, r.local, r.world_size);
        }
        let seed = match config::opt_i64(&doc, "params.seed")? {
            Some(s) if s >= 0 => s as u64,
            Some(s) => bail!("config key params.seed: expected a non-negative integer, got {s}"),
            None => {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
            }
        };
        // The rank offset is applied once, to the seed everything else derives from.
        let seed = seed + rank.as_ref().map_or(0, |r| r.global);
        println!("self.seed = {seed}");
        config::set(&mut doc, "params.seed", Value::from(seed))?;
        rlhost_sdk::tensor::seed_libtorch(seed);
        for key in ["params.env.clip_observations", "params.env.clip_actions"] {
            positive_finite(&doc, key)?;
        }
        set_threads(&doc, rank.as_ref().map_or(1, |r| r.world_size.max(1)))?;
        resolve_num_actors(&mut doc)?;
        let device = resolve_device(&doc, rank.as_ref())?;
        config::set(&mut doc, "params.config.device", Value::from(device_name(device)))?;
        Ok(Runner {
            registry,
            doc,
            seed,
            device,
            rank,
            stop,
            show_progress: true,
            config_dir: None,
            verbose: false,
            epoch_listener: None,
        })
    }

    /// Tells environments where the config file lives (Python envs import modules next to it).
    pub fn with_config_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.config_dir = dir;
        self
    }

    /// Asks plugins for long error reports (`--verbose`).
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// Calls `listener` at the end of every training epoch.
    pub fn with_epoch_listener(mut self, listener: crate::observer::EpochListener) -> Self {
        self.epoch_listener = Some(listener);
        self
    }

    /// Turns the progress bar off (tests, benchmarks).
    pub fn without_progress(mut self) -> Self {
        self.show_progress = false;
        self
    }

    /// The resolved config.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// rl_games' `run`: train or play, with an optional checkpoint and sigma override.
    pub fn run(&self, mode: Mode, checkpoint: Option<&Path>, sigma: Option<f32>) -> Result<Outcome> {
        match mode {
            Mode::Train => self.run_train(checkpoint, sigma),
            Mode::Play => self.run_play(checkpoint, sigma),
        }
    }

    fn run_train(&self, checkpoint: Option<&Path>, sigma: Option<f32>) -> Result<Outcome> {
        println!("Started to train");
        let name = config::require_str(&self.doc, "params.config.name")?;
        let train_dir = config::get(&self.doc, "params.config.train_dir").and_then(Value::as_str).unwrap_or("runs");
        let full_name = config::get(&self.doc, "params.config.full_experiment_name").and_then(Value::as_str);
        let experiment = RunDir::experiment_name(name, full_name);
        let mut observer = None;
        if let Some(rank) = self.rank.as_ref().filter(|r| !r.is_leader()) {
            // rl_games: only rank 0 writes (run folder, TensorBoard, checkpoints). An algorithm
            // that writes anyway gets a scratch folder, removed when training ends.
            let scratch = std::env::temp_dir().join(format!("rlhost-rank{}-{}", rank.global, std::process::id()));
            let result = RunDir::create(&scratch, &experiment)
                .and_then(|dir| self.train_in(None, &dir.root, &mut observer, checkpoint, sigma));
            let _ = std::fs::remove_dir_all(&scratch);
            return result;
        }
        let run_dir = RunDir::open(Path::new(train_dir), &experiment, checkpoint.is_some())?;
        if let Some(note) = run_dir.remove_stale_temp_files() {
            eprintln!("note: {note}");
        }
        let result = self.train_in(Some(&run_dir), &run_dir.root, &mut observer, checkpoint, sigma);
        if result.is_err() && !observer.is_some_and(|o: Arc<HostObserver>| o.wrote_data()) {
            run_dir.remove_if_unused();
        }
        result
    }

    /// Trains in `run_dir` (at `root`; `None` on ranks other than 0: no parameters, TensorBoard or
    /// progress there), leaving the observer in `slot` so a failure can tell what was written.
    fn train_in(
        &self,
        run_dir: Option<&RunDir>,
        root: &Path,
        slot: &mut Option<Arc<HostObserver>>,
        checkpoint: Option<&Path>,
        sigma: Option<f32>,
    ) -> Result<Outcome> {
        if let Some(run_dir) = run_dir {
            run_dir.write_params(&self.doc)?;
        }
        let summaries = run_dir.map(RunDir::summaries);
        let show_progress = self.show_progress && run_dir.is_some();
        let observer = HostObserver::new(summaries.as_deref(), Arc::clone(&self.stop), show_progress)?;
        *slot = Some(Arc::clone(&observer));
        if let Some(listener) = &self.epoch_listener {
            observer.set_epoch_listener(Arc::clone(listener));
        }
        let env = self.create_env(Mode::Train, &observer)?;
        let algo = config::require_str(&self.doc, "params.algo.name")?;
        let args = AlgoArgs {
            params_json: self.params_json()?.into(),
            env,
            observer: observer.handle(),
            run_dir: root.to_string_lossy().into_owned().into(),
            device: dl_device(self.device),
            seed: self.seed,
        };
        let mut agent = self.registry.create_algo(algo, args)?;
        if let Some(path) = checkpoint {
            agent.restore(RStr::from(path.to_string_lossy().as_ref())).into_result().map_err(anyhow::Error::new)?;
        }
        if let Some(s) = sigma {
            report_sigma(agent.set_sigma(s).into_result().map_err(anyhow::Error::new)?, &observer);
        }
        let result = agent.train().into_result().map_err(anyhow::Error::new);
        let phase_times = agent.phase_times().into_iter().map(|p| (p.phase.into_string(), p.seconds)).collect();
        // The agent owns the wrapped env: dropping it writes the last epoch's episodes and extras.
        drop(agent);
        observer.finish();
        let summary = result?;
        Ok(Outcome::Trained { summary, run_dir: root.to_path_buf(), scalars: observer.scalar_series(), phase_times })
    }

    fn run_play(&self, checkpoint: Option<&Path>, sigma: Option<f32>) -> Result<Outcome> {
        println!("Started to play");
        let observer = HostObserver::new(None, Arc::clone(&self.stop), false)?;
        let env = self.create_env(Mode::Play, &observer)?;
        let algo = config::require_str(&self.doc, "params.algo.name")?;
        let args = PlayerArgs {
            params_json: self.params_json()?.into(),
            env: RSome(env),
            observer: observer.handle(),
            device: dl_device(self.device),
            seed: self.seed,
        };
        let mut player = self.registry.create_player(algo, args)?;
        match checkpoint {
            Some(path) => {
                player.restore(RStr::from(path.to_string_lossy().as_ref())).into_result().map_err(anyhow::Error::new)?
            }
            None => observer.print("warning: no --checkpoint given; playing with an untrained policy"),
        }
        if let Some(s) = sigma {
            report_sigma(player.set_sigma(s).into_result().map_err(anyhow::Error::new)?, &observer);
        }
        let stats = player.run().into_result().map_err(anyhow::Error::new);
        drop(player);
        observer.finish();
        let stats = stats?;
        Ok(Outcome::Played(stats))
    }

    /// A player without an environment, for hosts that drive `act` themselves.
    pub fn create_detached_player(&self, checkpoint: &Path) -> Result<rlhost_plugin_api::PlayerBox> {
        let observer = HostObserver::new(None, Arc::clone(&self.stop), false)?;
        let algo = config::require_str(&self.doc, "params.algo.name")?;
        let args = PlayerArgs {
            params_json: self.params_json()?.into(),
            env: RNone,
            observer: observer.handle(),
            device: dl_device(self.device),
            seed: self.seed,
        };
        let mut player = self.registry.create_player(algo, args)?;
        player.restore(RStr::from(checkpoint.to_string_lossy().as_ref())).into_result().map_err(anyhow::Error::new)?;
        Ok(player)
    }

    /// The `params` block for plugins, with the rank placement (`config.process_group`) when
    /// training across processes.
    fn params_json(&self) -> Result<String> {
        let mut params = self.doc.clone();
        if let Some(group) = self.rank.as_ref().and_then(Rank::process_group) {
            config::set(&mut params, PROCESS_GROUP_KEY, group)?;
        }
        Ok(serde_json::to_string(&params["params"])?)
    }

    /// Whether this process writes the run folder, TensorBoard and checkpoints (rank 0, or a
    /// single-process run).
    pub fn is_leader(&self) -> bool {
        self.rank.as_ref().is_none_or(Rank::is_leader)
    }

    /// Builds the environment named by `config.env_name`, wrapped for the agent's device.
    fn create_env(&self, mode: Mode, observer: &Arc<HostObserver>) -> Result<VecEnvBox> {
        let handle = self.create_raw_env(mode, None)?;
        let options = WrapperOptions {
            clip_observations: positive_finite(&self.doc, "params.env.clip_observations")?,
            clip_actions: positive_finite(&self.doc, "params.env.clip_actions")?,
        };
        let env_name = config::require_str(&self.doc, "params.config.env_name")?;
        Ok(HostEnv::new(handle, options, self.device, Arc::clone(observer))
            .map_err(|e| anyhow!("env '{env_name}': {e}"))?
            .boxed())
    }

    /// Builds the configured environment without the wrapper, optionally with another count.
    ///
    /// As rl_games' player does, play mode takes `config.player.env_config` when it is given.
    pub fn create_raw_env(&self, mode: Mode, num_envs: Option<u32>) -> Result<EnvHandle> {
        let env_name = config::require_str(&self.doc, "params.config.env_name")?;
        let num_actors = config::opt_i64(&self.doc, "params.config.num_actors")?
            .ok_or_else(|| anyhow!("config key params.config.num_actors is missing"))?;
        if num_actors < 1 {
            bail!("config key params.config.num_actors: expected a positive number of environments, got {num_actors}");
        }
        let env_config_path = match mode {
            Mode::Play if config::get(&self.doc, "params.config.player.env_config").is_some() => {
                "params.config.player.env_config"
            }
            _ => "params.config.env_config",
        };
        let mut env_config =
            config::get(&self.doc, env_config_path).cloned().unwrap_or(Value::Object(Default::default()));
        let env_seed = match env_config.as_object_mut().and_then(|m| m.remove("seed")) {
            Some(v) => {
                v.as_u64()
                    .ok_or_else(|| anyhow!("config key {env_config_path}.seed: expected a non-negative integer"))?
                    + self.rank.as_ref().map_or(0, |r| r.global)
            }
            None => self.seed,
        };
        let env_device = match env_config.as_object_mut().and_then(|m| m.remove("device")) {
            Some(Value::String(d)) => {
                parse_device(&d).map_err(|e| anyhow!("config key {env_config_path}.device: {e}"))?
            }
            Some(other) => bail!("config key {env_config_path}.device: expected a string, got {other}"),
            None => self.device,
        };
        let args = EnvArgs {
            config_json: serde_json::to_string(&env_config)?.into(),
            num_envs: match num_envs {
                Some(n) => n,
                None => u32::try_from(num_actors).map_err(|_| anyhow!("num_actors {num_actors} is too large"))?,
            },
            seed: env_seed,
            device: dl_device(env_device),
            config_dir: self.config_dir.as_ref().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default().into(),
            verbose: self.verbose,
        };
        let env = self.registry.create_env(env_name, args)?;
        EnvHandle::new(env).map_err(|e| anyhow!("env '{env_name}': {e}"))
    }

    /// The training device.
    pub fn device(&self) -> Device {
        self.device
    }
}

/// Isaac Lab's `num_actors: -1`: take the environment's count, `env_config.num_envs`.
fn resolve_num_actors(doc: &mut Value) -> Result<()> {
    if config::opt_i64(doc, "params.config.num_actors")? != Some(-1) {
        return Ok(());
    }
    let count = doc
        .pointer_mut("/params/config/env_config")
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove("num_envs"))
        .ok_or_else(|| {
            anyhow!("config key params.config.num_actors is -1 (take the environment's count) but params.config.env_config.num_envs is not set")
        })?;
    let count = count.as_u64().filter(|&n| n > 0).ok_or_else(|| {
        anyhow!("config key params.config.env_config.num_envs: expected a positive integer, got {count}")
    })?;
    config::set(doc, "params.config.num_actors", Value::from(count))
}

fn report_sigma(outcome: SigmaOverride_NE, observer: &HostObserver) {
    if outcome.as_enum().ok() == Some(&SigmaOverride::NotFixed) {
        observer.print("Cannot set new sigma because fixed_sigma is False");
    }
}

/// torchrun's variables (rl_games' defaults: rank 0 of 1); with more than one rank, the rendezvous
/// address must be set and the rank inside the world.
fn read_rank() -> Result<Rank> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let number = |k: &str, default: u64| -> Result<u64> {
        match var(k) {
            None => Ok(default),
            Some(v) => {
                v.trim().parse().map_err(|_| anyhow!("environment variable {k}={v:?}: expected a non-negative integer"))
            }
        }
    };
    let (local, global, world_size) = (number("LOCAL_RANK", 0)?, number("RANK", 0)?, number("WORLD_SIZE", 1)?);
    if world_size == 0 || global >= world_size {
        bail!("environment variables RANK={global} and WORLD_SIZE={world_size}: the rank must be below the world size");
    }
    let master = match (var("MASTER_ADDR"), var("MASTER_PORT")) {
        (Some(addr), Some(port)) => Some((
            addr,
            port.trim().parse().map_err(|_| anyhow!("environment variable MASTER_PORT={port:?}: expected a TCP port"))?,
        )),
        _ if world_size > 1 => bail!(
            "params.config.multi_gpu with WORLD_SIZE={world_size} needs MASTER_ADDR and MASTER_PORT (launch with torchrun)"
        ),
        _ => None,
    };
    let agent_store = var("TORCHELASTIC_USE_AGENT_STORE").as_deref() == Some("True");
    let restart_count = number("TORCHELASTIC_RESTART_COUNT", 0)?;
    Ok(Rank { local, global, world_size, master, agent_store, restart_count })
}

/// The most intra-op threads `torch_threads` may ask for, whatever the core count.
pub const MAX_TORCH_THREADS: u64 = 1024;

/// An optional number at `key` that must be positive and finite (Isaac Lab's clip values).
fn positive_finite(doc: &Value, key: &str) -> Result<Option<f64>> {
    let value = match config::get(doc, key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64().filter(|v| v.is_finite() && *v > 0.0),
        Some(_) => None,
    };
    match value {
        Some(v) => Ok(Some(v)),
        None => bail!(
            "config key {key}: expected a positive finite number (0 < x < inf), got {}",
            config::get(doc, key).map(|v| v.to_string()).unwrap_or_default()
        ),
    }
}

/// rl_games' `torch_threads`: `auto` = max(1, min(4, cores / world_size)), 0 = library default.
fn set_threads(doc: &Value, world_size: u64) -> Result<()> {
    let threads = match config::get(doc, "params.torch_threads") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "auto" => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .ok_or_else(|| anyhow!("config key params.torch_threads: expected an integer or 'auto', got {n}"))?,
        ),
        Some(other) => {
            bail!("config key params.torch_threads: expected an integer or 'auto', got {}", config::type_name(other))
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let limit = (4 * cores).clamp(4, MAX_TORCH_THREADS) as i64;
    let threads = match threads {
        Some(0) => return Ok(()),
        Some(n) if n > limit => bail!(
            "config key params.torch_threads: {n} is more than this machine can use (at most {limit}: 4 x {cores} cores, never over {MAX_TORCH_THREADS}; 0 keeps the library default)"
        ),
        Some(n) if n > 0 => n,
        Some(n) => bail!("config key params.torch_threads: expected a non-negative integer, got {n}"),
        None => (cores / world_size).clamp(1, 4) as i64,
    };
    tch::set_num_threads(threads as i32);
    Ok(())
}

/// `config.device`, defaulting to `cuda:<LOCAL_RANK>` when CUDA is there and to the CPU otherwise.
fn resolve_device(doc: &Value, rank: Option<&Rank>) -> Result<Device> {
    let device = match config::get(doc, "params.config.device") {
        Some(Value::String(text)) => parse_device(text).map_err(|e| anyhow!("config key params.config.device: {e}"))?,
        None | Some(Value::Null) if tch::Cuda::is_available() => Device::Cuda(rank.map_or(0, |r| r.local as usize)),
        None | Some(Value::Null) => Device::Cpu,
        Some(other) => bail!(
            "config key params.config.device: expected a string such as 'cpu', 'cuda' or 'cuda:0', got {} {other}",
            config::type_name(other)
        ),
    };
    check_device_available("config key params.config.device", device).map_err(anyhow::Error::new)?;
    println!("current training device: {}", device_name(device));
    Ok(device)
}
