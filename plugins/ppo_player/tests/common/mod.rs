//! Shared test helpers: a checkpoint writer for the rlhost contract, a scripted environment and
//! a message-collecting observer.
#![allow(dead_code)]

use rlhost_ppo_player::create_player;
use rlhost_sdk::api::abi_stable::sabi_trait::TD_Opaque;
use rlhost_sdk::api::abi_stable::std_types::{ROption, RSlice, RStr};
use rlhost_sdk::api::{
    ActionSpace, ActionSpace_NE, AutoReset, AutoReset_NE, DlDevice, EnvInfo, EpochProgress, Observer, Observer_TO,
    PlayerArgs, PlayerBox, PluginError, Scalar, TensorSpec,
};
use rlhost_sdk::tensor::ViewParts;
use rlhost_sdk::{vec_env_box, NativeVecEnv, StepBuffers};
use safetensors::tensor::TensorView as StView;
use safetensors::Dtype;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tch::{Kind, Tensor};

/// Tensors and metadata of a checkpoint under construction.
#[derive(Clone, Default)]
pub struct CkptWriter {
    pub tensors: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>,
    pub meta: HashMap<String, String>,
}

impl CkptWriter {
    /// A float32 tensor.
    pub fn f32(&mut self, name: &str, shape: &[usize], data: &[f32]) -> &mut Self {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "{name}");
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors.insert(name.into(), (Dtype::F32, shape.to_vec(), bytes));
        self
    }

    /// A float64 tensor.
    pub fn f64(&mut self, name: &str, shape: &[usize], data: &[f64]) -> &mut Self {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "{name}");
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors.insert(name.into(), (Dtype::F64, shape.to_vec(), bytes));
        self
    }

    /// A uint8 tensor (for `env_state`).
    pub fn u8(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.tensors.insert(name.into(), (Dtype::U8, vec![data.len()], data.to_vec()));
        self
    }

    /// A Linear layer `prefix.weight` (out, in) and `prefix.bias` (out).
    pub fn linear(&mut self, prefix: &str, out: usize, inp: usize, w: &[f32], b: &[f32]) -> &mut Self {
        self.f32(&format!("{prefix}.weight"), &[out, inp], w);
        self.f32(&format!("{prefix}.bias"), &[out], b)
    }

    /// Sets a metadata entry.
    pub fn meta(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.meta.insert(key.into(), value.into());
        self
    }

    /// Removes a tensor.
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.tensors.remove(name);
        self
    }

    /// Serialises to `path`.
    pub fn write(&self, path: &Path) {
        let views: Vec<(String, StView<'_>)> =
            self.tensors.iter().map(|(k, (d, s, b))| (k.clone(), StView::new(*d, s.clone(), b).unwrap())).collect();
        let bytes = safetensors::serialize(views, Some(self.meta.clone())).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// An rl_games `actor_critic` network block.
pub fn network(units: &[usize], activation: &str, fixed_sigma: bool, extra: Value) -> Value {
    let mut cont = json!({
        "mu_activation": "None",
        "sigma_activation": "None",
        "mu_init": {"name": "default"},
        "sigma_init": {"name": "const_initializer", "val": 0},
        "fixed_sigma": fixed_sigma,
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        cont[k] = v;
    }
    json!({
        "name": "actor_critic",
        "separate": true,
        "space": {"continuous": cont},
        "mlp": {"units": units, "activation": activation, "d2rl": false,
                "initializer": {"name": "default"}},
    })
}

/// A checkpoint with the contract's metadata and the critic/value/optimizer tensors the player
/// must ignore; the actor tensors are up to the caller.
pub fn base_checkpoint(obs_dim: usize, act_dim: usize, net: &Value, normalize_input: bool) -> CkptWriter {
    let mut w = CkptWriter::default();
    let low = vec![-1.0f32; act_dim];
    let high = vec![1.0f32; act_dim];
    w.meta("format", "rlhost.checkpoint")
        .meta("format_version", "1")
        .meta("algo", "a2c_continuous")
        .meta("plugin_id", "org.rlhost.ppo")
        .meta("plugin_version", "1.0.0")
        .meta("epoch", "10")
        .meta("frame", "20480")
        .meta("best_reward", "-150.5")
        .meta("last_lr", "0.001")
        .meta("observation_shape", json!([obs_dim]).to_string())
        .meta("action_dim", act_dim.to_string())
        .meta("action_low", json!(low).to_string())
        .meta("action_high", json!(high).to_string())
        .meta("network", net.to_string())
        .meta("normalize_input", normalize_input.to_string())
        .meta("normalize_value", "true")
        .meta("clip_actions", "false")
        .meta("config", json!({"config": {"name": "test"}}).to_string());
    // Things the player must ignore.
    w.linear("a2c_network.critic_mlp.0", 4, obs_dim, &vec![0.5; 4 * obs_dim], &[0.0; 4]);
    w.linear("a2c_network.value", 1, 4, &[1.0; 4], &[0.0]);
    w.f64("value_mean_std.running_mean", &[1], &[0.0]);
    w.f64("value_mean_std.running_var", &[1], &[1.0]);
    w.f64("value_mean_std.count", &[], &[1.0]);
    w.f32("optimizer.state.0.exp_avg", &[3], &[1.0, 2.0, 3.0]);
    if normalize_input {
        w.f64("running_mean_std.running_mean", &[obs_dim], &vec![0.0; obs_dim]);
        w.f64("running_mean_std.running_var", &[obs_dim], &vec![1.0; obs_dim]);
        w.f64("running_mean_std.count", &[], &[1.0]);
    }
    w
}

/// Row-major identity matrix.
pub fn eye(n: usize) -> Vec<f32> {
    (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }).collect()
}

/// What a [`ScriptedEnv`] saw.
#[derive(Default, Debug)]
pub struct EnvLog {
    pub resets: usize,
    pub steps: usize,
    pub last_actions: Vec<f32>,
    pub state: Vec<u8>,
}

/// N environments with constant observations; env i pays `rewards[i]` per step and ends its
/// episode after `lengths[i]` steps (0 = never), auto-resetting on the same step.
pub struct ScriptedEnv {
    pub obs: Vec<f32>,
    pub obs_shape: Vec<i64>,
    pub low: Vec<f32>,
    pub high: Vec<f32>,
    pub rewards: Vec<f32>,
    pub lengths: Vec<u32>,
    pub t: Vec<u32>,
    pub log: Arc<Mutex<EnvLog>>,
    /// Raise this flag once `steps` reaches the given count.
    pub stop_after: Option<(usize, Arc<AtomicBool>)>,
}

impl ScriptedEnv {
    /// An env of `rewards.len()` copies, obs dim `obs.len()` and the given action bounds.
    pub fn new(obs: &[f32], low: &[f32], high: &[f32], rewards: &[f32], lengths: &[u32]) -> Self {
        ScriptedEnv {
            obs: obs.to_vec(),
            obs_shape: vec![obs.len() as i64],
            low: low.to_vec(),
            high: high.to_vec(),
            rewards: rewards.to_vec(),
            lengths: lengths.to_vec(),
            t: vec![0; rewards.len()],
            log: Arc::default(),
            stop_after: None,
        }
    }

    fn fill_obs(&self, obs: &mut Tensor) {
        let n = self.rewards.len() as i64;
        let row = Tensor::from_slice(&self.obs).reshape([1, self.obs.len() as i64]);
        obs.view([n, self.obs.len() as i64]).copy_(&row.expand([n, self.obs.len() as i64], false));
    }
}

impl NativeVecEnv for ScriptedEnv {
    fn info(&self) -> EnvInfo {
        let d = self.obs.len();
        EnvInfo {
            num_envs: self.rewards.len() as u32,
            observations: vec![TensorSpec::float32(
                "obs",
                &self.obs_shape,
                vec![f32::NEG_INFINITY; d],
                vec![f32::INFINITY; d],
            )]
            .into(),
            action_space: ActionSpace_NE::new(ActionSpace::Box {
                low: self.low.clone().into(),
                high: self.high.clone().into(),
            }),
            agents: 1,
            value_size: 1,
            max_episode_steps: 0,
            device: DlDevice::CPU,
            autoreset: AutoReset_NE::new(AutoReset::SameStep),
        }
    }

    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError> {
        self.t.iter_mut().for_each(|t| *t = 0);
        self.fill_obs(&mut observations[0]);
        self.log.lock().unwrap().resets += 1;
        Ok(())
    }

    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        let mut term = Vec::new();
        for (i, t) in self.t.iter_mut().enumerate() {
            *t += 1;
            let done = self.lengths[i] > 0 && *t >= self.lengths[i];
            if done {
                *t = 0;
            }
            term.push(done);
        }
        out.rewards_mut().copy_(&Tensor::from_slice(&self.rewards));
        out.terminated_mut().copy_(&Tensor::from_slice(&term));
        let _ = out.truncated_mut().fill_(0);
        self.fill_obs(out.obs_mut(0));
        let mut log = self.log.lock().unwrap();
        log.steps += 1;
        log.last_actions = Vec::<f32>::try_from(actions.flatten(0, -1)).unwrap();
        if let Some((k, flag)) = &self.stop_after {
            if log.steps >= *k {
                flag.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    fn set_state(&mut self, state: &[u8]) -> Result<(), PluginError> {
        self.log.lock().unwrap().state = state.to_vec();
        Ok(())
    }
}

/// An observer that records messages and exposes a stop flag.
#[derive(Clone, Default)]
pub struct TestObserver {
    pub messages: Arc<Mutex<Vec<String>>>,
    pub stop: Arc<AtomicBool>,
}

impl TestObserver {
    /// Messages so far, excluding the `=> loading checkpoint` lines.
    pub fn lines(&self) -> Vec<String> {
        self.messages.lock().unwrap().iter().filter(|m| !m.starts_with("=> loading")).cloned().collect()
    }
}

impl Observer for TestObserver {
    fn scalars(&self, _values: RSlice<'_, Scalar>) {}
    fn message(&self, text: RStr<'_>) {
        self.messages.lock().unwrap().push(text.as_str().to_string());
    }
    fn epoch(&self, _progress: EpochProgress) {}
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Builds a player through the plugin's builder function.
pub fn make_player(params: Value, env: Option<ScriptedEnv>, observer: &TestObserver) -> PlayerBox {
    make_player_on(params, env, observer, DlDevice::CPU)
}

/// Builds a player whose policy lives on `device`.
pub fn make_player_on(params: Value, env: Option<ScriptedEnv>, observer: &TestObserver, device: DlDevice) -> PlayerBox {
    let args = PlayerArgs {
        params_json: params.to_string().into(),
        env: match env {
            Some(e) => ROption::RSome(vec_env_box(e).expect("scripted env boxes")),
            None => ROption::RNone,
        },
        observer: Observer_TO::from_value(observer.clone(), TD_Opaque),
        device,
        seed: 42,
    };
    // The host seeds libtorch before building a player; so does this stand-in for it.
    rlhost_sdk::tensor::seed_libtorch(args.seed);
    create_player(args).expect("player builds")
}

/// Restores `path` into `player`.
pub fn restore(player: &mut PlayerBox, path: &Path) -> Result<(), PluginError> {
    player.restore(RStr::from_str(path.to_str().unwrap())).into_result()
}

/// Calls `act` through the ABI with a fresh (N, A) action buffer.
pub fn act(player: &mut PlayerBox, obs: &Tensor, act_dim: i64, deterministic: bool) -> Result<Tensor, PluginError> {
    let n = obs.size()[0];
    let actions = Tensor::full([n, act_dim], f64::NAN, (Kind::Float, tch::Device::Cpu));
    let o = ViewParts::of(obs).unwrap();
    let a = ViewParts::of(&actions).unwrap();
    player.act(o.view(), a.view(), deterministic).into_result()?;
    Ok(actions)
}

/// A (rows, cols) float32 tensor.
pub fn mat(rows: i64, cols: i64, data: &[f32]) -> Tensor {
    Tensor::from_slice(data).reshape([rows, cols])
}

/// Row-major contents of a tensor as f64.
pub fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

/// Asserts element-wise closeness.
pub fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol, "got {got:?}, want {want:?} (tol {tol})");
    }
}
