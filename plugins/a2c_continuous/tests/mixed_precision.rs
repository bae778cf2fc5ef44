//! `mixed_precision: True` as rl_games 1.6.5: on CUDA the policy update runs under bf16 autocast
//! with a GradScaler whose state the checkpoint keeps (`scaler.scale`, `scaler._growth_tracker`),
//! the central value's under float16 autocast; on the CPU both are off (float32, one line each).
//! The CUDA tests print "skipped: no CUDA" without a GPU, and fail then under
//! `RLHOST_REQUIRE_CUDA=1` (scripts/gpu_check.sh). The scaler's arithmetic itself is checked
//! against torch in `grad_scaler.rs`.
use rlhost_a2c_continuous::config::central_value::CV_MIXED_PRECISION_OFF_ON_CPU;
use rlhost_a2c_continuous::config::{ppo::MIXED_PRECISION_OFF_ON_CPU, Params};
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::api::DlDevice;
use rlhost_sdk::NativeAgent;
use serde_json::{json, Value};
use std::sync::Mutex;
use tch::{Device, Kind, Tensor};

mod common;
use common::{make_agent_on, reach_params, ReachEnv};

/// One test at a time draws from the process-global generators.
static GENERATOR: Mutex<()> = Mutex::new(());

fn parse_on(p: &Value, device: Device) -> (Result<Params, String>, Vec<String>) {
    let mut warnings = Vec::new();
    let parsed = Params::parse_on(&p.to_string(), device, &mut |w| warnings.push(w)).map_err(|e| e.message.to_string());
    (parsed, warnings)
}

/// Reach with a small central value on the privileged states.
fn with_central_value(mut p: Value) -> Value {
    p["config"]["central_value_config"] = json!({
        "minibatch_size": 32, "mini_epochs": 2, "learning_rate": "1e-3", "clip_value": true,
        "normalize_input": true, "truncate_grads": true, "mixed_precision": true,
        "network": {"name": "actor_critic", "central_value": true,
                    "mlp": {"units": [16, 8], "activation": "elu", "d2rl": false, "initializer": {"name": "default"}}}
    });
    p
}

#[test]
fn accepted_on_cuda_without_a_line_and_off_on_the_cpu_with_one_per_block() {
    let mut p = with_central_value(reach_params(8, 16, 64));
    p["config"]["mixed_precision"] = "True".into();
    let (parsed, warnings) = parse_on(&p, Device::Cuda(0));
    let parsed = parsed.expect("accepted on CUDA");
    assert!(parsed.config.mixed_precision);
    assert!(parsed.config.central_value.as_ref().unwrap().mixed_precision);
    assert!(warnings.is_empty(), "{warnings:?}");

    let (parsed, warnings) = parse_on(&p, Device::Cpu);
    assert!(parsed.unwrap().config.mixed_precision);
    assert_eq!(warnings, [MIXED_PRECISION_OFF_ON_CPU, CV_MIXED_PRECISION_OFF_ON_CPU]);
}

/// Whether CUDA is there; without it, whether the test may skip (not under RLHOST_REQUIRE_CUDA).
fn cuda_or_skip() -> bool {
    if tch::Cuda::is_available() {
        return true;
    }
    // scripts/gpu_check.sh sets it: there a skipped CUDA test is a failure.
    assert!(std::env::var_os("RLHOST_REQUIRE_CUDA").is_none(), "RLHOST_REQUIRE_CUDA is set but CUDA is not available");
    eprintln!("skipped: no CUDA");
    false
}

/// The scaler's (scale, growth tracker) as the agent's checkpoint holds them.
fn scaler_state(agent: &PpoAgent) -> Option<(f64, f64)> {
    let t = agent.state_tensors();
    let get = |k: &str| t.iter().find(|(n, _)| n == k).map(|(_, v)| v.double_value(&[]));
    Some((get("scaler.scale")?, get("scaler._growth_tracker")?))
}

fn adam_steps(agent: &PpoAgent) -> f64 {
    agent.state_tensors().iter().find(|(n, _)| n == "optimizer.step").unwrap().1.double_value(&[])
}

fn params(mixed: bool, epochs: i64) -> Value {
    let mut p = with_central_value(reach_params(8, 16, 64));
    p["config"]["max_epochs"] = epochs.into();
    p["config"]["mixed_precision"] = mixed.into();
    p["config"]["central_value_config"]["mixed_precision"] = mixed.into();
    p
}

fn train_on_cuda(p: &Value, dir: &std::path::Path) -> PpoAgent {
    let env = ReachEnv::new(8, 5, 10).with_states();
    let (mut agent, _) = make_agent_on(p, env, dir, true, DlDevice::cuda(0)).unwrap();
    agent.train().unwrap();
    agent
}

#[test]
fn on_cuda_it_trains_in_mixed_precision_and_resumes_with_the_scaler() {
    let _one = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    if !cuda_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (n, m) = (3i64, 2i64);
    let full = train_on_cuda(&params(true, n + m), dir.path());
    let plain = train_on_cuda(&params(false, n + m), dir.path());

    // bf16 autocast changes the arithmetic: same seed, different weights.
    let weight = |a: &PpoAgent| a.state_tensors().into_iter().find(|(k, _)| k.ends_with("mu.weight")).unwrap().1;
    assert!(!weight(&full).equal(&weight(&plain)), "mixed precision trained bit for bit as float32");
    assert!(scaler_state(&plain).is_none(), "no scaler without mixed_precision");
    for (name, t) in full.state_tensors() {
        assert!(bool::try_from(t.to_kind(Kind::Double).isfinite().all()).unwrap(), "{name} is not finite");
    }
    // bf16 has float32's range: no step overflows, so every step counts towards growth (the
    // interval, 2000, is far), and the scale stays torch's initial 65536.
    let steps = adam_steps(&full);
    assert!(steps > 0.0);
    assert_eq!(scaler_state(&full), Some((65536.0, steps)));

    // Save after n epochs, restore into a fresh agent, train m more: the scaler continues.
    let mut first = train_on_cuda(&params(true, n), dir.path());
    let path = dir.path().join("mid.safetensors");
    first.save(&path).unwrap();
    let env = ReachEnv::new(8, 5, 10).with_states();
    let (mut resumed, _) = make_agent_on(&params(true, n + m), env, dir.path(), true, DlDevice::cuda(0)).unwrap();
    resumed.restore(&path).unwrap();
    assert_eq!(scaler_state(&resumed), scaler_state(&first), "the scaler's state is restored");
    resumed.train().unwrap();
    assert_eq!(scaler_state(&resumed), scaler_state(&full));
    // CUDA kernels may reduce in another order between runs; report, and require closeness.
    let (a, b) = (full.state_tensors(), resumed.state_tensors());
    assert_eq!(a.len(), b.len());
    let mut bitwise = true;
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        let (ta, tb) = (ta.to_kind(Kind::Double), tb.to_kind(Kind::Double));
        bitwise &= ta.equal(&tb);
        assert!(ta.allclose(&tb, 1e-4, 1e-6, false), "{na}: resumed differs from uninterrupted");
    }
    eprintln!("resumed == uninterrupted bit for bit: {bitwise}");
}

#[test]
fn autocast_on_cuda_runs_linear_layers_in_the_configured_dtypes() {
    if !cuda_or_skip() {
        return;
    }
    let a = Tensor::ones([4, 4], (Kind::Float, Device::Cuda(0)));
    let policy =
        rlhost_torch_shim::autocast(Device::Cuda(0), rlhost_a2c_continuous::update::MIXED_PRECISION_DTYPE, || {
            a.matmul(&a)
        })
        .unwrap();
    assert_eq!(policy.kind(), Kind::BFloat16);
    let critic = rlhost_torch_shim::autocast(
        Device::Cuda(0),
        rlhost_a2c_continuous::central_value::CRITIC_MIXED_PRECISION_DTYPE,
        || a.matmul(&a),
    )
    .unwrap();
    assert_eq!(critic.kind(), Kind::Half);
    assert_eq!(a.matmul(&a).kind(), Kind::Float, "off again after the region");
}
