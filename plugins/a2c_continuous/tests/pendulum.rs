//! A short real learning check on `Pendulum-v1` from the classic_control plugin (bounded by epochs,
//! not time). The full learning bar is `examples/pendulum_learning.rs`.
use abi_stable::std_types::RString;
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::api::{AlgoArgs, DlDevice, EnvArgs};
use rlhost_sdk::NativeAgent;

mod common;

#[test]
fn pendulum_return_improves_clearly() {
    let mut p = common::reach_params(256, 32, 4096);
    p["seed"] = 42.into();
    p["network"]["mlp"]["units"] = serde_json::json!([64, 64]);
    let c = &mut p["config"];
    c["name"] = "pendulum".into();
    c["gamma"] = 0.99.into();
    c["mini_epochs"] = 5.into();
    c["max_epochs"] = 45.into();
    c["save_best_after"] = 100.into();
    // Synchronised episodes (200 steps): every 6.25 epochs all 256 finish together, so the meter
    // holds exactly the latest round of episodes.
    let env = rlhost_classic_control::build_env(
        "Pendulum-v1",
        &EnvArgs {
            config_json: RString::from("{}"),
            num_envs: 256,
            seed: 42,
            device: DlDevice::CPU,
            config_dir: Default::default(),
            verbose: false,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (observer, record) = common::observer(true);
    rlhost_sdk::tensor::seed_libtorch(42); // as the host does before building an agent
    let mut agent = PpoAgent::new(AlgoArgs {
        params_json: RString::from(p.to_string()),
        env,
        observer,
        run_dir: RString::from(dir.path().to_string_lossy().as_ref()),
        device: DlDevice::CPU,
        seed: 42,
    })
    .unwrap();
    agent.train().unwrap();
    let epochs = record.epochs.lock().unwrap();
    let first = epochs.iter().find(|e| e.mean_reward.is_finite()).unwrap().mean_reward;
    let last = epochs.last().unwrap().mean_reward;
    eprintln!("pendulum: first round {first:.1}, after 45 epochs {last:.1}");
    assert!(last > first + 400.0 && last > -700.0, "no clear improvement: {first:.1} → {last:.1}");
}
