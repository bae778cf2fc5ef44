//! A third-party player plugin: registers the player `a2c_continuous` and acts with the middle of
//! the action range (zero torque on Pendulum), ignoring the policy. It is the baseline every
//! trained policy should beat, and it shows that players are swapped without rebuilding the host.
use rlhost_sdk::api::{ObserverBox, PlayStats, PlayerArgs, PlayerBox, PluginManifest, SigmaOverride};
use rlhost_sdk::{EnvHandle, ErrorKind, NativePlayer, PluginError};
use serde_json::Value;
use std::path::Path;
use tch::{Kind, Tensor};

fn manifest() -> PluginManifest {
    rlhost_sdk::manifest(
        "org.example.zero_player",
        "Zero-action player",
        env!("CARGO_PKG_VERSION"),
        "plays a2c_continuous checkpoints with mid-range actions, as a baseline",
    )
}

struct ZeroPlayer {
    env: Option<EnvHandle>,
    observer: ObserverBox,
    games: u64,
    /// The middle of the action range, (A,); zeros when there is no env to ask.
    middle: Option<Tensor>,
}

impl NativePlayer for ZeroPlayer {
    fn restore(&mut self, path: &Path) -> Result<(), PluginError> {
        match std::fs::metadata(path) {
            Ok(m) if m.len() > 0 => Ok(()),
            _ => Err(PluginError::new(
                ErrorKind::Checkpoint,
                format!("checkpoint {} is missing or empty", path.display()),
            )),
        }
    }

    fn set_sigma(&mut self, _sigma: f32) -> Result<SigmaOverride, PluginError> {
        Ok(SigmaOverride::NotFixed)
    }

    fn run(&mut self) -> Result<PlayStats, PluginError> {
        let mut env = self.env.take().ok_or_else(|| PluginError::new(ErrorKind::Config, "zero player needs an env"))?;
        let n = env.num_envs();
        let device = env.device();
        let out = env.step_buffers()?;
        env.reset(out.observations())?;
        let mut actions = Tensor::zeros([n, env.info().action_dim() as i64], (Kind::Float, device));
        let (mut returns, mut steps) =
            (Tensor::zeros([n], (Kind::Double, device)), Tensor::zeros([n], (Kind::Double, device)));
        let (mut games, mut total_reward, mut total_steps) = (0u64, 0.0, 0.0);
        while games < self.games && !self.observer.should_stop() {
            self.act(out.obs(0), &mut actions, true)?;
            env.step(&actions, &out)?;
            returns += out.rewards().to_kind(Kind::Double);
            steps += 1.0;
            let done = out.dones();
            let finished = i64::try_from(done.sum(Kind::Int64)).unwrap_or(0) as u64;
            if finished > 0 {
                games += finished;
                total_reward += f64::try_from(returns.masked_select(&done).sum(Kind::Double)).unwrap_or(f64::NAN);
                total_steps += f64::try_from(steps.masked_select(&done).sum(Kind::Double)).unwrap_or(f64::NAN);
                let _ = returns.masked_fill_(&done, 0.0);
                let _ = steps.masked_fill_(&done, 0.0);
            }
        }
        let (mean_reward, mean_steps) = (total_reward / games.max(1) as f64, total_steps / games.max(1) as f64);
        self.observer.message(format!("zero player: av reward: {mean_reward} av steps: {mean_steps}").as_str().into());
        self.env = Some(env);
        Ok(PlayStats { games, mean_reward, mean_steps })
    }

    fn act(&mut self, _obs: &Tensor, actions: &mut Tensor, _deterministic: bool) -> Result<(), PluginError> {
        match &self.middle {
            Some(middle) => actions.copy_(&middle.to_device(actions.device()).expand_as(actions)),
            None => {
                let _ = actions.zero_();
            }
        }
        Ok(())
    }
}

fn build(args: PlayerArgs) -> Result<PlayerBox, PluginError> {
    let params: Value = serde_json::from_str(args.params_json.as_str())
        .map_err(|e| PluginError::new(ErrorKind::Config, format!("params JSON: {e}")))?;
    let games = params.pointer("/config/player/games_num").and_then(Value::as_u64).unwrap_or(10);
    let env = args.env.into_option().map(EnvHandle::new).transpose()?;
    let middle = env.as_ref().and_then(|env| env.info().box_bounds()).map(|(low, high)| {
        let mid: Vec<f32> = low.iter().zip(high).map(|(l, h)| (l + h) / 2.0).collect();
        Tensor::from_slice(&mid)
    });
    Ok(rlhost_sdk::player_box(ZeroPlayer { env, observer: args.observer, games, middle }))
}

rlhost_sdk::export_plugin! {
    manifest: manifest,
    algos: [],
    players: [("a2c_continuous", build, Vec::new)],
    envs: [],
}
