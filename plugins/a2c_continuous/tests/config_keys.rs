//! Isaac Lab's keys as rl_games 1.6.5 reads them: every refused key in one error,
//! `mixed_precision` (float32 on the CPU), `use_diagnostics` and the deprecated `seq_len`.
use rlhost_a2c_continuous::config::{ppo::MIXED_PRECISION_OFF_ON_CPU, Params};
use rlhost_a2c_continuous::diagnostics::{explained_variance, policy_clip_fraction};
use rlhost_sdk::{ErrorKind, NativeAgent};
use serde_json::json;
use tch::{Device, Tensor};

mod common;
use common::{assert_same_state, make_agent, reach_params, ReachEnv};

/// libtorch's CPU generator is process-global: the tests that compare two training runs bit for
/// bit hold this lock for both runs.
static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

const SEQ_LEN_WARNING: &str = "WARNING: seq_len is deprecated, use seq_length instead";

fn parse_on(p: &serde_json::Value, device: Device) -> (Result<Params, rlhost_sdk::PluginError>, Vec<String>) {
    let mut warnings = Vec::new();
    let parsed = Params::parse_on(&p.to_string(), device, &mut |w| warnings.push(w));
    (parsed, warnings)
}

#[test]
fn every_refused_key_is_named_in_one_error() {
    let mut p = reach_params(8, 16, 64);
    p["config"]["central_value_config"] = json!({"minibatch_size": 64, "network": {
        "name": "actor_critic", "central_value": true, "cnn": {"type": "conv2d"}}});
    p["config"]["normalize_rms_advantage"] = true.into();
    p["network"]["normalization"] = "layer_norm".into();
    // A value error elsewhere does not hide them: refusals come first.
    p["config"]["minibatch_size"] = 100.into();
    let err = parse_on(&p, Device::Cpu).0.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{}", err.message);
    assert_eq!(
        err.message.as_str(),
        "not supported yet by a2c_continuous: params.network.normalization (normalization 'layer_norm'), \
         params.config.central_value_config.network.cnn (a CNN tower in the central value network), \
         params.config.normalize_rms_advantage (the EMA advantage normaliser)"
    );

    // The player's path (a checkpoint's network block) lists its refusals the same way.
    let mut network = p["network"].clone();
    network["rnn"] = json!({"name": "identity", "units": 1, "layers": 1});
    let err = rlhost_model::spec::NetworkConfig::from_json("params.network", &network).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(
        err.message.ends_with(
            "params.network.normalization (normalization 'layer_norm'), params.network.rnn.name (the identity RNN)"
        ),
        "{}",
        err.message
    );
}

#[test]
fn mixed_precision_is_float32_on_the_cpu_with_one_line_and_accepted_on_cuda() {
    let mut p = reach_params(8, 16, 64);
    p["config"]["mixed_precision"] = "True".into();
    let (parsed, warnings) = parse_on(&p, Device::Cpu);
    assert!(parsed.unwrap().config.mixed_precision);
    assert_eq!(warnings, [MIXED_PRECISION_OFF_ON_CPU]);

    // Parsing for CUDA touches no device (tests/mixed_precision.rs trains there).
    let (parsed, warnings) = parse_on(&p, Device::Cuda(0));
    assert!(parsed.unwrap().config.mixed_precision);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn mixed_precision_on_the_cpu_trains_bit_for_bit_as_without_it() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let run = |mixed: bool| {
        let dir = tempfile::tempdir().unwrap();
        let mut p = reach_params(8, 16, 64);
        p["config"]["max_epochs"] = 3.into();
        p["config"]["mixed_precision"] = mixed.into();
        let (mut agent, record) = make_agent(&p, ReachEnv::new(8, 3, 10), dir.path(), true).unwrap();
        agent.train().unwrap();
        let said = record.messages.lock().unwrap().iter().filter(|m| *m == MIXED_PRECISION_OFF_ON_CPU).count();
        (agent, said)
    };
    let (plain, plain_said) = run(false);
    let (mixed, mixed_said) = run(true);
    assert_eq!((plain_said, mixed_said), (0, 1), "one line, only when the key is on");
    assert_eq!(plain.epoch(), 3);
    assert_same_state(&plain, &mixed);
}

#[test]
fn diagnostics_functions_compute_as_torch_ext() {
    // Expected values from torch 2.13 running rl_games 1.6.5's torch_ext formulas on these rows.
    let values = Tensor::from_slice(&[0.5f32, 1.0, -0.25, 2.0, 0.0, 1.5]).unsqueeze(1);
    let returns = Tensor::from_slice(&[0.75f32, 0.5, 0.0, 2.5, -0.5, 1.0]).unsqueeze(1);
    assert_eq!(explained_variance(&values, &returns).double_value(&[]), 0.7956777811050415);
    let new = Tensor::from_slice(&[1.0f32, 1.3, 0.7, 1.0, 0.81, 1.19]);
    let old = Tensor::from_slice(&[1.0f32, 1.0, 1.0, 1.25, 1.0, 1.0]);
    assert_eq!(policy_clip_fraction(&new, &old, 0.2).double_value(&[]), 0.6666666865348816);
}

/// The scalars of `tag` as (x, value).
fn series(record: &common::Record, tag: &str) -> Vec<(i64, f64)> {
    record.scalars.lock().unwrap().iter().filter(|s| s.0 == tag).map(|s| (s.1, s.2)).collect()
}

#[test]
fn use_diagnostics_logs_rl_games_tags_per_epoch_and_changes_nothing_else() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let run = |diagnostics: bool| {
        let dir = tempfile::tempdir().unwrap();
        let mut p = reach_params(8, 16, 32);
        p["config"]["max_epochs"] = 3.into();
        p["config"]["mini_epochs"] = 3.into();
        p["config"]["use_diagnostics"] = diagnostics.into();
        let (mut agent, record) = make_agent(&p, ReachEnv::new(8, 3, 10), dir.path(), true).unwrap();
        agent.train().unwrap();
        (agent, record)
    };
    let (plain, plain_record) = run(false);
    let (diag, record) = run(true);
    assert_same_state(&plain, &diag);
    assert!(!plain_record.scalars.lock().unwrap().iter().any(|s| s.0.starts_with("diagnostics/")));

    let exp_var = series(&record, "diagnostics/exp_var");
    eprintln!("exp_var {exp_var:?} clip_frac/1 {:?}", series(&record, "diagnostics/clip_frac/1"));
    assert_eq!(exp_var.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2, 3], "x is the epoch");
    assert!(exp_var.iter().all(|&(_, v)| v.is_finite() && v <= 1.0), "{exp_var:?}");
    for mini_epoch in 0..3 {
        let clip = series(&record, &format!("diagnostics/clip_frac/{mini_epoch}"));
        assert_eq!(clip.len(), 3, "mini-epoch {mini_epoch}");
        assert!(clip.iter().all(|&(_, v)| (0.0..=1.0).contains(&v)), "{clip:?}");
    }
    assert!(series(&record, "diagnostics/clip_frac/3").is_empty());
    // The first mini-epoch's forward is the rollout policy: nothing is clipped yet.
    assert!(series(&record, "diagnostics/clip_frac/0").iter().any(|&(_, v)| v == 0.0));
    let rms_var = series(&record, "diagnostics/rms_value/var");
    let rms_mean = series(&record, "diagnostics/rms_value/mean");
    assert_eq!((rms_var.len(), rms_mean.len()), (3, 3));
    assert!(rms_var.iter().all(|&(_, v)| v > 0.0 && v.is_finite()), "{rms_var:?}");
    assert!(rms_mean.iter().all(|&(_, v)| v.is_finite() && v != 0.0), "{rms_mean:?}");
    let stored = diag.state_tensors().into_iter().find(|(n, _)| n.ends_with("value_mean_std.running_var")).unwrap();
    assert_eq!(rms_var[2].1, stored.1.double_value(&[0]), "the normaliser after the last update");
}

#[test]
fn seq_len_warns_as_rl_games_and_seq_length_wins() {
    let mut p = reach_params(8, 16, 64);
    p["config"]["seq_len"] = 8.into();
    let (parsed, warnings) = parse_on(&p, Device::Cpu);
    // rl_games 1.6.5 only warns: `seq_length = config.get('seq_length', 4)` never reads seq_len.
    assert_eq!(parsed.unwrap().config.seq_length, 4);
    assert_eq!(warnings, [SEQ_LEN_WARNING]);
    p["config"]["seq_length"] = 16.into();
    let (parsed, warnings) = parse_on(&p, Device::Cpu);
    assert_eq!(parsed.unwrap().config.seq_length, 16);
    assert_eq!(warnings, [SEQ_LEN_WARNING]);
    p["config"].as_object_mut().unwrap().remove("seq_len");
    assert!(parse_on(&p, Device::Cpu).1.is_empty());
}

#[test]
fn arithmetic_is_fast_by_default_and_reaches_every_network() {
    use rlhost_model::spec::Arithmetic;
    let mut p = reach_params(8, 16, 64);
    let params = parse_on(&p, Device::Cpu).0.unwrap();
    assert_eq!((params.config.arithmetic, params.network.arithmetic), (Arithmetic::Fast, Arithmetic::Fast));

    p["config"]["arithmetic"] = "rl_games".into();
    p["config"]["central_value_config"] = json!({"minibatch_size": 64, "mini_epochs": 1, "learning_rate": 1e-3,
        "clip_value": true, "normalize_input": true, "truncate_grads": true, "grad_norm": 0.5,
        "network": {"name": "actor_critic", "central_value": true,
                    "mlp": {"units": [8], "activation": "elu", "initializer": {"name": "default"}}}});
    let params = parse_on(&p, Device::Cpu).0.unwrap();
    assert_eq!(params.network.arithmetic, Arithmetic::RlGames);
    assert_eq!(params.config.central_value.unwrap().network.arithmetic, Arithmetic::RlGames);

    p["config"]["arithmetic"] = "exact".into();
    let err = parse_on(&p, Device::Cpu).0.expect_err("unknown arithmetic");
    assert_eq!(
        err.message.as_str(),
        "params.config.arithmetic: unknown arithmetic 'exact' (expected fast or rl_games)"
    );
}
