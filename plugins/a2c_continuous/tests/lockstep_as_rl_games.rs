//! Lock-step parity with rl_games 1.6.5 on every shipped env and key family: each case of
//! `bench/ab/lockstep_cases.json` (CartPole, Acrobot and MountainCar with their terminations;
//! the entropy bonus, the bound loss, a learnable σ, separate actor and critic, no advantage
//! normalisation, linear and constant LR, no value normalisation, a central value on a
//! terminating env; and issue 13's Acrobot config as it is, for 20 epochs) trains from seed 42
//! here and in rl_games (`bench/ab/lockstep_fixture.py`,
//! whose fixture also holds the exact `params` both ran). Checked, for every case:
//! - the initial weights and normalisers are rl_games' bit for bit;
//! - after every epoch 1..K: every weight, both normalisers, the Adam moments and step (and the
//!   central value's), and the epoch's logged losses, KL and LR agree with rl_games'.
//!
//! On the machine that made the fixtures they agree bit for bit (bench/README.md has the table);
//! the bounds leave room for another CPU's GEMM rounding, which a generator or an arithmetic out
//! of step with rl_games' exceeds by orders of magnitude. One test per case; they share
//! libtorch's global generator, so a lock runs them one at a time.
use abi_stable::std_types::RString;
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::api::{AlgoArgs, DlDevice, EnvArgs};
use rlhost_sdk::NativeAgent;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tch::{Kind, Tensor};

mod common;

const SEED: u64 = 42;

/// Serialises the cases: each seeds and draws libtorch's global generator.
static GENERATOR: Mutex<()> = Mutex::new(());

/// Fixture entries that are not agent tensors (compared apart, or only reported).
const NOT_TENSORS: &[&str] = &["lr", "cv_lr", "env_terminations", "env_time_outs"];

/// One case's fixture: its tensors by name, and the `params` rl_games ran.
struct Fixture {
    tensors: HashMap<String, Tensor>,
    params: Value,
}

fn fixture(case: &str) -> Fixture {
    let path = common::rl_games_fixture(&format!("lockstep/{case}.npz"));
    let tensors: HashMap<String, Tensor> =
        Tensor::read_npz(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).into_iter().collect();
    let bytes: Vec<u8> = Vec::try_from(&tensors["params_json"]).unwrap();
    let mut params: Value = serde_json::from_slice(&bytes).unwrap();
    // rl_games' own ops: the fused kernels of the default `fast` arithmetic differ in the last bits.
    params["config"]["arithmetic"] = "rl_games".into();
    Fixture { tensors, params }
}

/// A fresh agent on the case's params and env (seed 42), as the host builds one.
fn agent(params: &Value, run_dir: &Path) -> (PpoAgent, Arc<common::Record>) {
    let config = &params["config"];
    let env_config = config.get("env_config").cloned().unwrap_or(Value::Null);
    let env = rlhost_classic_control::build_env(
        config["env_name"].as_str().unwrap(),
        &EnvArgs {
            config_json: RString::from(env_config.to_string()),
            num_envs: config["num_actors"].as_u64().unwrap() as u32,
            seed: SEED,
            device: DlDevice::CPU,
            config_dir: Default::default(),
            verbose: false,
        },
    )
    .unwrap();
    let (observer, record) = common::observer(true);
    rlhost_sdk::tensor::seed_libtorch(SEED); // as the host does before building an agent
    let agent = PpoAgent::new(AlgoArgs {
        params_json: RString::from(params.to_string()),
        env,
        observer,
        run_dir: RString::from(run_dir.to_string_lossy().as_ref()),
        device: DlDevice::CPU,
        seed: SEED,
    })
    .unwrap();
    (agent, record)
}

/// How far the agent's tensors are from the fixture's `<prefix>.*`.
#[derive(Debug, Default)]
struct Agreement {
    /// Tensors compared.
    compared: usize,
    /// The largest ‖a − b‖ / ‖b‖ and its tensor.
    worst_relative: (f64, String),
    /// The largest element-wise |a − b| over the network weights.
    max_abs_weights: f64,
    /// The largest element-wise |a − b| over everything compared.
    max_abs: f64,
}

fn agreement(agent: &PpoAgent, fixture: &Fixture, prefix: &str) -> Agreement {
    let mut a = Agreement::default();
    for (name, t) in agent.state_tensors() {
        let Some(expected) = fixture.tensors.get(&format!("{prefix}.{name}")) else { continue };
        let (got, want) = (t.to_kind(Kind::Double), expected.to_kind(Kind::Double).reshape(t.size()));
        let abs = (&got - &want).abs().max().double_value(&[]);
        let rel = (&got - &want).norm().double_value(&[]) / want.norm().double_value(&[]).max(1e-12);
        if rel > a.worst_relative.0 {
            a.worst_relative = (rel, name.clone());
        }
        if !name.contains("optimizer") && !name.contains("mean_std") {
            a.max_abs_weights = a.max_abs_weights.max(abs);
        }
        a.max_abs = a.max_abs.max(abs);
        a.compared += 1;
    }
    a
}

/// Fixture tensors under `<prefix>.` that the agent must have.
fn expected_count(fixture: &Fixture, prefix: &str) -> usize {
    let p = format!("{prefix}.");
    fixture.tensors.keys().filter_map(|k| k.strip_prefix(&p)).filter(|k| !NOT_TENSORS.contains(k)).count()
}

/// The `k`-th (1-based) value the agent logged under `tag`.
fn logged(record: &common::Record, tag: &str, k: usize) -> f64 {
    let scalars = record.scalars.lock().unwrap();
    let values: Vec<f64> = scalars.iter().filter(|(t, _, _)| t == tag).map(|&(_, _, v)| v).collect();
    *values.get(k - 1).unwrap_or_else(|| panic!("{tag} was logged {} times, not {k}", values.len()))
}

/// Trains the case epoch by epoch against its fixture.
fn check_case(case: &str) {
    let _lock = GENERATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let fixture = fixture(case);
    let epochs = fixture.params["config"]["max_epochs"].as_u64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut agent, record) = agent(&fixture.params, dir.path());

    for (name, t) in agent.state_tensors() {
        if let Some(expected) = fixture.tensors.get(&format!("init.{name}")) {
            let same = t.to_kind(Kind::Double).equal(&expected.to_kind(Kind::Double).reshape(t.size()));
            assert!(same, "{case}: initial {name} differs from rl_games'");
        }
    }
    assert_eq!(agreement(&agent, &fixture, "init").compared, expected_count(&fixture, "init"), "{case}: init");

    for k in 1..=epochs {
        // The host's stop request after epoch k; train() then resumes where it stopped.
        record.stop_after_epochs.store(k, Ordering::SeqCst);
        record.stop.store(false, Ordering::SeqCst);
        agent.train().unwrap();
        assert_eq!(agent.epoch(), k);
        let logged_diff = check_logged(case, &fixture, &record, k);
        let prefix = format!("epoch{k}");
        if !fixture.tensors.contains_key(&format!("{prefix}.lr")) {
            eprintln!("{case} epoch {k}: logged scalars max |diff| {logged_diff:.3e}");
            continue; // a long case keeps the state of some epochs only (`dump_epochs`)
        }
        let a = agreement(&agent, &fixture, &prefix);
        let terminations = fixture.tensors[&format!("{prefix}.env_terminations")].int64_value(&[0]);
        eprintln!(
            "{case} epoch {k}: {} tensors, max |diff| weights {:.3e}, all {:.3e}, worst relative {:.2e} ({}); \
             logged scalars max |diff| {logged_diff:.3e}; {terminations} terminations so far",
            a.compared, a.max_abs_weights, a.max_abs, a.worst_relative.0, a.worst_relative.1
        );
        assert_eq!(a.compared, expected_count(&fixture, &prefix), "{case}: tensors compared after epoch {k}");
        assert!(
            a.worst_relative.0 < bound(k),
            "{case}: after epoch {k}, {} differs from rl_games' by {:.2e} (relative)",
            a.worst_relative.1,
            a.worst_relative.0
        );
    }
}

/// The relative difference allowed after epoch `k`: rounding-level, growing with the epochs.
fn bound(k: u64) -> f64 {
    if k == 1 {
        1e-5
    } else {
        1e-3
    }
}

/// Epoch `k`'s logged losses, KL and LR against the values rl_games wrote to TensorBoard; returns
/// the largest absolute difference.
fn check_logged(case: &str, fixture: &Fixture, record: &common::Record, k: u64) -> f64 {
    let mut worst = 0.0f64;
    for (key, values) in fixture.tensors.iter().filter(|(key, _)| key.starts_with("scalar.")) {
        let tag = &key["scalar.".len()..];
        let expected = values.double_value(&[k as i64 - 1]);
        let got = logged(record, tag, k as usize);
        let tolerance = bound(k) * expected.abs().max(1e-6);
        assert!((got - expected).abs() <= tolerance, "{case}: epoch {k} {tag} {got} against rl_games' {expected}");
        worst = worst.max((got - expected).abs());
    }
    worst
}

/// One test per case of `bench/ab/lockstep_cases.json`.
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                check_case(stringify!($case));
            }
        )*
    };
}

cases!(
    cartpole,
    acrobot,
    mountain_car,
    entropy,
    bounds_loss,
    learnable_sigma,
    separate,
    no_advantage_normalization,
    linear_lr,
    constant_lr,
    no_value_normalization,
    central_value,
    acrobot_issue13,
);
