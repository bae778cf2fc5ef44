//! Lock-step A/B of one rollout against rl_games 1.6.5 (bench/ab/dump_rlgames.py, epoch 1, env
//! rng rlhost): rl_games' initial weights and its sampled actions replayed through rlhost's
//! Pendulum env, the rollout arithmetic of `Rollout::play`, then GAE; compared with rl_games' batch.
//!
//! `cargo run --release -p rlhost-plugin-a2c-continuous --example ab_rollout -- /tmp/ab/params.json /tmp/ab/ep1.npz 42`
use abi_stable::std_types::RString;
use rlhost_a2c_continuous::config::Params;
use rlhost_a2c_continuous::gae::compute_gae;
use rlhost_a2c_continuous::rollout::{shape_reward, Rollout};
use rlhost_model::network::neglogp;
use rlhost_model::normalizer::RunningMeanStd;
use rlhost_model::policy::Model;
use rlhost_sdk::api::{DlDevice, EnvArgs};
use rlhost_sdk::EnvHandle;
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

fn rel(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_kind(Kind::Double);
    let b = b.to_kind(Kind::Double).reshape(a.size());
    (&a - &b).norm().double_value(&[]) / b.norm().double_value(&[]).max(1e-12)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let params_json = std::fs::read_to_string(&args[1]).unwrap();
    let d: HashMap<String, Tensor> = Tensor::read_npz(&args[2]).unwrap().into_iter().collect();
    let seed: u64 = args[3].parse().unwrap();
    let g = |k: &str| d.get(k).unwrap_or_else(|| panic!("missing {k}")).shallow_clone();
    // The A/B replays rl_games' own ops: its arithmetic, whatever the file says.
    let mut raw: serde_json::Value = serde_json::from_str(&params_json).unwrap();
    raw["config"]["arithmetic"] = "rl_games".into();
    let params = Params::parse(&raw.to_string(), &mut |_| {}).unwrap();
    let cfg = params.config.clone();
    let (n, h) = (cfg.num_actors, cfg.horizon_length);
    let mut model = Model::new(&params.network, &[3], 1, true, true, Device::Cpu);
    tch::no_grad(|| {
        for (name, mut p) in model.net.named_parameters() {
            p.copy_(&g(&format!("pre.{name}")));
        }
    });
    // The rollout ran with the statistics before the update: obs RMS as in `pre` (count 1 at
    // epoch 1), value RMS as before prepare_dataset.
    let rms = |prefix: &str| RunningMeanStd {
        mean: g(&format!("{prefix}.running_mean")).to_kind(Kind::Double),
        var: g(&format!("{prefix}.running_var")).to_kind(Kind::Double),
        count: g(&format!("{prefix}.count")).double_value(&[]),
    };
    model.obs_rms = Some(rms("pre.running_mean_std"));
    model.value_rms = Some(rms("vrms_pre.value_mean_std"));
    let env_cfg = serde_json::to_string(&params.raw["config"]["env_config"]).unwrap();
    let env = rlhost_classic_control::build_env(
        "Pendulum-v1",
        &EnvArgs {
            config_json: RString::from(env_cfg),
            num_envs: n as u32,
            seed,
            device: DlDevice::CPU,
            config_dir: Default::default(),
            verbose: false,
        },
    )
    .unwrap();
    let mut env = EnvHandle::new(env).unwrap();
    let step = env.step_buffers().unwrap();
    env.reset(step.observations()).unwrap();
    let mut obs = step.obs(0).copy();
    let mut dones = Tensor::ones([n], (Kind::Float, Device::Cpu));
    // rl_games rows are env-major (row = env·H + t).
    let unflat = |t: Tensor| -> Tensor {
        let s = t.size();
        let mut shape = vec![n, h];
        shape.extend(&s[1..]);
        t.reshape(shape.as_slice()).transpose(0, 1).contiguous()
    };
    let rg_obs = unflat(g("raw.obses"));
    let rg_actions = unflat(g("raw.actions"));
    let rg_values = unflat(g("raw.values"));
    let rg_neglogp = unflat(g("raw.neglogpacs"));
    let rg_dones = unflat(g("raw.dones"));
    let rg_returns = unflat(g("raw.returns"));
    let (mut b_obs, mut b_values, mut b_rewards, mut b_dones, mut b_nlp) = (vec![], vec![], vec![], vec![], vec![]);
    let mut truncs = 0.0;
    for t in 0..h {
        let act = model.act(&obs);
        let value = act.value.squeeze_dim(1);
        let action = rg_actions.get(t);
        let nlp = neglogp(&action, &act.mu, &act.sigma, &act.sigma.log());
        b_obs.push(obs.copy());
        b_dones.push(dones.copy());
        b_values.push(value.copy());
        b_nlp.push(nlp);
        let env_action = action.clamp(-1.0, 1.0) * 2.0;
        env.step(&env_action, &step).unwrap();
        let truncated = step.truncated().to_kind(Kind::Float);
        let terminated = step.terminated().to_kind(Kind::Float);
        truncs += truncated.sum(Kind::Float).double_value(&[]);
        let mut shaped = shape_reward(step.rewards(), &cfg.reward_shaper);
        if cfg.value_bootstrap {
            shaped += &value * cfg.gamma * &truncated;
        }
        b_rewards.push(shaped);
        obs = step.obs(0).copy();
        dones = terminated.maximum(&truncated);
    }
    let last_values = model.value(&obs).squeeze_dim(1);
    let (o, v, r, dn, nl) = (
        Tensor::stack(&b_obs, 0),
        Tensor::stack(&b_values, 0),
        Tensor::stack(&b_rewards, 0),
        Tensor::stack(&b_dones, 0),
        Tensor::stack(&b_nlp, 0),
    );
    let adv = compute_gae(&r, &v, &dn, &last_values, &dones, cfg.gamma, cfg.tau);
    let ret = &adv + &v;
    println!("truncations in rollout: {truncs}");
    println!("obs      rel {:.2e}", rel(&o, &rg_obs));
    for t in [0, 1, 5, 31] {
        println!("  obs t={t:2} rel {:.2e}", rel(&o.get(t), &rg_obs.get(t)));
    }
    println!(
        "dones    rel {:.2e} (sum rlhost {} rl_games {})",
        rel(&dn, &rg_dones),
        dn.sum(Kind::Float).double_value(&[]),
        rg_dones.to_kind(Kind::Float).sum(Kind::Float).double_value(&[])
    );
    println!("values   rel {:.2e}", rel(&v, &rg_values.squeeze_dim(-1)));
    println!("neglogp  rel {:.2e}", rel(&nl, &rg_neglogp));
    println!("returns  rel {:.2e}", rel(&ret, &rg_returns.squeeze_dim(-1)));
    println!(
        "returns mean/std rlhost {:.4}/{:.4} rl_games {:.4}/{:.4}",
        ret.mean(Kind::Float).double_value(&[]),
        ret.std(true).double_value(&[]),
        rg_returns.mean(Kind::Float).double_value(&[]),
        rg_returns.std(true).double_value(&[])
    );

    // Rollout::play itself with rlhost's own noise, then its sampled actions replayed through the
    // same arithmetic as above on a fresh env: the buffers must agree.
    let make_env = || {
        let env = rlhost_classic_control::build_env(
            "Pendulum-v1",
            &EnvArgs {
                config_json: RString::from(serde_json::to_string(&params.raw["config"]["env_config"]).unwrap()),
                num_envs: n as u32,
                seed,
                device: DlDevice::CPU,
                config_dir: Default::default(),
                verbose: false,
            },
        )
        .unwrap();
        EnvHandle::new(env).unwrap()
    };
    let mut env2 = make_env();
    let mut rollout = Rollout::new(&env2, h, Device::Cpu, false).unwrap();
    rollout.reset(&mut env2).unwrap();
    tch::manual_seed(7);
    rollout.play(&mut env2, &model, None, &cfg).unwrap();
    let mut env3 = make_env();
    let step = env3.step_buffers().unwrap();
    env3.reset(step.observations()).unwrap();
    let mut obs = step.obs(0).copy();
    let mut dones = Tensor::ones([n], (Kind::Float, Device::Cpu));
    let (mut b_values, mut b_rewards, mut b_dones) = (vec![], vec![], vec![]);
    for t in 0..h {
        let act = model.act(&obs);
        let value = act.value.squeeze_dim(1);
        let action = rollout.buf.actions.get(t);
        b_dones.push(dones.copy());
        b_values.push(value.copy());
        env3.step(&(action.clamp(-1.0, 1.0) * 2.0), &step).unwrap();
        let truncated = step.truncated().to_kind(Kind::Float);
        let terminated = step.terminated().to_kind(Kind::Float);
        let mut shaped = shape_reward(step.rewards(), &cfg.reward_shaper);
        shaped += &value * cfg.gamma * &truncated;
        b_rewards.push(shaped);
        obs = step.obs(0).copy();
        dones = terminated.maximum(&truncated);
    }
    let last_values = model.value(&obs).squeeze_dim(1);
    let (v, r, dn) = (Tensor::stack(&b_values, 0), Tensor::stack(&b_rewards, 0), Tensor::stack(&b_dones, 0));
    let adv = compute_gae(&r, &v, &dn, &last_values, &dones, cfg.gamma, cfg.tau);
    println!(
        "Rollout::play vs replay: values {:.2e} rewards {:.2e} dones {:.2e} advantages {:.2e}",
        rel(&rollout.buf.values, &v),
        rel(&rollout.buf.rewards, &r),
        rel(&rollout.buf.dones, &dn),
        rel(&rollout.advantages, &adv)
    );
    let noise = (&rollout.buf.actions - &rollout.buf.mus) / &rollout.buf.sigmas;
    println!(
        "rlhost noise mean {:.4} std {:.4}; rl_games noise mean {:.4} std {:.4}",
        noise.mean(Kind::Float).double_value(&[]),
        noise.std(true).double_value(&[]),
        ((&rg_actions - unflat(g("raw.mus"))) / unflat(g("raw.sigmas"))).mean(Kind::Float).double_value(&[]),
        ((&rg_actions - unflat(g("raw.mus"))) / unflat(g("raw.sigmas"))).std(true).double_value(&[])
    );
}
