//! The learning bar: the shipped Pendulum config (`pendulum_ppo.yaml`) on 256 batched
//! `Pendulum-v1` envs with staggered episode starts.
//!
//! ```text
//! cargo run --release -p rlhost-plugin-a2c-continuous --example pendulum_learning -- [--seeds 42,43,44] [--epochs 300] [--device cpu|cuda] [--threads 2]
//! ```
//! Prints, per seed: frames until the mean raw return of the last 100 complete episodes first
//! reaches −200 (each env's first, staggered episode excluded; rl_games' approximate meter, which
//! counts those partial episodes, is shown too), the return after the last epoch, total FPS, and the split of epoch time between env
//! stepping, policy inference, GAE and the update.
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RSlice, RStr, RString};
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::api::EnvInfo;
use rlhost_sdk::api::{AlgoArgs, DlDevice, EnvArgs, EpochProgress, Observer, Observer_TO, Scalar};
use rlhost_sdk::{vec_env_box, EnvHandle, NativeAgent, NativeVecEnv, PluginError, StepBuffers};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tch::{Kind, Tensor};

/// Exact episode bookkeeping around the real env: the last 100 returns of complete episodes
/// (each env's first, staggered episode is excluded because it starts part-way).
struct EpisodeLog {
    returns: Vec<f64>,
    seen_first_done: Vec<bool>,
    window: VecDeque<f64>,
}

impl EpisodeLog {
    fn mean(&self) -> Option<f64> {
        (self.window.len() == 100).then(|| self.window.iter().sum::<f64>() / 100.0)
    }
}

struct Logged {
    inner: EnvHandle,
    log: Arc<Mutex<EpisodeLog>>,
}

impl NativeVecEnv for Logged {
    fn info(&self) -> EnvInfo {
        self.inner.info().clone()
    }
    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError> {
        self.inner.reset(observations)
    }
    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        self.inner.step(actions, out)?;
        let r = Vec::<f32>::try_from(&out.rewards().to_kind(Kind::Float)).unwrap();
        let d = Vec::<bool>::try_from(&out.dones()).unwrap();
        let mut log = self.log.lock().unwrap();
        for i in 0..r.len() {
            log.returns[i] += r[i] as f64;
            if d[i] {
                if log.seen_first_done[i] {
                    let ret = log.returns[i];
                    log.window.push_back(ret);
                    if log.window.len() > 100 {
                        log.window.pop_front();
                    }
                }
                log.seen_first_done[i] = true;
                log.returns[i] = 0.0;
            }
        }
        Ok(())
    }
    fn set_train_info(&mut self, frame: u64) -> Result<(), PluginError> {
        self.inner.set_train_info(frame)
    }
}

#[derive(Default)]
struct Progress {
    /// First frame at which the exact 100-episode mean reached −200.
    first_frame_at_target: Option<u64>,
    /// The same with rl_games' approximate meter (includes the partial first episodes).
    first_frame_meter: Option<u64>,
    last: Option<EpochProgress>,
    last_exact: Option<f64>,
}

#[derive(Clone)]
struct Watcher(Arc<Mutex<Progress>>, Arc<Mutex<EpisodeLog>>);

impl Observer for Watcher {
    fn scalars(&self, _values: RSlice<'_, Scalar>) {}
    fn message(&self, _text: RStr<'_>) {}
    fn epoch(&self, p: EpochProgress) {
        let exact = self.1.lock().unwrap().mean();
        let mut s = self.0.lock().unwrap();
        if s.first_frame_at_target.is_none() && exact.is_some_and(|m| m >= -200.0) {
            s.first_frame_at_target = Some(p.frame);
        }
        if s.first_frame_meter.is_none() && p.mean_reward >= -200.0 {
            s.first_frame_meter = Some(p.frame);
        }
        s.last_exact = exact;
        s.last = Some(p);
    }
    fn should_stop(&self) -> bool {
        false
    }
}

/// The shipped Pendulum config (`configs/pendulum_ppo.json`) with this run's seed and epochs.
fn params(seed: u64, epochs: u64) -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/pendulum_ppo.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("the shipped config is valid JSON");
    let mut params = doc["params"].clone();
    params["seed"] = json!(seed);
    params["config"]["max_epochs"] = json!(epochs);
    params["config"]["print_stats"] = json!(false);
    params
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let seeds: Vec<u64> =
        arg("--seeds").unwrap_or_else(|| "42".into()).split(',').map(|s| s.trim().parse().unwrap()).collect();
    let epochs: u64 = arg("--epochs").map(|s| s.parse().unwrap()).unwrap_or(300);
    let device = match arg("--device").as_deref() {
        Some("cuda") => DlDevice::cuda(0),
        _ => DlDevice::CPU,
    };
    let threads: i32 = arg("--threads").map(|s| s.parse().unwrap()).unwrap_or(2);
    tch::set_num_threads(threads);
    println!("device {device}, torch threads {}, {epochs} epochs", tch::get_num_threads());
    for seed in seeds {
        let p = params(seed, epochs);
        tch::manual_seed(seed as i64);
        let env = rlhost_classic_control::build_env(
            "Pendulum-v1",
            &EnvArgs {
                config_json: RString::from(p["config"]["env_config"].to_string()),
                num_envs: 256,
                seed,
                device,
                config_dir: Default::default(),
                verbose: false,
            },
        )
        .expect("Pendulum-v1");
        let log = Arc::new(Mutex::new(EpisodeLog {
            returns: vec![0.0; 256],
            seen_first_done: vec![false; 256],
            window: VecDeque::new(),
        }));
        let env = vec_env_box(Logged { inner: EnvHandle::new(env).unwrap(), log: log.clone() }).unwrap();
        let progress = Arc::new(Mutex::new(Progress::default()));
        let run_dir = tempfile::tempdir().unwrap();
        let mut agent = PpoAgent::new(AlgoArgs {
            params_json: RString::from(p.to_string()),
            env,
            observer: Observer_TO::from_value(Watcher(progress.clone(), log.clone()), TD_Opaque),
            run_dir: RString::from(run_dir.path().to_string_lossy().as_ref()),
            device,
            seed,
        })
        .expect("agent");
        let start = Instant::now();
        let summary = agent.train().expect("training");
        let wall = start.elapsed().as_secs_f64();
        let s = progress.lock().unwrap();
        let last = s.last.unwrap();
        let t = agent.phase_times();
        let pct = |x: f64| 100.0 * x / t.total;
        println!(
            "seed {seed}: frames to -200: {} (rl_games meter: {}) | return after {} epochs: {:.1} (meter {:.1}) | best {:.1} | total FPS {:.0} ({:.1} s) | env step {:.1}% inference {:.1}% GAE {:.1}% update {:.1}% other {:.1}%",
            s.first_frame_at_target.map(|f| f.to_string()).unwrap_or_else(|| "never".into()),
            s.first_frame_meter.map(|f| f.to_string()).unwrap_or_else(|| "never".into()),
            summary.epoch,
            s.last_exact.unwrap_or(f64::NAN),
            last.mean_reward,
            summary.best_reward,
            summary.frame as f64 / wall,
            wall,
            pct(t.env_step),
            pct(t.inference),
            pct(t.gae),
            pct(t.update),
            pct(t.total - t.env_step - t.inference - t.gae - t.update),
        );
    }
}
