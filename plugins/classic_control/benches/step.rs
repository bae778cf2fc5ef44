//! Environment steps per second, called directly (the Rust type) and through the plugin API
//! (`vec_env_box` + `EnvHandle`, the ABI-stable trait objects, in this process), for
//! N = 256, 4096 and 65536 on the CPU, and on CUDA when available.
//!
//! Run with `cargo bench -p rlhost-plugin-classic-control`. `BENCH_SECONDS` sets the time spent
//! per measurement round (default 0.1; five rounds each way).
use rlhost_classic_control::{build_env, ClassicEnv, Dynamics, EnvConfig};
use rlhost_sdk::api::EnvArgs;
use rlhost_sdk::tensor::{device_name, dl_device};
use rlhost_sdk::{EnvHandle, NativeVecEnv, StepBuffers};
use std::time::{Duration, Instant};
use tch::{Device, Kind, Tensor};

const SIZES: [u32; 3] = [256, 4096, 65536];
/// Alternating measurement rounds per configuration.
const ROUNDS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `step` until `budget` has passed (at least 5 times) and returns env steps per second.
fn measure(n: u32, device: Device, budget: Duration, mut step: impl FnMut()) -> f64 {
    for _ in 0..3 {
        step();
    }
    sync(device);
    let start = Instant::now();
    let mut iters = 0u64;
    while iters < 5 || start.elapsed() < budget {
        step();
        iters += 1;
    }
    sync(device);
    (iters * n as u64) as f64 / start.elapsed().as_secs_f64()
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Actions spanning the action space, fixed for the whole run.
fn actions(n: u32, device: Device) -> Tensor {
    (Tensor::rand([n as i64, 1], (Kind::Float, device)) * 2.4 - 1.2).set_requires_grad(false)
}

fn bench<D: Dynamics>(device: Device, budget: Duration) {
    let name = D::spec().name;
    for n in SIZES {
        let a = actions(n, device);
        let mut env = ClassicEnv::<D>::new(n, 0, device, &EnvConfig::default()).unwrap();
        let mut out = StepBuffers::new(&env.info(), device).unwrap();
        let args = EnvArgs {
            config_json: "{}".into(),
            num_envs: n,
            seed: 0,
            device: dl_device(device),
            config_dir: Default::default(),
            verbose: false,
        };
        let mut handle = EnvHandle::new(build_env(name, &args).unwrap()).unwrap();
        let api_out = handle.step_buffers().unwrap();
        handle.reset(api_out.observations()).unwrap();
        // The machine is shared: alternate the two ways in short rounds and keep the medians,
        // so a burst of outside load hits both alike.
        let (mut direct, mut api) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            direct.push(measure(n, device, budget, || env.step(&a, &mut out).unwrap()));
            api.push(measure(n, device, budget, || handle.step(&a, &api_out).unwrap()));
        }
        let (direct, api) = (median(direct), median(api));
        println!(
            "| {name:<24} | {:<6} | {n:>6} | {:>14.0} | {:>14.0} | {:>8.3} |",
            device_name(device),
            direct,
            api,
            api / direct
        );
    }
}

fn main() {
    let _guard = tch::no_grad_guard();
    let seconds: f64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(0.1);
    let budget = Duration::from_secs_f64(seconds);
    let mut devices = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        devices.push(Device::Cuda(0));
    }
    println!("libtorch intra-op threads: {}", tch::get_num_threads());
    println!(
        "| {:<24} | {:<6} | {:>6} | {:>14} | {:>14} | {:>8} |",
        "env", "device", "N", "direct steps/s", "API steps/s", "API/dir"
    );
    println!("|{:-<26}|{:-<8}|{:-<8}|{:-<16}|{:-<16}|{:-<10}|", "", "", "", "", "", "");
    for device in devices {
        bench::<rlhost_classic_control::pendulum::Pendulum>(device, budget);
        bench::<rlhost_classic_control::mountain_car::MountainCar>(device, budget);
        bench::<rlhost_classic_control::cartpole::CartPole>(device, budget);
        bench::<rlhost_classic_control::acrobot::Acrobot>(device, budget);
    }
}
