//! `rlhost._rlhost`: rl_games' `Runner` as a Python class, training and playing on rlhost's
//! plugins (`from rlhost import Runner`, see `python/rlhost/__init__.py`).
//!
//! `run` releases the GIL while the host trains, so Python environments (through the
//! `python_env` plugin, in this same interpreter) take it per step. An `AlgoObserver` gets rl_games'
//! calls: `before_init`, `after_init(algo)` (with a `writer` writing into rlhost's TensorBoard
//! file), `process_infos` after every step of an rl_games-registered env, and
//! `after_steps`/`after_print_stats` at the end of every epoch.
use pyo3::create_exception;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};
use rlhost::cli::{checkpoint_path, load_plugins, warn_unknown_keys, PluginArgs};
use rlhost::config;
use rlhost::observer::{EpochListener, HostObserver};
use rlhost::registry::Registry;
use rlhost::runner::{Mode, Outcome, Runner as HostRunner};
use rlhost_sdk::api::{EpochProgress, Scalar};
use rlhost_sdk::{ErrorKind, PluginError};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

create_exception!(_rlhost, RlhostError, PyRuntimeError, "An rlhost error: its one-line message.");
create_exception!(_rlhost, ConfigError, RlhostError, "A bad config key or value.");
create_exception!(
    _rlhost,
    EnvError,
    RlhostError,
    "The environment failed (a Python exception inside it, for example)."
);
create_exception!(_rlhost, CheckpointError, RlhostError, "A checkpoint could not be read or written.");
create_exception!(_rlhost, ShapeError, RlhostError, "A tensor of the wrong shape or dtype.");
create_exception!(_rlhost, DeviceError, RlhostError, "A tensor or device that is not where it should be.");
create_exception!(_rlhost, NonFiniteError, RlhostError, "Training produced NaN or infinity.");
create_exception!(_rlhost, NotFoundError, RlhostError, "An unknown builder, plugin or file.");
create_exception!(_rlhost, UnsupportedError, RlhostError, "A feature the plugins do not support.");

/// The Python exception for a host error: by the kind of the plugin error inside, else the base.
fn to_py_err(err: anyhow::Error) -> PyErr {
    let chain: Vec<String> = err.chain().map(|c| c.to_string()).collect();
    let line = chain.join(": ").lines().next().unwrap_or("failed").to_string();
    let kind = err
        .chain()
        .find_map(|c| {
            c.downcast_ref::<PluginError>()
                .or_else(|| c.downcast_ref::<rlhost::registry::PluginFailure>().map(|f| &f.error))
        })
        .map(PluginError::kind);
    match kind {
        Some(ErrorKind::Config) => ConfigError::new_err(line),
        Some(ErrorKind::Env) => EnvError::new_err(line),
        Some(ErrorKind::Checkpoint | ErrorKind::Io) => CheckpointError::new_err(line),
        Some(ErrorKind::Shape) => ShapeError::new_err(line),
        Some(ErrorKind::Device) => DeviceError::new_err(line),
        Some(ErrorKind::NonFinite) => NonFiniteError::new_err(line),
        Some(ErrorKind::NotFound) => NotFoundError::new_err(line),
        Some(ErrorKind::Unsupported) => UnsupportedError::new_err(line),
        Some(ErrorKind::Interrupted) => pyo3::exceptions::PyKeyboardInterrupt::new_err(line),
        _ => RlhostError::new_err(line),
    }
}

/// `algo.writer`: rl_games' `SummaryWriter.add_scalar`, into rlhost's TensorBoard file.
///
/// Scalars are queued and written at the end of the epoch they were added in (an observer adds
/// them from `after_print_stats`, which runs there).
#[pyclass(module = "rlhost._rlhost")]
struct Writer {
    queue: Arc<Mutex<Vec<Scalar>>>,
}

#[pymethods]
impl Writer {
    #[pyo3(signature = (tag, scalar_value, global_step=None, walltime=None))]
    fn add_scalar(
        &self,
        tag: String,
        scalar_value: &Bound<'_, PyAny>,
        global_step: Option<&Bound<'_, PyAny>>,
        walltime: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let _ = walltime;
        let value: f64 = scalar_value.call_method0("__float__")?.extract()?;
        let step: i64 = match global_step {
            Some(s) if !s.is_none() => s.call_method0("__int__")?.extract()?,
            _ => 0,
        };
        self.queue.lock().expect("writer queue").push(Scalar { tag: tag.into(), step, value });
        Ok(())
    }

    fn flush(&self) {}

    fn close(&self) {}
}

/// The stop flag of the run in progress, set by the SIGINT handler installed during `run`.
static STOP: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

/// The SIGINT handler during `run`: asks the agent to save and stop after the epoch.
#[pyfunction]
#[pyo3(signature = (*_args))]
fn _interrupt(_args: &Bound<'_, pyo3::types::PyTuple>) {
    if let Some(stop) = STOP.lock().expect("stop lock").as_ref() {
        if !stop.swap(true, Ordering::SeqCst) {
            eprintln!("interrupt: saving a checkpoint and stopping after this epoch");
        }
    }
}

/// rl_games' `Runner`.
#[pyclass(module = "rlhost._rlhost", subclass)]
struct Runner {
    observer: Option<Py<PyAny>>,
    plugin_dirs: Vec<PathBuf>,
    doc: Option<Value>,
}

/// What `run` was asked, from rl_games' argument dict.
struct RunArgs {
    mode: Mode,
    checkpoint: Option<String>,
    sigma: Option<f32>,
}

fn run_args(args: &Bound<'_, PyDict>) -> PyResult<RunArgs> {
    let flag = |key: &str| -> PyResult<bool> {
        Ok(match args.get_item(key)? {
            Some(v) => v.is_truthy()?,
            None => false,
        })
    };
    let mode = match (flag("train")?, flag("play")?) {
        (true, _) => Mode::Train,
        (false, true) => Mode::Play,
        (false, false) => return Err(ConfigError::new_err("run(args): set 'train' or 'play' to True")),
    };
    let text = |key: &str| -> PyResult<Option<String>> {
        Ok(match args.get_item(key)? {
            None => None,
            Some(v) if v.is_none() => None,
            Some(v) => Some(v.str()?.to_string()).filter(|s| !s.is_empty()),
        })
    };
    let sigma = match text("sigma")? {
        None => None,
        Some(s) => Some(
            s.parse::<f32>().map_err(|_| ConfigError::new_err(format!("run(args): sigma '{s}' is not a number")))?,
        ),
    };
    Ok(RunArgs { mode, checkpoint: text("checkpoint")?, sigma })
}

impl Runner {
    /// The agent config with the env pointed at rl_games' registry when it names a registered env.
    fn resolved_doc(&self, py: Python<'_>) -> PyResult<Value> {
        let mut doc = self.doc.clone().ok_or_else(|| ConfigError::new_err("run() before load(params)"))?;
        let helpers = py.import("rlhost._rl_games_env")?;
        let name = config::get(&doc, "params.config.env_name").and_then(Value::as_str).map(str::to_string);
        if let Some(name) = name {
            if helpers.getattr("registered")?.call1((&name,))?.is_truthy()? {
                let env_kwargs = config::get(&doc, "params.config.env_config").cloned().unwrap_or(Value::Null);
                let env_config = serde_json::json!({
                    "entry_point": "rlhost._rl_games_env:make",
                    "kwargs": {"config_name": name, "env_kwargs": env_kwargs},
                });
                let set = |doc: &mut Value, key: &str, v: Value| config::set(doc, key, v).map_err(to_py_err);
                set(&mut doc, "params.config.env_name", Value::from("python"))?;
                set(&mut doc, "params.config.env_config", env_config)?;
            }
        }
        Ok(doc)
    }

    /// rl_games' `before_init` and `after_init(algo)`; the listener that calls the per-epoch hooks.
    fn start_observer(&self, py: Python<'_>, doc: &Value) -> PyResult<Option<EpochListener>> {
        let helpers = py.import("rlhost._rl_games_env")?;
        helpers.setattr("OBSERVER", self.observer.as_ref().map(|o| o.clone_ref(py)))?;
        let Some(observer) = &self.observer else { return Ok(None) };
        let observer = observer.bind(py);
        let json = py.import("json")?;
        let py_config = json.call_method1(
            "loads",
            (doc.get("params").and_then(|p| p.get("config")).cloned().unwrap_or(Value::Null).to_string(),),
        )?;
        let name = config::get(doc, "params.config.name").and_then(Value::as_str).unwrap_or("run").to_string();
        let experiment =
            config::get(doc, "params.config.full_experiment_name").and_then(Value::as_str).unwrap_or(&name).to_string();
        if observer.hasattr("before_init")? {
            observer.call_method1("before_init", (&name, &py_config, &experiment))?;
        }
        let queue = Arc::new(Mutex::new(Vec::new()));
        let writer = Py::new(py, Writer { queue: Arc::clone(&queue) })?;
        let device = config::get(doc, "params.config.device").and_then(Value::as_str).unwrap_or("cpu").to_string();
        let torch_device = py.import("torch")?.getattr("device")?.call1((&device,))?;
        let games = config::get(doc, "params.config.games_to_track").and_then(Value::as_u64).unwrap_or(100);
        let algo = helpers.getattr("AlgoView")?.call1((writer, games, torch_device, py_config))?;
        observer.call_method1("after_init", (algo,))?;
        if observer.hasattr("after_clear_stats")? {
            observer.call_method0("after_clear_stats")?;
        }
        let observer = observer.clone().unbind();
        let listener: EpochListener = Arc::new(move |host: &HostObserver, p: &EpochProgress| {
            Python::attach(|py| {
                let o = observer.bind(py);
                let called = o
                    .call_method0("after_steps")
                    .and_then(|_| o.call_method1("after_print_stats", (p.frame, p.epoch, host.elapsed_s())));
                if let Err(e) = called {
                    eprintln!("warning: algo_observer: {}", rlhost_python_bridge::failure::describe(py, &e).line);
                }
            });
            let scalars: Vec<Scalar> = std::mem::take(&mut *queue.lock().expect("writer queue"));
            host.on_scalars(&scalars);
        });
        Ok(Some(listener))
    }
}

/// Trains or plays `doc` with plugins from `dirs`; the GIL is not held.
fn run_host(
    doc: Value,
    dirs: &[PathBuf],
    args: &RunArgs,
    listener: Option<EpochListener>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Outcome> {
    let plugin_args = PluginArgs { plugin_dirs: dirs.to_vec(), plugin_ids: Vec::new(), verbose: false };
    let set = load_plugins(&plugin_args);
    let registry = Registry::new(&set.loaded, &[]);
    warn_unknown_keys(Path::new("agent config"), &doc, &registry);
    let checkpoint = match &args.checkpoint {
        Some(sel) => Some(checkpoint_path(sel, &doc)?),
        None => None,
    };
    let cwd = std::env::current_dir().ok();
    let mut runner = HostRunner::load(registry, doc, stop)?.with_config_dir(cwd);
    if let Some(l) = listener {
        runner = runner.with_epoch_listener(l);
    }
    runner.run(args.mode, checkpoint.as_deref(), args.sigma)
}

#[pymethods]
impl Runner {
    #[new]
    #[pyo3(signature = (algo_observer=None, plugin_dirs=None))]
    fn new(algo_observer: Option<Py<PyAny>>, plugin_dirs: Option<Vec<PathBuf>>) -> Self {
        Runner {
            observer: algo_observer.filter(|o| Python::attach(|py| !o.is_none(py))),
            plugin_dirs: plugin_dirs.unwrap_or_default(),
            doc: None,
        }
    }

    /// rl_games' `load(yaml_config)`: the whole agent config, `params` at the top.
    fn load(&mut self, py: Python<'_>, params: &Bound<'_, PyAny>) -> PyResult<()> {
        let plain = py.import("rlhost._rl_games_env")?.getattr("to_json")?;
        let text: String = plain.call1((params,))?.extract()?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| ConfigError::new_err(format!("load(params): {e}")))?;
        if doc.get("params").is_none_or(|p| !p.is_object()) {
            return Err(ConfigError::new_err("load(params): expected the agent config with a 'params' map at the top"));
        }
        self.doc = Some(doc);
        Ok(())
    }

    /// rl_games' `create_player()`: a player to `restore` and step by hand.
    fn create_player(&self, py: Python<'_>) -> PyResult<NativePlayer> {
        Ok(NativePlayer { doc: self.resolved_doc(py)?, dirs: self.plugin_dirs.clone(), player: None })
    }

    /// rl_games' `reset()` (nothing to reset between runs).
    fn reset(&self) {}

    /// rl_games' `run(args)`: `train` or `play`, with `checkpoint` and `sigma`. Returns a dict
    /// describing the outcome; Ctrl-C saves a checkpoint, stops and raises KeyboardInterrupt.
    fn run<'py>(&self, py: Python<'py>, args: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
        let args = run_args(args)?;
        let doc = self.resolved_doc(py)?;
        let listener = if args.mode == Mode::Train { self.start_observer(py, &doc)? } else { None };
        let stop = Arc::new(AtomicBool::new(false));
        *STOP.lock().expect("stop lock") = Some(Arc::clone(&stop));
        let signal = py.import("signal")?;
        let sigint = signal.getattr("SIGINT")?;
        let handler = wrap_pyfunction!(_interrupt, py)?;
        let previous = signal.call_method1("signal", (&sigint, handler)).ok();
        let dirs = self.plugin_dirs.clone();
        let stop_for_run = Arc::clone(&stop);
        let result = py.detach(move || run_host(doc, &dirs, &args, listener, stop_for_run));
        if let Some(previous) = previous {
            let _ = signal.call_method1("signal", (&sigint, previous));
        }
        *STOP.lock().expect("stop lock") = None;
        let _ = py.import("rlhost._rl_games_env").and_then(|h| h.setattr("OBSERVER", py.None()));
        let outcome = result.map_err(to_py_err)?;
        let out = PyDict::new(py);
        match outcome {
            Outcome::Trained { summary, run_dir, .. } => {
                out.set_item("epoch", summary.epoch)?;
                out.set_item("frame", summary.frame)?;
                out.set_item("best_reward", summary.best_reward)?;
                out.set_item("interrupted", summary.interrupted)?;
                out.set_item("run_dir", run_dir.display().to_string())?;
                if summary.interrupted && stop.load(Ordering::SeqCst) {
                    return Err(pyo3::exceptions::PyKeyboardInterrupt::new_err(format!(
                        "training interrupted at epoch {}; checkpoint saved in {}",
                        summary.epoch,
                        run_dir.display()
                    )));
                }
            }
            Outcome::Played(stats) => {
                out.set_item("games", stats.games)?;
                out.set_item("mean_reward", stats.mean_reward)?;
                out.set_item("mean_steps", stats.mean_steps)?;
            }
        }
        Ok(out)
    }
}

/// rl_games' player for per-step use (Isaac Lab's play.py): `restore`, then `get_action`.
#[pyclass(module = "rlhost._rlhost", unsendable)]
struct NativePlayer {
    doc: Value,
    dirs: Vec<PathBuf>,
    /// The plugin's player and the number of action dimensions, after `restore`.
    player: Option<(rlhost_sdk::api::PlayerBox, i64, rlhost_sdk::tch::Device)>,
}

/// The player for `doc` restored from `checkpoint`, and its env's action dimension.
fn detached_player(
    doc: Value,
    dirs: &[PathBuf],
    checkpoint: &Path,
) -> anyhow::Result<(rlhost_sdk::api::PlayerBox, i64, rlhost_sdk::tch::Device)> {
    let plugin_args = PluginArgs { plugin_dirs: dirs.to_vec(), plugin_ids: Vec::new(), verbose: false };
    let set = load_plugins(&plugin_args);
    let registry = Registry::new(&set.loaded, &[]);
    let runner = HostRunner::load(registry, doc, Arc::new(AtomicBool::new(false)))?
        .with_config_dir(std::env::current_dir().ok());
    // The env tells the action shape (an Isaac Lab env registered with rl_games is the script's own).
    let action_dim = runner.create_raw_env(Mode::Play, None)?.info().action_dim() as i64;
    let player = runner.create_detached_player(checkpoint)?;
    // Plugin libraries are never unloaded, so the player outlives the registry that built it.
    Ok((player, action_dim, runner.device()))
}

#[pymethods]
impl NativePlayer {
    /// Loads the checkpoint (rl_games' `player.restore(path)`).
    fn restore(&mut self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let (doc, dirs) = (self.doc.clone(), self.dirs.clone());
        self.player = Some(py.detach(move || detached_player(doc, &dirs, &path)).map_err(to_py_err)?);
        Ok(())
    }

    /// Environment-unit actions for the policy observations `obs` (a torch tensor on the device).
    #[pyo3(signature = (obs, is_deterministic=true))]
    fn get_action<'py>(
        &mut self,
        py: Python<'py>,
        obs: &Bound<'py, PyAny>,
        is_deterministic: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Some((player, action_dim, device)) = self.player.as_mut() else {
            return Err(RlhostError::new_err("get_action() before restore(checkpoint)"));
        };
        let obs = rlhost_python_bridge::tensor_from_py(obs)?;
        let obs = if obs.dim() == 1 { obs.unsqueeze(0) } else { obs };
        let actions =
            rlhost_sdk::tch::Tensor::zeros([obs.size()[0], *action_dim], (rlhost_sdk::tch::Kind::Float, *device));
        let (obs_parts, action_parts) = (
            rlhost_sdk::tensor::ViewParts::of(&obs).map_err(|e| to_py_err(e.into()))?,
            rlhost_sdk::tensor::ViewParts::of(&actions).map_err(|e| to_py_err(e.into()))?,
        );
        player
            .act(obs_parts.view(), action_parts.view(), is_deterministic)
            .into_result()
            .map_err(|e| to_py_err(e.into()))?;
        let from_dlpack = py.import("torch")?.getattr("from_dlpack")?;
        rlhost_python_bridge::tensor_to_torch(&from_dlpack, &actions)
    }
}

/// The workspace's `rlhost` binary (a development install's plugin scanner).
#[pyfunction]
fn _dev_binary() -> &'static str {
    env!("RLHOST_DEV_BIN")
}

/// The repository's `plugins/` folder (a development install's default plugins).
#[pyfunction]
fn _dev_plugin_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins").display().to_string()
}

#[pymodule]
fn _rlhost(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The binary's heap policy (host/src/heap.rs), from the import on: the training that follows
    // allocates its tensors after it.
    rlhost::heap::keep_freed_memory();
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Runner>()?;
    m.add_class::<Writer>()?;
    m.add_class::<NativePlayer>()?;
    m.add_function(wrap_pyfunction!(_dev_binary, m)?)?;
    m.add_function(wrap_pyfunction!(_dev_plugin_dir, m)?)?;
    for (name, class) in [
        ("RlhostError", py.get_type::<RlhostError>()),
        ("ConfigError", py.get_type::<ConfigError>()),
        ("EnvError", py.get_type::<EnvError>()),
        ("CheckpointError", py.get_type::<CheckpointError>()),
        ("ShapeError", py.get_type::<ShapeError>()),
        ("DeviceError", py.get_type::<DeviceError>()),
        ("NonFiniteError", py.get_type::<NonFiniteError>()),
        ("NotFoundError", py.get_type::<NotFoundError>()),
        ("UnsupportedError", py.get_type::<UnsupportedError>()),
    ] {
        m.add(name, class)?;
    }
    Ok(())
}
