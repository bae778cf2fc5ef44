//! Lock-step A/B against rl_games 1.6.5 (bench/ab/dump_rlgames.py): loads rl_games' state and
//! prepared dataset at the start of an epoch's update, runs rlhost's update on it and compares.
//!
//! `cargo run --release -p rlhost-plugin-a2c-continuous --example ab_update -- /tmp/ab/params.json /tmp/ab/ep1.npz`
use rlhost_a2c_continuous::adam::Adam;
use rlhost_a2c_continuous::config::Params;
use rlhost_a2c_continuous::schedule::Scheduler;
use rlhost_a2c_continuous::update::{Batch, Trainer};
use rlhost_model::normalizer::RunningMeanStd;
use rlhost_model::policy::Model;
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

fn rel(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_kind(Kind::Double);
    let b = b.to_kind(Kind::Double).reshape(a.size());
    let d = (&a - &b).norm().double_value(&[]);
    d / b.norm().double_value(&[]).max(1e-12)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let params_json = std::fs::read_to_string(&args[1]).unwrap();
    let d: HashMap<String, Tensor> = Tensor::read_npz(&args[2]).unwrap().into_iter().collect();
    let g = |k: &str| d.get(k).unwrap_or_else(|| panic!("missing {k}")).shallow_clone();
    // The A/B replays rl_games' own ops: its arithmetic, whatever the file says.
    let mut raw: serde_json::Value = serde_json::from_str(&params_json).unwrap();
    raw["config"]["arithmetic"] = "rl_games".into();
    let params = Params::parse(&raw.to_string(), &mut |_| {}).unwrap();
    let cfg = params.config.clone();
    tch::manual_seed(0);
    let mut model = Model::new(&params.network, &[3], 1, true, true, Device::Cpu);
    tch::no_grad(|| {
        for (name, mut p) in model.net.named_parameters() {
            p.copy_(&g(&format!("pre.{name}")).to_kind(Kind::Float));
        }
    });
    let rms = |prefix: &str| RunningMeanStd {
        mean: g(&format!("{prefix}.running_mean")).to_kind(Kind::Double),
        var: g(&format!("{prefix}.running_var")).to_kind(Kind::Double),
        count: g(&format!("{prefix}.count")).double_value(&[]),
    };
    // Check prepare_dataset arithmetic: value RMS before, raw values/returns.
    {
        let mut vrms = rms("vrms_pre.value_mean_std");
        let values = g("raw.values");
        let returns = g("raw.returns");
        vrms.update(&values);
        let vn = vrms.normalize(&values);
        vrms.update(&returns);
        let rn = vrms.normalize(&returns);
        let adv = (&returns - &values).squeeze_dim(1);
        let adv = (&adv - adv.mean(Kind::Float)) / (adv.std(true) + 1e-8);
        println!(
            "prepare: old_values rel {:.2e}, returns rel {:.2e}, adv rel {:.2e}, vrms mean rel {:.2e} var rel {:.2e}",
            rel(&vn, &g("ds.old_values")),
            rel(&rn, &g("ds.returns")),
            rel(&adv, &g("ds.advantages")),
            rel(&vrms.mean, &g("pre.value_mean_std.running_mean")),
            rel(&vrms.var, &g("pre.value_mean_std.running_var")),
        );
    }
    model.obs_rms = Some(rms("pre.running_mean_std"));
    model.value_rms = Some(rms("pre.value_mean_std"));
    let mut adam = Adam::new(model.net.named_parameters(), g("lr_pre").double_value(&[0]), cfg.weight_decay);
    adam.step = g("adam_step").double_value(&[0]);
    if adam.step > 0.0 {
        let names: Vec<String> = adam.params.iter().map(|(n, _)| n.clone()).collect();
        for (i, n) in names.iter().enumerate() {
            adam.exp_avg[i] = g(&format!("adam.{n}.exp_avg")).to_kind(Kind::Float);
            adam.exp_avg_sq[i] = g(&format!("adam.{n}.exp_avg_sq")).to_kind(Kind::Float);
        }
    }
    let scheduler = Scheduler::new(cfg.lr_schedule.clone(), cfg.learning_rate, cfg.entropy_coef);
    let mut trainer = Trainer { adam, scheduler, entropy_coef: cfg.entropy_coef, dist: None, scaler: None };
    let mut batch = Batch {
        obs: g("ds.obs"),
        states: None,
        actions: g("ds.actions"),
        old_neglogp: g("ds.old_logp_actions"),
        old_values: g("ds.old_values"),
        returns: g("ds.returns"),
        advantages: g("ds.advantages"),
        mu: g("ds.mu"),
        sigma: g("ds.sigma"),
        sequences: None,
        critic_sequences: None,
    };
    for k in ["obs", "actions", "old_logp_actions", "old_values", "returns", "advantages", "mu", "sigma"] {
        println!("ds.{k}: {:?}", g(&format!("ds.{k}")).size());
    }
    let stats = trainer.train_epoch(&mut model, &mut batch, &cfg, 1, 0).unwrap();
    let mean = |k: &str| g(k).mean(Kind::Double).double_value(&[]);
    println!(
        "rlhost : a_loss {:.6e} c_loss {:.6e} entropy {:.6} kl {:.6e} lr_after {:.6e}",
        stats.a_loss, stats.c_loss, stats.entropy, stats.kl, trainer.adam.lr
    );
    println!(
        "rlgames: a_loss {:.6e} c_loss {:.6e} entropy {:.6} kl(mean mb) {:.6e} lr_after {:.6e}",
        mean("mb.a_loss"),
        mean("mb.c_loss"),
        mean("mb.entropy"),
        mean("mb.kl"),
        g("lr_post").double_value(&[0])
    );
    println!("rlgames per-mb kl {:?}", Vec::<f64>::try_from(g("mb.kl")).unwrap());
    println!("rlgames per-mb lr {:?}", Vec::<f64>::try_from(g("mb.lr_used")).unwrap());
    println!("rlgames per-mb gnorm {:?}", Vec::<f64>::try_from(g("mb.total_grad_norm")).unwrap());
    for (name, p) in model.net.named_parameters() {
        let post = g(&format!("post.{name}"));
        let pre = g(&format!("pre.{name}"));
        println!(
            "{name:40} rel err {:.2e} (update size rel {:.2e})",
            rel(&p, &post),
            rel(&(&post - &pre), &post) + 0.0
        );
    }
    let o = model.obs_rms.as_ref().unwrap();
    println!(
        "obs rms: mean rel {:.2e} var rel {:.2e} count {} vs {}",
        rel(&o.mean, &g("post.running_mean_std.running_mean")),
        rel(&o.var, &g("post.running_mean_std.running_var")),
        o.count,
        g("post.running_mean_std.count").double_value(&[])
    );
}
