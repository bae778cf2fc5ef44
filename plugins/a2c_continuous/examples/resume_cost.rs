//! The cost of a resume at a large epoch count (issue 18 finding 3): restoring a checkpoint that
//! stores the generator state (constant time) against one without it (the fallback that replays
//! epoch x (horizon + 1) noise draws, as every resume did before).
//!
//! ```text
//! cargo run --release -p rlhost-plugin-a2c-continuous --example resume_cost -- [--envs 4096] [--epoch 2000] [--threads 2]
//! ```
//! Builds the shipped Pendulum config with `--envs` envs (horizon 32), saves a checkpoint, writes
//! its `epoch` as `--epoch`, and times `restore` into fresh agents with and without
//! `rng.generator_state`.
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RSlice, RStr, RString};
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::api::{AlgoArgs, DlDevice, EnvArgs, EpochProgress, Observer, Observer_TO, Scalar};
use rlhost_sdk::NativeAgent;
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;
use std::path::Path;
use std::time::Instant;

struct Quiet;

impl Observer for Quiet {
    fn scalars(&self, _values: RSlice<'_, Scalar>) {}
    fn message(&self, text: RStr<'_>) {
        println!("  agent: {text}");
    }
    fn epoch(&self, _p: EpochProgress) {}
    fn should_stop(&self) -> bool {
        false
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map_or(default, |s| s.parse().unwrap())
}

fn agent(params: &serde_json::Value, envs: u32, run_dir: &Path) -> PpoAgent {
    tch::manual_seed(42);
    let env = rlhost_classic_control::build_env(
        "Pendulum-v1",
        &EnvArgs {
            config_json: RString::from("{}"),
            num_envs: envs,
            seed: 42,
            device: DlDevice::CPU,
            config_dir: Default::default(),
            verbose: false,
        },
    )
    .expect("Pendulum-v1");
    PpoAgent::new(AlgoArgs {
        params_json: RString::from(params.to_string()),
        env,
        observer: Observer_TO::from_value(Quiet, TD_Opaque),
        run_dir: RString::from(run_dir.to_string_lossy().as_ref()),
        device: DlDevice::CPU,
        seed: 42,
    })
    .expect("agent")
}

/// Copies `src` to `dst` with metadata `epoch` set and, unless `keep_rng`, without the state.
fn rewrite(src: &Path, dst: &Path, epoch: u64, keep_rng: bool) {
    let bytes = std::fs::read(src).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    meta.insert("epoch".into(), epoch.to_string());
    let views: Vec<(String, TensorView)> =
        st.tensors().into_iter().filter(|(n, _)| keep_rng || n != "rng.generator_state").collect();
    std::fs::write(dst, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

fn main() {
    let envs = arg("--envs", 4096) as u32;
    let epoch = arg("--epoch", 2000);
    tch::set_num_threads(arg("--threads", 2) as i32);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/pendulum_ppo.json");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut params = doc["params"].clone();
    params["config"]["num_actors"] = envs.into();
    params["config"]["minibatch_size"] = (envs * 32).into();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.safetensors");
    agent(&params, envs, dir.path()).save(&saved).unwrap();
    println!(
        "Pendulum-v1, {envs} envs, horizon 32, checkpoint epoch {epoch}, {} torch threads",
        tch::get_num_threads()
    );
    let mut times = Vec::new();
    for (label, keep_rng) in [("with rng.generator_state", true), ("without (replay)", false)] {
        let file = dir.path().join(format!("{keep_rng}.safetensors"));
        rewrite(&saved, &file, epoch, keep_rng);
        let mut fresh = agent(&params, envs, dir.path());
        let start = Instant::now();
        fresh.restore(&file).unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(fresh.epoch(), epoch);
        println!("restore {label}: {secs:.4} s");
        times.push(secs);
    }
    println!("ratio (replay / state): {:.0}x", times[1] / times[0]);
}
