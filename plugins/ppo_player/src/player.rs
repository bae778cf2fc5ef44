//! The `a2c_continuous` player: rl_games' `PpoPlayerContinuous` restore, act and run loop (§8).
use crate::config::PlayerConfig;
use rlhost_model::checkpoint::{keys, LoadedCheckpoint, OBS_RMS};
use rlhost_model::policy::{ActionMap, Model};
use rlhost_model::spec::NetworkConfig;
use rlhost_sdk::api::{DlDevice, ObserverBox};
use rlhost_sdk::api::{PlayStats, PlayerArgs, PlayerBox, SigmaOverride};
use rlhost_sdk::{player_box, EnvHandle, ErrorKind, NativePlayer, PluginError, PluginResult};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// rl_games' hard-coded step limit of one game loop.
pub const MAX_STEPS: usize = 27_000;

/// The player builder registered as `a2c_continuous`.
pub fn create_player(args: PlayerArgs) -> PluginResult<PlayerBox> {
    Ok(player_box(PpoPlayer::new(args)?))
}

/// A restored policy with its action mapping.
pub(crate) struct Loaded {
    /// The actor and its observation normaliser, on `device`.
    pub(crate) model: Model,
    pub(crate) actions: ActionMap,
    /// The shape of one observation, as trained.
    pub(crate) obs_shape: Vec<i64>,
    /// The observations were uint8 images (the checkpoint's `observation_dtype`).
    pub(crate) obs_uint8: bool,
    /// Action dimensions A.
    pub(crate) action_dim: i64,
    device: Device,
    /// The action bounds the map rescales to (low, high).
    pub(crate) bounds: (Vec<f32>, Vec<f32>),
    /// The checkpoint file it was restored from (the exporter reads the critic from it).
    pub(crate) checkpoint: std::path::PathBuf,
    /// The checkpoint's `network` metadata.
    pub(crate) network_json: serde_json::Value,
}

/// rl_games' `PpoPlayerContinuous` on a boxed environment.
pub struct PpoPlayer {
    config: PlayerConfig,
    env: Option<EnvHandle>,
    observer: ObserverBox,
    device: Device,
    loaded: Option<Loaded>,
    /// A recurrent policy's states between [`NativePlayer::act`] calls (rl_games' `self.states`):
    /// zero after a restore or when the batch size changes.
    act_states: Vec<Tensor>,
}

impl PpoPlayer {
    /// Reads the config, wraps the environment and checks the device; no checkpoint yet.
    pub fn new(args: PlayerArgs) -> PluginResult<Self> {
        let config = PlayerConfig::from_params_json(args.params_json.as_str())?;
        let device = checked_device(args.device)?;
        let env = args.env.into_option().map(EnvHandle::new).transpose()?;
        // The host seeded libtorch with `args.seed` (stochastic play draws from it); plugins never reseed.
        Ok(PpoPlayer { config, env, observer: args.observer, device, loaded: None, act_states: Vec::new() })
    }

    /// The parsed settings.
    pub fn config(&self) -> &PlayerConfig {
        &self.config
    }

    fn loaded(&self) -> PluginResult<&Loaded> {
        self.loaded.as_ref().ok_or_else(not_restored)
    }

    /// Restores the policy from `path` (see [`NativePlayer::restore`]).
    fn restore_from(&mut self, path: &Path) -> PluginResult<()> {
        self.observer.message(format!("=> loading checkpoint '{}'", path.display()).as_str().into());
        let ckpt = LoadedCheckpoint::read(path)?;
        let obs_shape = ckpt.observation_shape()?;
        let obs_uint8 = ckpt.observation_uint8()?;
        let action_dim = ckpt.action_dim()?;
        if let Some(env) = &self.env {
            ckpt.check_env(&env.policy_observation().shape, env.info().action_dim())?;
        }
        let normalize_input = match (self.config.normalize_input, ckpt.flag(keys::NORMALIZE_INPUT)) {
            (Some(cfg), Some(trained)) if cfg != trained => {
                return Err(ckpt.error(format!(
                    "config.normalize_input is {cfg} but the checkpoint was trained with normalize_input={trained}"
                )))
            }
            (Some(cfg), _) => cfg,
            (None, Some(trained)) => trained,
            (None, None) => ckpt.has(&format!("{OBS_RMS}.running_mean")),
        };
        // The trainer's parser: a network it trained is a network the player rebuilds. A bad
        // value is the checkpoint's fault; an unsupported feature stays `Unsupported`.
        let network_json = ckpt.network()?;
        let network = NetworkConfig::from_json(keys::NETWORK, &network_json).map_err(|e| {
            let kind = if e.kind() == ErrorKind::Unsupported { ErrorKind::Unsupported } else { ErrorKind::Checkpoint };
            ckpt.error(format!("metadata {}", e.message)).with_kind(kind)
        })?;
        let model = Model::for_acting(&ckpt, &network, &obs_shape, action_dim as i64, normalize_input, self.device)?;
        let (low, high) = match &self.env {
            Some(env) => {
                let (low, high) = env.info().box_bounds().ok_or_else(|| {
                    PluginError::new(ErrorKind::Unsupported, "the a2c_continuous player acts in box action spaces")
                })?;
                (low.to_vec(), high.to_vec())
            }
            None => ckpt.action_bounds(action_dim)?.unwrap_or_else(|| (vec![-1.0; action_dim], vec![1.0; action_dim])),
        };
        let clip = self.config.clip_actions.or(ckpt.flag(keys::CLIP_ACTIONS)).unwrap_or(true);
        let actions = ActionMap::new(clip, &low, &high, self.device);
        if let (Some(env), Some(state)) = (self.env.as_mut(), ckpt.env_state()) {
            env.set_state(&state)?;
        }
        self.act_states.clear();
        self.loaded = Some(Loaded {
            model,
            actions,
            obs_shape,
            obs_uint8,
            action_dim: action_dim as i64,
            device: self.device,
            bounds: (low, high),
            checkpoint: path.to_path_buf(),
            network_json,
        });
        Ok(())
    }

    /// Plays the configured games (rl_games' `BasePlayer.run`).
    fn play(&mut self) -> PluginResult<PlayStats> {
        let _no_grad = tch::no_grad_guard();
        let loaded = self.loaded.as_ref().ok_or_else(not_restored)?;
        let env = self.env.as_mut().ok_or_else(|| {
            PluginError::new(ErrorKind::Config, "player.run: this player was built without an environment")
        })?;
        let cfg = &self.config;
        let observer = &self.observer;
        let info = env.info().clone();
        let n = env.num_envs();
        let agents = info.agents.max(1) as i64;
        let env_device = env.device();
        let bufs = env.step_buffers()?;
        let obs_group = info.observation(&env.policy_observation().name).map_or(0, |(i, _)| i);
        let mut actions = Tensor::zeros([n, info.action_dim() as i64], (Kind::Float, env_device));

        // A recurrent policy's states: zero once before the first game (rl_games' `init_rnn` runs
        // once per `run`), then zeroed per env when its episode ends.
        let mut states = Vec::new();
        let n_games = cfg.games_num.saturating_mul(cfg.n_game_life);
        let mut games_played: u64 = 0;
        let (mut sum_rewards, mut sum_steps) = (0.0f64, 0.0f64);
        let mut game = 0u64;
        'games: while game < n_games {
            game += 1;
            if games_played >= n_games || observer.should_stop() {
                break;
            }
            env.reset(bufs.observations())?;
            let mut cr = Tensor::zeros([n], (Kind::Float, env_device));
            let mut steps = Tensor::zeros([n], (Kind::Float, env_device));
            for _ in 0..MAX_STEPS {
                if observer.should_stop() {
                    break 'games;
                }
                let a = policy_actions(loaded, bufs.obs(obs_group), cfg.deterministic, &mut states)?;
                actions.copy_(&a);
                env.step(&actions, &bufs)?;
                cr += bufs.rewards();
                steps += 1.0;
                let done = bufs.dones();
                let all_done = done.nonzero().squeeze_dim(1);
                let done_idx = if agents > 1 { all_done.slice(0, None, None, agents) } else { all_done };
                let done_count = done_idx.size()[0] as u64;
                games_played += done_count;
                if done_count > 0 {
                    let finished = done.to_device(loaded.device).to_kind(Kind::Bool).view([1, -1, 1]);
                    for s in &mut states {
                        let _ = s.masked_fill_(&finished, 0.0);
                    }
                    let cur_rewards = cr.index_select(0, &done_idx).sum(Kind::Float).double_value(&[]);
                    if !cur_rewards.is_finite() {
                        return Err(non_finite_reward(&cr, &steps, &done_idx, games_played - done_count + 1));
                    }
                    let cur_steps = steps.index_select(0, &done_idx).sum(Kind::Float).double_value(&[]);
                    let keep = done.to_kind(Kind::Float).neg() + 1.0;
                    cr *= &keep;
                    steps *= &keep;
                    sum_rewards += cur_rewards;
                    sum_steps += cur_steps;
                    if cfg.print_stats {
                        let k = done_count as f64;
                        let line = format!("reward: {:.2} steps: {:.1}", cur_rewards / k, cur_steps / k);
                        observer.message(line.as_str().into());
                    }
                    if n / agents == 1 || games_played >= n_games {
                        break;
                    }
                }
            }
        }

        let life = cfg.n_game_life as f64;
        let mean_reward = sum_rewards / games_played as f64 * life;
        let mean_steps = sum_steps / games_played as f64 * life;
        observer.message(py_float(sum_rewards).as_str().into());
        let line = format!("av reward: {} av steps: {}", py_float(mean_reward), py_float(mean_steps));
        observer.message(line.as_str().into());
        Ok(PlayStats { games: games_played, mean_reward, mean_steps })
    }

    /// One policy step on caller tensors (see [`NativePlayer::act`]).
    fn act_on(&mut self, obs: &Tensor, out: &mut Tensor, deterministic: bool) -> PluginResult<()> {
        let _no_grad = tch::no_grad_guard();
        let loaded = self.loaded.as_ref().ok_or_else(not_restored)?;
        let d: i64 = loaded.obs_shape.iter().product();
        let a = loaded.action_dim;
        if obs.kind() != Kind::Float && obs.kind() != Kind::Uint8 {
            return Err(shape_error(format!("act: obs must be float32 (or uint8 images), got {:?}", obs.kind())));
        }
        let dims = obs.size();
        if dims.len() < 2 || dims[1..].iter().product::<i64>() != d || (dims.len() > 2 && dims[1..].contains(&0)) {
            return Err(shape_error(format!("act: obs must have shape (N, {d}), got {dims:?}")));
        }
        let n = dims[0];
        if out.kind() != Kind::Float {
            return Err(shape_error(format!("act: actions must be float32, got {:?}", out.kind())));
        }
        if out.size() != [n, a] {
            return Err(shape_error(format!(
                "act: actions must have shape ({n}, {a}) to match obs, got {:?}",
                out.size()
            )));
        }
        let result = policy_actions(loaded, obs, deterministic, &mut self.act_states)?;
        out.f_copy_(&result).map_err(|e| rlhost_sdk::tch_error(ErrorKind::Device, "act: cannot write actions", e))?;
        Ok(())
    }
}

impl NativePlayer for PpoPlayer {
    fn restore(&mut self, path: &Path) -> Result<(), PluginError> {
        self.restore_from(path)
    }

    fn set_sigma(&mut self, sigma: f32) -> Result<SigmaOverride, PluginError> {
        let loaded = self.loaded.as_mut().ok_or_else(not_restored)?;
        Ok(if loaded.model.net.set_fixed_sigma(sigma) { SigmaOverride::Applied } else { SigmaOverride::NotFixed })
    }

    fn run(&mut self) -> Result<PlayStats, PluginError> {
        self.play()
    }

    fn act(&mut self, obs: &Tensor, actions: &mut Tensor, deterministic: bool) -> Result<(), PluginError> {
        self.act_on(obs, actions, deterministic)
    }

    fn export_onnx(&mut self, path: &Path, options_json: &str) -> Result<(), PluginError> {
        crate::export::export(self.loaded()?, path, options_json)
    }
}

/// Env-unit actions for a (N, *obs) batch on any device; the result is on the policy's device.
/// A recurrent policy steps from `states` and leaves the next ones there (zero states when
/// `states` is empty or was for another batch size).
fn policy_actions(
    loaded: &Loaded,
    obs: &Tensor,
    deterministic: bool,
    states: &mut Vec<Tensor>,
) -> PluginResult<Tensor> {
    let n = obs.size()[0];
    let shape: Vec<i64> = std::iter::once(n).chain(loaded.obs_shape.iter().copied()).collect();
    let x = obs.to_device(loaded.device).reshape(shape);
    // uint8 images are scaled to [0, 1] as rl_games' `_preproc_obs` does.
    let x = if x.kind() == Kind::Uint8 { x.to_kind(Kind::Float) / 255.0 } else { x };
    let net = &loaded.model.net;
    if !net.is_rnn() {
        return Ok(loaded.actions.apply(&loaded.model.actions(&x, deterministic)));
    }
    if states.first().is_none_or(|s| s.size()[1] != n) {
        *states = net.zero_rnn_states(n, loaded.device);
    }
    let (actions, next) = loaded.model.actions_seq(&x, states, deterministic);
    *states = next;
    Ok(loaded.actions.apply(&actions))
}

/// The error for a finished episode whose return is NaN or infinite (`done_idx` are the envs that
/// just finished; `first_game` numbers the first of them from 1).
fn non_finite_reward(returns: &Tensor, steps: &Tensor, done_idx: &Tensor, first_game: u64) -> PluginError {
    let finished = returns.index_select(0, done_idx);
    let j = finished.isfinite().logical_not().nonzero().int64_value(&[0, 0]);
    let env = done_idx.int64_value(&[j]);
    PluginError::new(
        ErrorKind::NonFinite,
        format!(
            "the environment returned a non-finite reward: game {} (env {env}) has return {} after {} steps; play stopped",
            first_game + j as u64,
            finished.double_value(&[j]),
            steps.double_value(&[env])
        ),
    )
}

fn not_restored() -> PluginError {
    PluginError::new(ErrorKind::Checkpoint, "no checkpoint restored: call restore(path) before set_sigma, run or act")
}

fn shape_error(msg: String) -> PluginError {
    PluginError::new(ErrorKind::Shape, msg)
}

/// The tch device for `device`, failing early when CUDA is requested but absent (a host that
/// drives `act` itself may not have checked).
fn checked_device(device: DlDevice) -> PluginResult<Device> {
    rlhost_sdk::tensor::available_device("player device", device)
}

/// Formats a float as Python's `repr` does (`18.0`, `3.6`, `1e-05`, `1e+16`, `nan`, `inf`).
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1;
    let body = if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            format!("0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(decpt as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            format!("{int}.{frac}")
        }
    } else {
        let m = if digits.len() == 1 { digits } else { format!("{}.{}", &digits[..1], &digits[1..]) };
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    };
    if x < 0.0 {
        format!("-{body}")
    } else {
        body
    }
}
