//! Same seed, same run as rl_games 1.6.5: on the shipped Pendulum config with seed 42, rlhost's
//! initial weights are rl_games' bit for bit (libtorch's generator is consumed in rl_games' order),
//! and after one full epoch (rollout with rlhost's own action sampling, then the update) the
//! weights and normalisers agree to float rounding. Fixture: `bench/ab/seed_fixture.py`.
//! One test in its own binary: it owns libtorch's global generator.
use abi_stable::std_types::RString;
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::api::{AlgoArgs, DlDevice, EnvArgs};
use rlhost_sdk::NativeAgent;
use std::collections::HashMap;
use std::path::Path;
use tch::{Kind, Tensor};

mod common;

const SEED: u64 = 42;

fn fixture() -> HashMap<String, Tensor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rl_games_1.6.5_pendulum_seed42.npz");
    Tensor::read_npz(&path).unwrap().into_iter().collect()
}

/// ‖a − b‖ / ‖b‖ in float64.
fn relative_diff(a: &Tensor, b: &Tensor) -> f64 {
    let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double).reshape(a.size()));
    (&a - &b).norm().double_value(&[]) / b.norm().double_value(&[]).max(1e-12)
}

#[test]
fn seed_42_gives_rl_games_initial_weights_and_first_epoch() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("configs/pendulum_ppo.json")).unwrap()).unwrap();
    let p = &mut params["params"];
    p["config"]["max_epochs"] = 1.into();
    let env_config = p["config"]["env_config"].to_string();
    let num_envs = p["config"]["num_actors"].as_u64().unwrap() as u32;
    let env = rlhost_classic_control::build_env(
        "Pendulum-v1",
        &EnvArgs { config_json: RString::from(env_config), num_envs, seed: SEED, device: DlDevice::CPU },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (observer, _record) = common::observer(true);
    let mut agent = PpoAgent::new(AlgoArgs {
        params_json: RString::from(p.to_string()),
        env,
        observer,
        run_dir: RString::from(dir.path().to_string_lossy().as_ref()),
        device: DlDevice::CPU,
        seed: SEED,
    })
    .unwrap();
    let reference = fixture();

    let mut compared = 0;
    for (name, t) in agent.state_tensors() {
        if let Some(expected) = reference.get(&format!("init.{name}")) {
            let same = t.to_kind(Kind::Float).equal(&expected.to_kind(Kind::Float).reshape(t.size()));
            assert!(same, "initial {name} differs from rl_games' for seed {SEED}");
            compared += 1;
        }
    }
    assert_eq!(compared, 9, "expected every network tensor in the fixture");

    agent.train().unwrap();
    let mut worst = (0.0f64, String::new());
    compared = 0;
    for (name, t) in agent.state_tensors() {
        if let Some(expected) = reference.get(&format!("post.{name}")) {
            let d = relative_diff(&t, expected);
            if d > worst.0 {
                worst = (d, name.clone());
            }
            compared += 1;
        }
    }
    eprintln!("after epoch 1: worst relative difference {:.2e} ({})", worst.0, worst.1);
    assert_eq!(compared, 15, "expected weights and both normalisers in the fixture");
    assert!(worst.0 < 1e-5, "after epoch 1, {} differs from rl_games' by {:.2e} (relative)", worst.1, worst.0);
}
