//! REINFORCE with a learned baseline, as a third-party rlhost algorithm plugin.
//!
//! Each epoch collects `horizon_length` steps from every environment, computes discounted
//! returns-to-go (cut at episode ends, bootstrapped with the baseline at the horizon and at
//! time-outs), and takes one gradient step on
//! `-(log π(a|s) · (G − V(s))) + ½ (G − V(s))² − β·H[π]`.
//! It talks to the environment only through the plugin API (`EnvHandle`) and reports to the
//! host's observer.
use rlhost_sdk::api::{
    AgentBox, AlgoArgs, EpochProgress, ObserverBox, PluginManifest, Scalar, SigmaOverride, TrainSummary,
};
use rlhost_sdk::tensor::tch_device;
use rlhost_sdk::{EnvHandle, ErrorKind, NativeAgent, PluginError, StepBuffers};
use serde_json::Value;
use std::path::Path;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn manifest() -> PluginManifest {
    rlhost_sdk::manifest(
        "org.example.reinforce",
        "REINFORCE",
        env!("CARGO_PKG_VERSION"),
        "REINFORCE with a learned baseline for continuous actions",
    )
}

/// Hyper-parameters, read from `params.config` with defaults.
struct Settings {
    name: String,
    horizon: i64,
    gamma: f64,
    learning_rate: f64,
    entropy_coef: f64,
    max_epochs: u64,
    units: i64,
    reward_scale: f64,
    lambda: f64,
    gradient_steps: usize,
}

impl Settings {
    fn from_params(params: &Value) -> Result<Self, PluginError> {
        let config = &params["config"];
        let f = |k: &str, d: f64| config.get(k).and_then(Value::as_f64).unwrap_or(d);
        let name = config.get("name").and_then(Value::as_str).unwrap_or("reinforce").to_string();
        let settings = Settings {
            name,
            horizon: f("horizon_length", 64.0) as i64,
            gamma: f("gamma", 0.99),
            learning_rate: f("learning_rate", 1e-3),
            entropy_coef: f("entropy_coef", 0.0),
            max_epochs: f("max_epochs", 50.0) as u64,
            units: f("units", 64.0) as i64,
            lambda: f("tau", 1.0),
            gradient_steps: f("mini_epochs", 1.0).max(1.0) as usize,
            reward_scale: config.pointer("/reward_shaper/scale_value").and_then(Value::as_f64).unwrap_or(1.0),
        };
        if settings.horizon < 1 {
            return Err(PluginError::new(ErrorKind::Config, "params.config.horizon_length must be at least 1"));
        }
        Ok(settings)
    }
}

/// A Gaussian policy with a state-independent log-std, and a value baseline.
struct Networks {
    vs: nn::VarStore,
    policy: nn::Sequential,
    baseline: nn::Sequential,
    log_std: Tensor,
}

impl Networks {
    fn new(obs: i64, actions: i64, units: i64, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let mlp = |p: nn::Path, out: i64| {
            nn::seq()
                .add(nn::linear(&p / "0", obs, units, Default::default()))
                .add_fn(Tensor::tanh)
                .add(nn::linear(&p / "1", units, units, Default::default()))
                .add_fn(Tensor::tanh)
                .add(nn::linear(&p / "2", units, out, Default::default()))
        };
        // tanh keeps the mean inside the action range, so the policy cannot saturate at a bound.
        let policy = mlp(&root / "policy", actions).add_fn(Tensor::tanh);
        let baseline = mlp(&root / "baseline", 1);
        let log_std = root.zeros("log_std", &[actions]);
        Networks { vs, policy, baseline, log_std }
    }
}

struct Reinforce {
    env: EnvHandle,
    observer: ObserverBox,
    settings: Settings,
    nets: Networks,
    optimizer: nn::Optimizer,
    run_dir: String,
    epoch: u64,
    frame: u64,
    action_low: Tensor,
    action_high: Tensor,
    /// 1 / observation bound where the bound is finite, so inputs are roughly in [-1, 1].
    obs_scale: Tensor,
}

/// The rollout of one epoch, (H, N, ...) tensors.
struct Rollout {
    obs: Tensor,
    actions: Tensor,
    rewards: Tensor,
    dones: Tensor,
    time_outs: Tensor,
    last_obs: Tensor,
}

impl Reinforce {
    fn collect(&mut self, obs: &mut Tensor, out: &StepBuffers) -> Result<Rollout, PluginError> {
        let h = self.settings.horizon;
        let (mut all_obs, mut all_actions, mut rewards, mut dones, mut time_outs) =
            (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..h {
            let action = tch::no_grad(|| {
                let mean = self.nets.policy.forward(&(&*obs * &self.obs_scale));
                &mean + self.nets.log_std.exp() * mean.randn_like()
            });
            // Actions live in [-1, 1] for the policy and are rescaled to the env's bounds.
            let scaled =
                (action.clamp(-1.0, 1.0) + 1.0) * 0.5 * (&self.action_high - &self.action_low) + &self.action_low;
            self.env.step(&scaled, out)?;
            all_obs.push(&*obs * &self.obs_scale);
            all_actions.push(action);
            rewards.push(out.rewards().copy());
            dones.push(out.dones().to_kind(Kind::Float));
            time_outs.push(out.truncated().to_kind(Kind::Float));
            obs.copy_(out.obs(0));
        }
        Ok(Rollout {
            obs: Tensor::stack(&all_obs, 0),
            actions: Tensor::stack(&all_actions, 0),
            rewards: Tensor::stack(&rewards, 0),
            dones: Tensor::stack(&dones, 0),
            time_outs: Tensor::stack(&time_outs, 0),
            last_obs: &*obs * &self.obs_scale,
        })
    }

    /// λ-returns: discounted returns-to-go when λ = 1 (plain REINFORCE with a baseline), cut at
    /// episode ends and bootstrapped with the baseline at time-outs and at the horizon.
    fn returns(&self, r: &Rollout) -> Tensor {
        tch::no_grad(|| {
            let (gamma, lambda) = (self.settings.gamma, self.settings.lambda);
            let values = self.nets.baseline.forward(&r.obs).squeeze_dim(-1);
            let rewards = &r.rewards * self.settings.reward_scale + gamma * &values * &r.time_outs;
            let mut next_value = self.nets.baseline.forward(&r.last_obs).squeeze_dim(-1);
            let mut next_return = next_value.copy();
            let mut out = Vec::with_capacity(self.settings.horizon as usize);
            for t in (0..self.settings.horizon).rev() {
                let alive = 1.0 - r.dones.get(t);
                let blended = (1.0 - lambda) * &next_value + lambda * &next_return;
                next_return = rewards.get(t) + gamma * &alive * blended;
                next_value = values.get(t);
                out.push(next_return.copy());
            }
            out.reverse();
            Tensor::stack(&out, 0)
        })
    }

    fn update(&mut self, r: &Rollout, returns: &Tensor) -> (f64, f64) {
        let mean = self.nets.policy.forward(&r.obs);
        let log_std = self.nets.log_std.expand_as(&mean);
        let z = (&r.actions - &mean) / log_std.exp();
        let log_prob = (z.square() * -0.5 - &log_std - 0.5 * (2.0 * std::f64::consts::PI).ln()).sum_dim_intlist(
            -1,
            false,
            Kind::Float,
        );
        let values = self.nets.baseline.forward(&r.obs).squeeze_dim(-1);
        let advantages = (returns - &values).detach();
        let advantages = (&advantages - advantages.mean(Kind::Float)) / (advantages.std(true) + 1e-8);
        let policy_loss = -(log_prob * advantages).mean(Kind::Float);
        let value_loss = (returns - &values).square().mean(Kind::Float) * 0.5;
        let entropy = (self.nets.log_std.sum(Kind::Float)) * 1.0;
        let loss = &policy_loss + &value_loss - self.settings.entropy_coef * entropy;
        self.optimizer.backward_step(&loss);
        (f64::try_from(policy_loss).unwrap_or(f64::NAN), f64::try_from(value_loss).unwrap_or(f64::NAN))
    }
}

impl NativeAgent for Reinforce {
    fn train(&mut self) -> Result<TrainSummary, PluginError> {
        let n = self.env.num_envs();
        let out = self.env.step_buffers()?;
        self.env.reset(out.observations())?;
        let mut obs = out.obs(0).copy();
        let (mut episode_return, mut finished) =
            (Tensor::zeros([n], (Kind::Float, self.env.device())), Vec::<f64>::new());
        let mut best = f64::NEG_INFINITY;
        while self.epoch < self.settings.max_epochs {
            self.epoch += 1;
            let rollout = self.collect(&mut obs, &out)?;
            for t in 0..self.settings.horizon {
                episode_return += rollout.rewards.get(t);
                let done = rollout.dones.get(t).to_kind(Kind::Bool);
                let ended = Vec::<f32>::try_from(episode_return.masked_select(&done)).unwrap_or_default();
                finished.extend(ended.iter().map(|&x| f64::from(x)));
                let _ = episode_return.masked_fill_(&done, 0.0);
            }
            if finished.len() > 100 {
                finished.drain(..finished.len() - 100);
            }
            let returns = self.returns(&rollout);
            let (mut policy_loss, mut value_loss) = (0.0, 0.0);
            for _ in 0..self.settings.gradient_steps {
                (policy_loss, value_loss) = self.update(&rollout, &returns);
            }
            if !policy_loss.is_finite() || !value_loss.is_finite() {
                return Err(PluginError::new(ErrorKind::NonFinite, format!("non-finite loss at epoch {}", self.epoch)));
            }
            self.frame += (self.settings.horizon * n) as u64;
            let mean_return =
                if finished.is_empty() { f64::NAN } else { finished.iter().sum::<f64>() / finished.len() as f64 };
            if mean_return > best {
                best = mean_return;
            }
            let step = self.frame as i64;
            let scalars =
                [("rewards/step", mean_return), ("losses/a_loss", policy_loss), ("losses/c_loss", value_loss)]
                    .map(|(tag, value)| Scalar { tag: tag.into(), step, value });
            self.observer.scalars(scalars.as_slice().into());
            self.observer.message(
                format!("reinforce epoch {} frames {} mean return {mean_return:.2}", self.epoch, self.frame)
                    .as_str()
                    .into(),
            );
            self.observer.epoch(EpochProgress {
                epoch: self.epoch,
                max_epochs: self.settings.max_epochs as i64,
                frame: self.frame,
                max_frames: -1,
                fps_total: 0.0,
                mean_reward: mean_return,
            });
            if self.observer.should_stop() {
                break;
            }
        }
        let path = Path::new(&self.run_dir).join("nn").join(format!("{}.safetensors", self.settings.name));
        self.save(&path)?;
        Ok(TrainSummary {
            best_reward: best,
            epoch: self.epoch,
            frame: self.frame,
            interrupted: self.observer.should_stop(),
        })
    }

    fn restore(&mut self, path: &Path) -> Result<(), PluginError> {
        self.nets
            .vs
            .load(path)
            .map_err(|e| PluginError::new(ErrorKind::Checkpoint, format!("checkpoint {}: {e}", path.display())))
    }

    fn save(&mut self, path: &Path) -> Result<(), PluginError> {
        // tch picks the format from the extension, so the temporary name keeps `.safetensors` last.
        let tmp = path.with_extension("tmp.safetensors");
        self.nets
            .vs
            .save(&tmp)
            .and_then(|_| std::fs::rename(&tmp, path).map_err(Into::into))
            .map_err(|e| PluginError::new(ErrorKind::Io, format!("cannot write checkpoint {}: {e}", path.display())))
    }

    fn set_sigma(&mut self, sigma: f32) -> Result<SigmaOverride, PluginError> {
        tch::no_grad(|| {
            let _ = self.nets.log_std.fill_(f64::from(sigma));
        });
        Ok(SigmaOverride::Applied)
    }
}

fn build(args: AlgoArgs) -> Result<AgentBox, PluginError> {
    let params: Value = serde_json::from_str(args.params_json.as_str())
        .map_err(|e| PluginError::new(ErrorKind::Config, format!("params JSON: {e}")))?;
    let settings = Settings::from_params(&params)?;
    let env = EnvHandle::new(args.env)?;
    let device = tch_device(args.device)?;
    let info = env.info().clone();
    let (obs_spec, (low, high)) = match (info.policy_observation(), info.box_bounds()) {
        (Some(o), Some(b)) => (o.clone(), b),
        _ => {
            return Err(PluginError::new(
                ErrorKind::Unsupported,
                "reinforce needs float observations and a box action space",
            ))
        }
    };
    let nets = Networks::new(obs_spec.numel(), low.len() as i64, settings.units, device);
    let optimizer = nn::Adam::default()
        .build(&nets.vs, settings.learning_rate)
        .map_err(|e| rlhost_sdk::tch_error(ErrorKind::Other, "Adam", e))?;
    let bounds = |v: &[f32]| Tensor::from_slice(v).to_device(device);
    let scale: Vec<f32> = obs_spec.high.iter().map(|&h| if h.is_finite() && h > 0.0 { 1.0 / h } else { 1.0 }).collect();
    Ok(rlhost_sdk::agent_box(Reinforce {
        action_low: bounds(low),
        action_high: bounds(high),
        obs_scale: bounds(&scale),
        env,
        observer: args.observer,
        settings,
        nets,
        optimizer,
        run_dir: args.run_dir.into_string(),
        epoch: 0,
        frame: 0,
    }))
}

rlhost_sdk::export_plugin! {
    manifest: manifest,
    algos: [("reinforce", build, Vec::new)],
    players: [],
    envs: [],
}
