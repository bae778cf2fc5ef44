//! Unit checks of the building blocks against hand computations.
use rlhost_a2c_continuous::config::{
    BoundLossType, Initializer, LrScheduleConfig, Params, ScheduleType, SigmaParametrization,
};
use rlhost_a2c_continuous::gae::{compute_gae_cpu, compute_gae_tensor};
use rlhost_a2c_continuous::losses::{actor_loss, bound_loss, critic_loss, policy_kl};
use rlhost_a2c_continuous::meters::AverageMeter;
use rlhost_a2c_continuous::schedule::Scheduler;
use rlhost_model::init::init_weight;
use rlhost_model::network::{entropy, neglogp};
use rlhost_model::normalizer::RunningMeanStd;
use rlhost_sdk::ErrorKind;
use tch::{Device, Kind, Tensor};

mod common;

fn t(v: &[f32]) -> Tensor {
    Tensor::from_slice(v)
}

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b}");
}

#[test]
fn gae_matches_hand_computation() {
    // H = 3, N = 1; a done produced by step 1 (stored at row 2) cuts the recursion.
    let (g, l) = (0.9f64, 0.8f64);
    let r = t(&[1.0, 2.0, 3.0]).view([3, 1]);
    let v = t(&[0.5, 1.0, 1.5]).view([3, 1]);
    let d = t(&[1.0, 0.0, 1.0]).view([3, 1]);
    let (vl, dl) = (t(&[2.0]), t(&[0.0]));
    // t = 2: δ = 3 + 0.9·2 − 1.5 = 3.3, A2 = 3.3
    // t = 1: m = 1 − d2 = 0 → δ = 2 − 1 = 1, A1 = 1
    // t = 0: m = 1 − d1 = 1 → δ = 1 + 0.9·1 − 0.5 = 1.4, A0 = 1.4 + 0.72·1 = 2.12
    let expected = [2.12f64, 1.0, 3.3];
    for adv in [compute_gae_cpu(&r, &v, &d, &vl, &dl, g, l), compute_gae_tensor(&r, &v, &d, &vl, &dl, g, l)] {
        for (i, e) in expected.iter().enumerate() {
            close(adv.double_value(&[i as i64, 0]), *e, 1e-6);
        }
    }
}

#[test]
fn gae_cpu_and_tensor_paths_agree_bitwise() {
    tch::manual_seed(3);
    let (h, n) = (17, 9);
    let r = Tensor::randn([h, n], (Kind::Float, Device::Cpu));
    let v = Tensor::randn([h, n], (Kind::Float, Device::Cpu));
    let d = Tensor::rand([h, n], (Kind::Float, Device::Cpu)).gt(0.8).to_kind(Kind::Float);
    let vl = Tensor::randn([n], (Kind::Float, Device::Cpu));
    let dl = Tensor::rand([n], (Kind::Float, Device::Cpu)).gt(0.5).to_kind(Kind::Float);
    let a = compute_gae_cpu(&r, &v, &d, &vl, &dl, 0.99, 0.95);
    let b = compute_gae_tensor(&r, &v, &d, &vl, &dl, 0.99, 0.95);
    assert!(a.equal(&b), "max diff {}", (a - b).abs().max().double_value(&[]));
}

#[test]
fn running_mean_std_follows_the_formulas() {
    let mut rms = RunningMeanStd::new(&[2], Device::Cpu);
    let x = t(&[1.0, 10.0, 3.0, 20.0, 5.0, 30.0]).view([3, 2]);
    rms.update(&x);
    // count 1 prior (mean 0, var 1) + 3 samples.
    // column 0: μb = 3, σ²b = 8/3; mean = 3·3/4 = 2.25; var = (1·1 + 8/3·3 + 9·1·3/4)/4 = (1 + 8 + 6.75)/4
    close(rms.count, 4.0, 0.0);
    close(rms.mean.double_value(&[0]), 2.25, 1e-9);
    close(rms.var.double_value(&[0]), 15.75 / 4.0, 1e-6);
    // column 1: μb = 20, σ²b = 200/3; mean = 15; var = (1 + 200 + 400·3/4)/4
    close(rms.mean.double_value(&[1]), 15.0, 1e-9);
    close(rms.var.double_value(&[1]), 501.0 / 4.0, 1e-4);
    assert_eq!(rms.mean.kind(), Kind::Double);
    let y = rms.normalize(&t(&[2.25, 1000.0]).view([1, 2]));
    close(y.double_value(&[0, 0]), 0.0, 1e-6);
    close(y.double_value(&[0, 1]), 5.0, 0.0); // clipped
    let back = rms.denormalize(&t(&[1.0, 9.0]).view([1, 2]));
    close(back.double_value(&[0, 0]), 2.25 + (15.75f64 / 4.0 + 1e-5).sqrt(), 1e-4);
    close(back.double_value(&[0, 1]), 15.0 + 5.0 * (501.0f64 / 4.0 + 1e-5).sqrt(), 1e-3);
    // input clamped to 5
}

#[test]
fn losses_and_kl_on_small_numbers() {
    // ratio = exp(old − new): rows give ρ = e^{0.5} ≈ 1.6487 and e^{−0.5} ≈ 0.6065.
    let old = t(&[1.0, 1.0]);
    let new = t(&[0.5, 1.5]);
    let adv = t(&[1.0, -1.0]);
    let l = actor_loss(&old, &new, &adv, 0.2, false, true);
    // row 0: max(−1.6487, −1.2) = −1.2; row 1: max(0.6065, 0.8) = 0.8
    close(l.double_value(&[0]), -1.2, 1e-6);
    close(l.double_value(&[1]), 0.8, 1e-6);
    let pg = actor_loss(&old, &new, &adv, 0.2, false, false);
    close(pg.double_value(&[1]), -1.5, 1e-6);

    let (v_old, v, ret) = (t(&[0.0]), t(&[1.0]), t(&[2.0]));
    close(critic_loss(&v_old, &v, &ret, 0.2, false).double_value(&[0]), 1.0, 1e-6);
    // clipped: V_old + clamp(1, ±0.2) = 0.2 → (0.2 − 2)² = 3.24 > 1
    close(critic_loss(&v_old, &v, &ret, 0.2, true).double_value(&[0]), 3.24, 1e-5);

    let mu = t(&[1.5, -0.5, -2.0]).view([1, 3]);
    close(bound_loss(&mu, BoundLossType::Bound).double_value(&[0]), 0.16 + 0.81, 1e-5);
    close(bound_loss(&mu, BoundLossType::Regularisation).double_value(&[0]), 2.25 + 0.25 + 4.0, 1e-5);
    close(bound_loss(&mu, BoundLossType::Zero).double_value(&[0]), 0.0, 0.0);

    // KL(new‖old) with fudge terms, one action dim.
    let (mu_n, s_n, mu_o, s_o) =
        (t(&[0.0]).view([1, 1]), t(&[1.0]).view([1, 1]), t(&[0.5]).view([1, 1]), t(&[2.0]).view([1, 1]));
    let kl = policy_kl(&mu_n, &s_n, &mu_o, &s_o).double_value(&[]);
    let expected = (2.0f64 / 1.0 + 1e-5).ln() + (1.0 + 0.25) / (2.0 * (4.0 + 1e-5)) - 0.5;
    close(kl, expected, 1e-6);
    let same = policy_kl(&mu_n, &s_n, &mu_n, &s_n).double_value(&[]);
    close(same, 0.0, 1e-4);

    // Gaussian neg-log-prob and entropy.
    let x = t(&[1.0, 0.0]).view([1, 2]);
    let m = t(&[0.0, 0.0]).view([1, 2]);
    let s = t(&[1.0, 2.0]).view([1, 2]);
    let nlp = neglogp(&x, &m, &s, &s.log()).double_value(&[0]);
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    close(nlp, 0.5 + ln2pi + 2f64.ln(), 1e-5);
    close(entropy(&s).double_value(&[0]), 2.0 * (0.5 + 0.5 * ln2pi) + 2f64.ln(), 1e-5);
}

#[test]
fn initializers_have_the_right_statistics() {
    tch::manual_seed(1);
    let w = Tensor::zeros([400, 300], (Kind::Float, Device::Cpu));
    let std = |w: &Tensor| w.std(true).double_value(&[]);
    init_weight(&w, &Initializer::GlorotNormal { gain: 2.0 });
    close(std(&w), 2.0 * (2.0f64 / 700.0).sqrt(), 0.003);
    init_weight(&w, &Initializer::GlorotUniform { gain: 1.0 });
    let bound = (6.0f64 / 700.0).sqrt();
    assert!(w.abs().max().double_value(&[]) <= bound + 1e-6);
    close(std(&w), bound / 3f64.sqrt(), 0.002);
    init_weight(&w, &Initializer::Orthogonal { gain: 1.5 });
    let wwt = w.transpose(0, 1).matmul(&w); // (300, 300) = gain² I
    assert!((wwt - Tensor::eye(300, (Kind::Float, Device::Cpu)) * 2.25).abs().max().double_value(&[]) < 1e-3);
    init_weight(&w, &Initializer::VarianceScaling { scale: 2.0, mode: rlhost_a2c_continuous::config::FanMode::FanIn });
    close(std(&w), (2.0f64 / 300.0).sqrt(), 0.003);
    // Quirk 13: the truncation is at absolute ±2, so a wide distribution is cut there.
    let tiny = Tensor::zeros([200, 1], (Kind::Float, Device::Cpu));
    init_weight(
        &tiny,
        &Initializer::VarianceScaling { scale: 100.0, mode: rlhost_a2c_continuous::config::FanMode::FanIn },
    );
    assert!(tiny.abs().max().double_value(&[]) <= 2.0);
    init_weight(&w, &Initializer::Const { val: 0.25 });
    close(w.mean(Kind::Float).double_value(&[]), 0.25, 0.0);
    init_weight(&w, &Initializer::RandomUniform { a: 1.0, b: 3.0 });
    close(w.mean(Kind::Float).double_value(&[]), 2.0, 0.01);
    init_weight(
        &w,
        &Initializer::KaimingNormal {
            a: 0.0,
            mode: rlhost_a2c_continuous::config::FanMode::FanIn,
            nonlinearity: "relu".into(),
        },
    );
    close(std(&w), (2.0f64 / 300.0).sqrt(), 0.003);
}

#[test]
fn average_meter_is_rl_games_approximate_window() {
    let mut m = AverageMeter::new(4);
    m.update(2, 1.0);
    assert_eq!((m.mean(), m.current_size()), (1.0, 2));
    m.update(3, 3.0); // size 3, old = min(1, 2) = 1 → (1·1 + 3·3)/4
    assert_eq!((m.mean(), m.current_size()), (2.5, 4));
    m.update(10, 7.0); // size 4, old 0
    assert_eq!((m.mean(), m.current_size()), (7.0, 4));
}

#[test]
fn schedules() {
    let adaptive = LrScheduleConfig::Adaptive { kl_threshold: 0.008, min_lr: 1e-6, max_lr: 1e-2, lr_multiplier: 1.5 };
    let s = Scheduler::new(adaptive, 3e-4, 0.0);
    close(s.update(3e-4, 0.0, 1, 0, 0.02).0, 2e-4, 1e-12);
    close(s.update(3e-4, 0.0, 1, 0, 0.001).0, 4.5e-4, 1e-12);
    close(s.update(3e-4, 0.0, 1, 0, 0.008).0, 3e-4, 0.0);
    close(s.update(1e-6, 0.0, 1, 0, 1.0).0, 1e-6, 0.0);
    let linear = LrScheduleConfig::Linear { min_lr: 0.0, max_steps: 100.0, use_epochs: true, schedule_entropy: true };
    let s = Scheduler::new(linear, 1e-3, 0.01);
    let (lr, ent) = s.update(1e-3, 0.01, 25, 0, 0.0);
    close(lr, 0.75e-3, 1e-12);
    close(ent, 1e-4 + (0.01 - 1e-4) * 0.75, 1e-12);
}

fn parse(params: &serde_json::Value) -> Result<Params, rlhost_sdk::PluginError> {
    Params::parse(&params.to_string(), &mut |_| {})
}

#[test]
fn config_defaults_and_strings() {
    let mut p = common::reach_params(8, 16, 64);
    p["config"]["kl_threshold"] = "8e-3".into();
    p["config"]["normalize_value"] = "True".into();
    let params = parse(&p).unwrap();
    let c = &params.config;
    close(c.learning_rate, 3e-4, 0.0);
    assert!(matches!(c.lr_schedule, LrScheduleConfig::Adaptive { kl_threshold, min_lr, max_lr, lr_multiplier }
        if kl_threshold == 8e-3 && min_lr == 1e-6 && max_lr == 1e-2 && lr_multiplier == 1.5));
    assert!(c.normalize_value && c.clip_actions && c.value_bootstrap && c.ppo && !c.use_smooth_clamp);
    assert_eq!(c.schedule_type, ScheduleType::PerMinibatch);
    assert_eq!((c.max_epochs, c.max_frames, c.save_frequency, c.games_to_track), (-1, -1, 0, 100));
    assert_eq!(c.weight_decay, 0.0);
    assert_eq!(c.num_minibatches(), 2);
    assert_eq!(params.network.head.sigma_parametrization, SigmaParametrization::Exp);
    assert_eq!(params.network.head.min_sigma, 0.0);
    assert!(!params.network.separate);
    // minibatch_size_per_env
    let mut p = common::reach_params(8, 16, 64);
    p["config"].as_object_mut().unwrap().remove("minibatch_size");
    p["config"]["minibatch_size_per_env"] = 4.into();
    assert_eq!(parse(&p).unwrap().config.minibatch_size, 32);
    // max_steps counts as max_frames; null bounds coef; identity schedule from null.
    let mut p = common::reach_params(8, 16, 64);
    p["config"]["max_steps"] = 1000.into();
    p["config"]["bounds_loss_coef"] = serde_json::Value::Null;
    p["config"]["lr_schedule"] = serde_json::Value::Null;
    let c = parse(&p).unwrap().config;
    assert_eq!((c.max_frames, c.bounds_loss_coef), (1000, None));
    assert_eq!(c.lr_schedule, LrScheduleConfig::Identity);
}

#[test]
fn normalize_input_booleans_as_the_player_reads_them() {
    for value in [serde_json::json!(1), serde_json::json!("True"), serde_json::json!(true)] {
        let mut p = common::reach_params(8, 16, 64);
        p["config"]["normalize_input"] = value.clone();
        let params = parse(&p).unwrap_or_else(|e| panic!("normalize_input: {value} refused: {}", e.message));
        assert!(params.config.normalize_input, "{value}");
    }
    let mut p = common::reach_params(8, 16, 64);
    p["config"]["normalize_input"] = 0.into();
    assert!(!parse(&p).unwrap().config.normalize_input);
}

#[test]
fn config_errors_name_the_key() {
    let cases: Vec<(&str, serde_json::Value, ErrorKind, &str)> = vec![
        ("/config/minibatch_size", 100.into(), ErrorKind::Config, "params.config.minibatch_size"),
        ("/config/gamma", "abc".into(), ErrorKind::Config, "params.config.gamma"),
        (
            "/config/central_value_config",
            serde_json::json!({"network": {}}),
            ErrorKind::Config,
            "params.config.central_value_config.network.name",
        ),
        (
            "/config/central_value_config",
            serde_json::json!({"network": {"name": "actor_critic", "cnn": {"type": "conv2d"}}}),
            ErrorKind::Unsupported,
            "params.config.central_value_config.network.cnn (a CNN tower in the central value network)",
        ),
        ("/config/normalize_rms_advantage", true.into(), ErrorKind::Unsupported, "normalize_rms_advantage"),
        (
            "/network/rnn",
            serde_json::json!({"name": "identity", "units": 8, "layers": 1}),
            ErrorKind::Unsupported,
            "params.network.rnn.name (the identity RNN)",
        ),
        ("/network/rnn", serde_json::json!({"name": "lstm"}), ErrorKind::Config, "params.network.rnn.units"),
        (
            "/network/rnn",
            serde_json::json!({"name": "rnn", "units": 8, "layers": 1}),
            ErrorKind::Config,
            "params.network.rnn.name",
        ),
        (
            "/network/cnn",
            serde_json::json!({"type": "coord_conv2d", "activation": "relu", "initializer": {"name": "default"}, "convs": []}),
            ErrorKind::Config,
            "params.network.cnn.type",
        ),
        (
            "/network/cnn",
            serde_json::json!({"type": "conv2d", "activation": "relu", "initializer": {"name": "default"}, "convs": [{"filters": 4}]}),
            ErrorKind::Config,
            "params.network.cnn.convs[0]",
        ),
        ("/network/normalization", "layer_norm".into(), ErrorKind::Unsupported, "params.network.normalization"),
        ("/network/mlp/d2rl", true.into(), ErrorKind::Unsupported, "params.network.mlp.d2rl"),
        ("/network/mlp/activation", "leaky".into(), ErrorKind::Config, "params.network.mlp.activation"),
        ("/config/schedule_type", "weird".into(), ErrorKind::Config, "params.config.schedule_type"),
        ("/model/name", "continuous_a2c".into(), ErrorKind::Unsupported, "params.model.name"),
    ];
    for (pointer, value, kind, needle) in cases {
        let mut p = common::reach_params(8, 16, 64);
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        p.pointer_mut(parent).unwrap()[key] = value;
        let err = parse(&p).err().unwrap_or_else(|| panic!("{pointer} should fail"));
        assert_eq!(err.kind(), kind, "{pointer}: {}", err.message);
        assert!(err.message.contains(needle), "{pointer}: {}", err.message);
        assert!(!err.message.contains('\n'));
    }
    // divisibility message names both numbers
    let mut p = common::reach_params(8, 16, 64);
    p["config"]["minibatch_size"] = 100.into();
    let msg = parse(&p).err().unwrap().message.to_string();
    assert!(msg.contains("128") && msg.contains("100"), "{msg}");
    // missing required key
    let mut p = common::reach_params(8, 16, 64);
    p["config"].as_object_mut().unwrap().remove("e_clip");
    assert!(parse(&p).err().unwrap().message.contains("params.config.e_clip"));
    let mut p = common::reach_params(8, 16, 64);
    p["config"].as_object_mut().unwrap().remove("reward_shaper");
    assert!(parse(&p).err().unwrap().message.contains("params.config.reward_shaper"));
}

/// Issue 18 finding 5: nonsense values are one Config line naming the key and the allowed range.
#[test]
fn nonsense_values_name_the_key_and_the_range() {
    use serde_json::json;
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("/config/learning_rate", json!(-0.001), "params.config.learning_rate: must be in (0, inf), got -0.001"),
        ("/config/learning_rate", json!(0), "params.config.learning_rate: must be in (0, inf), got 0"),
        ("/config/grad_norm", json!(-1), "params.config.grad_norm: must be in (0, inf), got -1"),
        ("/config/gamma", json!(2.0), "params.config.gamma: must be in (0, 1], got 2"),
        ("/config/gamma", json!(-1), "params.config.gamma: must be in (0, 1], got -1"),
        ("/config/gamma", json!("nan"), "params.config.gamma: must be in (0, 1], got NaN"),
        ("/config/tau", json!(0), "params.config.tau: must be in (0, 1], got 0"),
        ("/config/tau", json!(1.5), "params.config.tau: must be in (0, 1], got 1.5"),
        ("/config/e_clip", json!(-0.2), "params.config.e_clip: must be in (0, inf), got -0.2"),
        ("/config/e_clip", json!("-inf"), "params.config.e_clip: must be in (0, inf), got -inf"),
        ("/config/critic_coef", json!(-1), "params.config.critic_coef: must be in [0, inf), got -1"),
        ("/config/entropy_coef", json!(-0.01), "params.config.entropy_coef: must be in [0, inf), got -0.01"),
        ("/config/weight_decay", json!(-1), "params.config.weight_decay: must be in [0, inf), got -1"),
        ("/config/kl_threshold", json!(0), "params.config.kl_threshold: must be in (0, inf), got 0"),
        ("/config/lr_multiplier", json!(0.5), "params.config.lr_multiplier: must be in [1, inf), got 0.5"),
        ("/config/min_lr", json!(0.1), "params.config.min_lr: must be <= params.config.max_lr (0.01), got 0.1"),
        (
            "/config/reward_shaper/scale_value",
            json!("inf"),
            "params.config.reward_shaper.scale_value: must be a finite number, got inf",
        ),
        (
            "/config/reward_shaper/shift_value",
            json!("nan"),
            "params.config.reward_shaper.shift_value: must be a finite number, got NaN",
        ),
        (
            "/config/reward_shaper/min_val",
            json!(1),
            "params.config.reward_shaper.min_val: must be <= params.config.reward_shaper.max_val (0), got 1",
        ),
    ];
    for (pointer, value, want) in cases {
        let mut p = common::reach_params(8, 16, 64);
        if pointer.ends_with("min_val") {
            p["config"]["reward_shaper"]["max_val"] = 0.into();
        }
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        p.pointer_mut(parent).unwrap()[key] = value;
        let err = parse(&p).err().unwrap_or_else(|| panic!("{pointer} should fail"));
        assert_eq!((err.kind(), err.message.as_str()), (ErrorKind::Config, want), "{pointer}");
    }
    // grad_norm is only read when gradients are truncated; the adaptive keys only with that schedule.
    let mut p = common::reach_params(8, 16, 64);
    p["config"]["truncate_grads"] = false.into();
    p["config"]["grad_norm"] = (-1).into();
    p["config"]["lr_schedule"] = serde_json::Value::Null;
    p["config"]["kl_threshold"] = 0.into();
    assert!(parse(&p).is_ok());
    // The edges of the ranges are allowed.
    let mut p = common::reach_params(8, 16, 64);
    p["config"]["gamma"] = 1.into();
    p["config"]["tau"] = 1.into();
    p["config"]["critic_coef"] = 0.into();
    p["config"]["lr_multiplier"] = 1.into();
    p["config"]["min_lr"] = 0.01.into();
    assert!(parse(&p).is_ok());
}

/// Issue 18 finding 5: with clip_actions, an environment whose bounds are inverted or not finite
/// is refused when the agent is built.
#[test]
fn inverted_or_infinite_action_bounds_are_refused_with_clip_actions() {
    let dir = tempfile::tempdir().unwrap();
    for (low, high, shown) in [(2.0f32, -2.0f32, "[2, -2]"), (f32::NEG_INFINITY, 1.0, "[-inf, 1]")] {
        let p = common::reach_params(8, 16, 64);
        let mut env = common::ReachEnv::new(8, 1, 10);
        env.bounds = (low, high);
        let err = common::make_agent(&p, env, dir.path(), true).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(
            err.message.as_str(),
            format!("params.config.clip_actions: the environment's action bounds must be finite with low <= high to rescale actions, got {shown} for action 0 (fix the environment or set clip_actions: false)")
        );
        let mut q = p.clone();
        q["config"]["clip_actions"] = false.into();
        let mut env = common::ReachEnv::new(8, 1, 10);
        env.bounds = (low, high);
        assert!(common::make_agent(&q, env, dir.path(), true).is_ok());
    }
}

/// `cargo test --release -p rlhost-plugin-a2c-continuous --test components gae_speed -- --ignored --nocapture`
#[test]
#[ignore]
fn gae_speed() {
    let (h, n) = (32, 256);
    let r = Tensor::randn([h, n], (Kind::Float, Device::Cpu));
    let v = Tensor::randn([h, n], (Kind::Float, Device::Cpu));
    let d = Tensor::zeros([h, n], (Kind::Float, Device::Cpu));
    let (vl, dl) = (Tensor::zeros([n], (Kind::Float, Device::Cpu)), Tensor::zeros([n], (Kind::Float, Device::Cpu)));
    for (name, f) in [
        ("cpu loop", compute_gae_cpu as fn(&Tensor, &Tensor, &Tensor, &Tensor, &Tensor, f64, f64) -> Tensor),
        ("tensor loop", compute_gae_tensor),
    ] {
        let start = std::time::Instant::now();
        for _ in 0..200 {
            let _ = f(&r, &v, &d, &vl, &dl, 0.99, 0.95);
        }
        eprintln!("{name}: {:.1} us per call (H={h}, N={n})", start.elapsed().as_secs_f64() / 200.0 * 1e6);
    }
}
