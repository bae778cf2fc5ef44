//! Shared test helpers: a tiny deterministic environment, a recording observer, configs.
#![allow(dead_code)]
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RSlice, RStr, RString, RVec};
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::api::{
    ActionSpace, ActionSpace_NE, AlgoArgs, AutoReset, AutoReset_NE, DlDevice, EnvInfo, EpochProgress, Observer,
    ObserverBox, Observer_TO, Scalar, TensorSpec,
};
use rlhost_sdk::{vec_env_box, ErrorKind, NativeVecEnv, PluginError, StepBuffers};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tch::{Kind, Tensor};

/// splitmix64.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn uniform(seed: u64, env: u64, episode: u64, k: u64) -> f64 {
    (mix(seed ^ mix(env ^ mix(episode ^ mix(k)))) >> 11) as f64 / (1u64 << 53) as f64
}

/// "Reach": a point x in [-3, 3] must move to a target; obs [x, target], action in [-2, 2]
/// (x += 0.5·a), reward −(x − target)², episodes of `ep_len` steps (truncated). Randomness is a
/// pure function of (seed, env, episode counter), so the state below determines the future.
pub struct ReachEnv {
    pub n: usize,
    pub seed: u64,
    pub ep_len: u32,
    pub x: Vec<f32>,
    pub target: Vec<f32>,
    pub steps: Vec<u32>,
    pub episodes: Vec<u64>,
    /// Rewards become NaN after this many steps (for the non-finite test).
    pub nan_after: Option<u64>,
    /// NaN observations after this many steps.
    pub nan_obs_after: Option<u64>,
    /// The action space's (low, high); (-2, 2) by default.
    pub bounds: (f32, f32),
    pub total_steps: u64,
    /// Also emit a privileged `states` group [x, target, x − target] (for a central value).
    pub states: bool,
}

impl ReachEnv {
    pub fn new(n: usize, seed: u64, ep_len: u32) -> Self {
        ReachEnv {
            n,
            seed,
            ep_len,
            x: vec![0.0; n],
            target: vec![0.0; n],
            steps: vec![0; n],
            episodes: vec![0; n],
            nan_after: None,
            nan_obs_after: None,
            bounds: (-2.0, 2.0),
            total_steps: 0,
            states: false,
        }
    }

    /// The same environment with the privileged `states` group.
    pub fn with_states(mut self) -> Self {
        self.states = true;
        self
    }

    fn states(&self) -> Tensor {
        let v: Vec<f32> = (0..self.n).flat_map(|i| [self.x[i], self.target[i], self.x[i] - self.target[i]]).collect();
        Tensor::from_slice(&v).view([self.n as i64, 3])
    }

    fn write_observations(&self, out: &mut [Tensor]) {
        out[0].copy_(&self.obs());
        if self.states {
            out[1].copy_(&self.states());
        }
    }

    fn start_episode(&mut self, i: usize) {
        let e = self.episodes[i];
        self.x[i] = (uniform(self.seed, i as u64, e, 0) * 4.0 - 2.0) as f32;
        self.target[i] = (uniform(self.seed, i as u64, e, 1) * 4.0 - 2.0) as f32;
        self.steps[i] = 0;
        self.episodes[i] += 1;
    }

    fn obs(&self) -> Tensor {
        let mut v = Vec::with_capacity(2 * self.n);
        for i in 0..self.n {
            v.push(self.x[i]);
            v.push(self.target[i]);
        }
        Tensor::from_slice(&v).view([self.n as i64, 2])
    }
}

impl NativeVecEnv for ReachEnv {
    fn info(&self) -> EnvInfo {
        EnvInfo {
            num_envs: self.n as u32,
            observations: RVec::from(
                std::iter::once(TensorSpec::float32("obs", &[2], vec![-3.0, -3.0], vec![3.0, 3.0]))
                    .chain(self.states.then(|| TensorSpec::float32("states", &[3], vec![-6.0; 3], vec![6.0; 3])))
                    .collect::<Vec<_>>(),
            ),
            action_space: ActionSpace_NE::new(ActionSpace::Box {
                low: RVec::from(vec![self.bounds.0]),
                high: RVec::from(vec![self.bounds.1]),
            }),
            agents: 1,
            value_size: 1,
            max_episode_steps: self.ep_len,
            device: DlDevice::CPU,
            autoreset: AutoReset_NE::new(AutoReset::SameStep),
        }
    }

    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError> {
        for i in 0..self.n {
            self.start_episode(i);
        }
        self.write_observations(observations);
        Ok(())
    }

    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        let a: Vec<f32> = Vec::<f32>::try_from(&actions.contiguous().view([-1])).unwrap();
        self.total_steps += 1;
        let nan = self.nan_after.is_some_and(|k| self.total_steps > k);
        let mut rewards = vec![0f32; self.n];
        let mut truncated = vec![false; self.n];
        for i in 0..self.n {
            self.x[i] = (self.x[i] + 0.5 * a[i].clamp(-2.0, 2.0)).clamp(-3.0, 3.0);
            let d = self.x[i] - self.target[i];
            rewards[i] = if nan { f32::NAN } else { -d * d };
            self.steps[i] += 1;
            if self.steps[i] >= self.ep_len {
                truncated[i] = true;
                self.start_episode(i);
            }
        }
        self.write_observations(out.observations_mut());
        if self.nan_obs_after.is_some_and(|k| self.total_steps > k) {
            let _ = out.obs_mut(0).get(self.n as i64 - 1).get(1).fill_(f64::NAN);
        }
        out.rewards_mut().copy_(&Tensor::from_slice(&rewards));
        out.truncated_mut().copy_(&Tensor::from_slice(&truncated));
        let _ = out.terminated_mut().fill_(0);
        Ok(())
    }

    fn get_state(&self) -> Result<Vec<u8>, PluginError> {
        let state = json!({"x": self.x, "target": self.target, "steps": self.steps, "episodes": self.episodes, "total": self.total_steps});
        Ok(state.to_string().into_bytes())
    }

    fn set_state(&mut self, state: &[u8]) -> Result<(), PluginError> {
        let v: Value =
            serde_json::from_slice(state).map_err(|e| PluginError::new(ErrorKind::Checkpoint, e.to_string()))?;
        let f32s = |k: &str| v[k].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect::<Vec<_>>();
        self.x = f32s("x");
        self.target = f32s("target");
        self.steps = v["steps"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        self.episodes = v["episodes"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
        self.total_steps = v["total"].as_u64().unwrap();
        Ok(())
    }
}

/// What the observer saw.
#[derive(Default)]
pub struct Record {
    pub messages: Mutex<Vec<String>>,
    pub scalars: Mutex<Vec<(String, i64, f64)>>,
    pub epochs: Mutex<Vec<EpochProgress>>,
    pub stop: AtomicBool,
    /// Ask to stop once this many epochs were reported (0 = never).
    pub stop_after_epochs: AtomicU64,
    pub quiet: bool,
}

#[derive(Clone)]
pub struct TestObserver(pub Arc<Record>);

impl Observer for TestObserver {
    fn scalars(&self, values: RSlice<'_, Scalar>) {
        let mut s = self.0.scalars.lock().unwrap();
        s.extend(values.iter().map(|v| (v.tag.to_string(), v.step, v.value)));
    }
    fn message(&self, text: RStr<'_>) {
        if !self.0.quiet {
            eprintln!("{text}");
        }
        self.0.messages.lock().unwrap().push(text.to_string());
    }
    fn epoch(&self, progress: EpochProgress) {
        let mut e = self.0.epochs.lock().unwrap();
        e.push(progress);
        let k = self.0.stop_after_epochs.load(Ordering::SeqCst);
        if k > 0 && e.len() as u64 >= k {
            self.0.stop.store(true, Ordering::SeqCst);
        }
    }
    fn should_stop(&self) -> bool {
        self.0.stop.load(Ordering::SeqCst)
    }
}

pub fn observer(quiet: bool) -> (ObserverBox, Arc<Record>) {
    let record = Arc::new(Record { quiet, ..Default::default() });
    (Observer_TO::from_value(TestObserver(record.clone()), TD_Opaque), record)
}

/// A small PPO config for ReachEnv.
pub fn reach_params(n: i64, horizon: i64, minibatch: i64) -> Value {
    json!({
        "seed": 7,
        "algo": {"name": "a2c_continuous"},
        "model": {"name": "continuous_a2c_logstd"},
        "network": {
            "name": "actor_critic",
            "separate": false,
            "space": {"continuous": {
                "mu_activation": "None", "sigma_activation": "None",
                "mu_init": {"name": "glorot_normal_initializer", "gain": 0.01},
                "sigma_init": {"name": "const_initializer", "val": 0},
                "fixed_sigma": true
            }},
            "mlp": {"units": [32, 32], "activation": "elu",
                    "initializer": {"name": "glorot_normal_initializer", "gain": 2}}
        },
        "config": {
            "name": "reach",
            "env_name": "Reach",
            "reward_shaper": {"scale_value": 0.1},
            "normalize_advantage": true,
            "normalize_input": true,
            "normalize_value": true,
            "value_bootstrap": true,
            "gamma": 0.9,
            "tau": 0.95,
            "learning_rate": "3e-4",
            "lr_schedule": "adaptive",
            "kl_threshold": 0.008,
            "grad_norm": 1.0,
            "entropy_coef": 0.0,
            "truncate_grads": true,
            "e_clip": 0.2,
            "clip_value": false,
            "num_actors": n,
            "horizon_length": horizon,
            "minibatch_size": minibatch,
            "mini_epochs": 4,
            "critic_coef": 1,
            "bounds_loss_coef": 0,
            "save_best_after": 1,
            "print_stats": false
        }
    })
}

pub fn make_agent(
    params: &Value,
    env: ReachEnv,
    run_dir: &Path,
    quiet: bool,
) -> Result<(PpoAgent, Arc<Record>), PluginError> {
    make_agent_on(params, env, run_dir, quiet, DlDevice::CPU)
}

/// [`make_agent`] training on `device` (the environment stays on the CPU).
pub fn make_agent_on(
    params: &Value,
    env: ReachEnv,
    run_dir: &Path,
    quiet: bool,
    device: DlDevice,
) -> Result<(PpoAgent, Arc<Record>), PluginError> {
    let (obs, record) = observer(quiet);
    let args = AlgoArgs {
        params_json: RString::from(params.to_string()),
        env: vec_env_box(env).unwrap(),
        observer: obs,
        run_dir: RString::from(run_dir.to_string_lossy().as_ref()),
        device,
        seed: params["seed"].as_u64().unwrap_or(7),
    };
    // The host seeds libtorch before building an agent; so does this stand-in for it.
    rlhost_sdk::tensor::seed_libtorch(args.seed);
    PpoAgent::new(args).map(|a| (a, record))
}

/// Bitwise comparison of two agents' checkpoint tensors.
pub fn assert_same_state(a: &PpoAgent, b: &PpoAgent) {
    let (sa, sb) = (a.state_tensors(), b.state_tensors());
    assert_eq!(sa.len(), sb.len());
    for ((na, ta), (nb, tb)) in sa.iter().zip(sb.iter()) {
        assert_eq!(na, nb);
        let equal = ta.to_kind(Kind::Double).equal(&tb.to_kind(Kind::Double));
        assert!(
            equal,
            "tensor {na} differs: {:?} vs {:?}",
            ta.flatten(0, -1).narrow(0, 0, ta.numel().min(4) as i64),
            tb.flatten(0, -1).narrow(0, 0, tb.numel().min(4) as i64)
        );
    }
}

/// Rewrites checkpoint `src` into `dst`: `meta` edits the metadata; `edit` sees each tensor's
/// name and bytes, may change the bytes, and returns whether to keep the tensor.
pub fn patch_checkpoint(
    src: &Path,
    dst: &Path,
    meta: impl FnOnce(&mut std::collections::HashMap<String, String>),
    edit: impl Fn(&str, &mut Vec<u8>) -> bool,
) {
    use safetensors::tensor::TensorView;
    let bytes = std::fs::read(src).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap();
    meta(&mut metadata);
    let mut owned = Vec::new();
    for (name, view) in st.tensors() {
        let mut data = view.data().to_vec();
        if edit(&name, &mut data) {
            owned.push((name, view.dtype(), view.shape().to_vec(), data));
        }
    }
    let views: Vec<(String, TensorView)> =
        owned.iter().map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    std::fs::write(dst, safetensors::serialize(views, Some(metadata)).unwrap()).unwrap();
}

/// A fresh agent on the shipped Pendulum config (`configs/pendulum_ppo.json`) with `seed`, rl_games'
/// own arithmetic (the fused kernels of the default `fast` differ in the last bits) and `patch`
/// applied to its `params`, built on the CPU after seeding libtorch as the host does: the set-up
/// of the tests against rl_games fixtures. Also returns what its observer records.
pub fn pendulum_agent(seed: u64, run_dir: &Path, patch: impl FnOnce(&mut Value)) -> (PpoAgent, Arc<Record>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut params: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("configs/pendulum_ppo.json")).unwrap()).unwrap();
    let p = &mut params["params"];
    p["config"]["arithmetic"] = "rl_games".into();
    patch(p);
    let env_config = p["config"]["env_config"].to_string();
    let num_envs = p["config"]["num_actors"].as_u64().unwrap() as u32;
    let env = rlhost_classic_control::build_env(
        "Pendulum-v1",
        &rlhost_sdk::api::EnvArgs {
            config_json: RString::from(env_config),
            num_envs,
            seed,
            device: DlDevice::CPU,
            config_dir: Default::default(),
            verbose: false,
        },
    )
    .unwrap();
    let (observer, record) = observer(true);
    rlhost_sdk::tensor::seed_libtorch(seed);
    let agent = PpoAgent::new(AlgoArgs {
        params_json: RString::from(p.to_string()),
        env,
        observer,
        run_dir: RString::from(run_dir.to_string_lossy().as_ref()),
        device: DlDevice::CPU,
        seed,
    })
    .unwrap();
    (agent, record)
}

/// A `bench/ab/cv_fixture.py` fixture with its rl_games names mapped to our checkpoint names
/// (`CHECKPOINT.md`): `cv.` → `assymetric_vf_nets.`, `cv_adam.` → the critic optimiser's state.
pub fn central_value_fixture(path: &Path) -> std::collections::HashMap<String, Tensor> {
    Tensor::read_npz(path)
        .unwrap()
        .into_iter()
        .map(|(k, t)| {
            let (prefix, rest) = k.split_once('.').unwrap();
            let name = if let Some(r) = rest.strip_prefix("cv.") {
                format!("assymetric_vf_nets.{r}")
            } else if let Some(r) = rest.strip_prefix("cv_adam.") {
                format!("assymetric_vf_optimizer.state.model.{r}")
            } else if rest == "cv_adam_step" {
                "assymetric_vf_optimizer.step".into()
            } else {
                rest.to_string()
            };
            (format!("{prefix}.{name}"), t)
        })
        .collect()
}

/// ‖a − b‖ / ‖b‖ in float64 (absolute below a norm of 1e-12).
pub fn relative_diff(a: &Tensor, b: &Tensor) -> f64 {
    let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double).reshape(a.size()));
    (&a - &b).norm().double_value(&[]) / b.norm().double_value(&[]).max(1e-12)
}

/// Every value the observer recorded under `tag`, with its x, in order.
pub fn scalar_series(record: &Record, tag: &str) -> Vec<(i64, f64)> {
    let scalars = record.scalars.lock().unwrap();
    scalars.iter().filter(|(t, _, _)| t == tag).map(|&(_, x, v)| (x, v)).collect()
}

/// The largest relative difference between the agent's tensors and the fixture's `<prefix>.*`,
/// with the tensor's name, and how many actor-critic and central value (`assymetric_vf*`)
/// tensors were compared.
pub fn worst_difference(
    agent: &PpoAgent,
    reference: &std::collections::HashMap<String, Tensor>,
    prefix: &str,
) -> (f64, String, usize, usize) {
    let mut worst = (0.0f64, String::new(), 0, 0);
    for (name, t) in agent.state_tensors() {
        if let Some(expected) = reference.get(&format!("{prefix}.{name}")) {
            let d = relative_diff(&t, expected);
            if d > worst.0 {
                worst = (d, name.clone(), worst.2, worst.3);
            }
            if name.starts_with("assymetric_vf") {
                worst.3 += 1;
            } else {
                worst.2 += 1;
            }
        }
    }
    worst
}

/// The folder of this crate's fixture inputs (configs the fixture scripts and the tests share).
pub fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The rl_games fixture `name` of this crate: made on this CPU kind when the test script made
/// one (`rlhost_sdk::testing::rl_games_fixture`), else the committed one.
pub fn rl_games_fixture(name: &str) -> std::path::PathBuf {
    rlhost_sdk::testing::rl_games_fixture(&format!("plugins/a2c_continuous/tests/fixtures/{name}"))
}
