//! rlhost's side of `bench/rnn_update.py`: trains the shipped Pendulum config with a recurrent
//! `network.rnn` block and `seq_length` (the JSON of `--variant`, as in
//! `tests/fixtures/pendulum_rnn.json`) for `--epochs` epochs from seed 42 and prints one JSON line
//! with each epoch's update time (`performance/rl_update_time`: dataset preparation and the
//! minibatch updates, the span rl_games' `update_time` covers).
//!
//! ```text
//! cargo run --release -p rlhost-plugin-a2c-continuous --example rnn_update_time -- --epochs 6 --variant '{"seq_length": 4, "separate": false, "rnn": {"name": "lstm", "units": 256, "layers": 2, "before_mlp": true}}'
//! ```
//! Seed, env and config equal to rl_games' side, and the run equal to rl_games' bit for bit
//! (`tests/rnn_as_rl_games.rs`), so both time the update of the same batches.
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RSlice, RStr, RString};
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::api::{AlgoArgs, DlDevice, EnvArgs, EpochProgress, Observer, Observer_TO, Scalar};
use rlhost_sdk::NativeAgent;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Keeps the per-epoch update times.
struct UpdateTimes(Arc<Mutex<Vec<f64>>>);

impl Observer for UpdateTimes {
    fn scalars(&self, values: RSlice<'_, Scalar>) {
        for s in values.iter().filter(|s| s.tag.as_str() == "performance/rl_update_time") {
            self.0.lock().unwrap().push(s.value);
        }
    }
    fn message(&self, _text: RStr<'_>) {}
    fn epoch(&self, _p: EpochProgress) {}
    fn should_stop(&self) -> bool {
        false
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() {
    let epochs: u64 = arg("--epochs").map_or(6, |s| s.parse().expect("--epochs N"));
    let variant: serde_json::Value =
        serde_json::from_str(&arg("--variant").expect("--variant JSON")).expect("--variant is JSON");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("configs/pendulum_ppo.json")).unwrap()).unwrap();
    let p = &mut params["params"];
    p["config"]["max_epochs"] = epochs.into();
    p["config"]["seq_length"] = variant["seq_length"].clone();
    p["network"]["separate"] = variant["separate"].clone();
    p["network"]["rnn"] = variant["rnn"].clone();
    let threads = p["torch_threads"].as_i64().unwrap_or(2);
    // The host applies `params.torch_threads`; this example is its own host.
    tch::set_num_threads(threads as i32);
    let env = rlhost_classic_control::build_env(
        "Pendulum-v1",
        &EnvArgs {
            config_json: RString::from(p["config"]["env_config"].to_string()),
            num_envs: p["config"]["num_actors"].as_u64().unwrap() as u32,
            seed: 42,
            device: DlDevice::CPU,
            config_dir: Default::default(),
            verbose: false,
        },
    )
    .expect("Pendulum-v1");
    let times = Arc::new(Mutex::new(Vec::new()));
    let run_dir = tempfile::tempdir().unwrap();
    rlhost_sdk::tensor::seed_libtorch(42);
    let mut agent = PpoAgent::new(AlgoArgs {
        params_json: RString::from(p.to_string()),
        env,
        observer: Observer_TO::from_value(UpdateTimes(Arc::clone(&times)), TD_Opaque),
        run_dir: RString::from(run_dir.path().to_string_lossy().as_ref()),
        device: DlDevice::CPU,
        seed: 42,
    })
    .expect("agent");
    agent.train().expect("training");
    let times = times.lock().unwrap().clone();
    println!("{}", serde_json::json!({ "program": "rlhost", "update_time": times, "threads": threads }));
}
