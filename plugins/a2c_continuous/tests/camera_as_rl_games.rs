//! A CNN policy on images against rl_games 1.6.5: Isaac Lab's camera cart-pole network and PPO
//! settings (`fixtures/cartpole_camera.json`: conv2d 32/64/64 tower, 512-unit MLP, 16 envs,
//! minibatch 512) on `CartPoleCamera`'s uint8 images, seed 42; rl_games trains the same on
//! `bench/torch_cartpole_camera.py`, the torch twin of the env with rlhost's env draws. The
//! fixture holds a digest of each state dict (the L2 norm and 256 evenly spaced elements per
//! tensor; the full dicts are 32 MB): at construction it is equal bit for bit, after one and two
//! epochs (rollouts on images divided by 255, value normalisation, the updates) it agrees within
//! the bounds below (the first update may round differently in the large GEMMs of another CPU).
//! Fixture: `bench/ab/camera_fixture.py`. One test in its own binary: it owns
//! libtorch's generator.
use abi_stable::std_types::RString;
use rlhost_a2c_continuous::PpoAgent;
use rlhost_sdk::api::{AlgoArgs, DlDevice, EnvArgs};
use rlhost_sdk::NativeAgent;
use std::collections::HashMap;
use std::path::Path;
use tch::{Kind, Tensor};

mod common;

const SEED: u64 = 42;

/// The digest's flat sample indices for a tensor of `numel` elements.
fn sample_indices(numel: i64) -> Vec<i64> {
    if numel <= 256 {
        return (0..numel).collect();
    }
    // Python's round() is half-to-even; (numel - 1)·i / 255 never lands on .5 for these sizes
    // unless exactly, which `round_ties_even` reproduces.
    (0..256).map(|i| ((i * (numel - 1)) as f64 / 255.0).round_ties_even() as i64).collect()
}

fn agent(epochs: u64, run_dir: &Path) -> PpoAgent {
    let mut params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::fixtures().join("cartpole_camera.json")).unwrap())
            .unwrap();
    let p = &mut params["params"];
    // rl_games' own ops: the fused kernels of the default `fast` arithmetic differ in the last bits.
    p["config"]["arithmetic"] = "rl_games".into();
    p["config"]["max_epochs"] = epochs.into();
    let env = rlhost_classic_control::build_env(
        "CartPoleCamera",
        &EnvArgs {
            config_json: RString::from("{}"),
            num_envs: p["config"]["num_actors"].as_u64().unwrap() as u32,
            seed: SEED,
            device: DlDevice::CPU,
            config_dir: Default::default(),
            verbose: false,
        },
    )
    .unwrap();
    let (observer, _record) = common::observer(true);
    rlhost_sdk::tensor::seed_libtorch(SEED);
    PpoAgent::new(AlgoArgs {
        params_json: RString::from(p.to_string()),
        env,
        observer,
        run_dir: RString::from(run_dir.to_string_lossy().as_ref()),
        device: DlDevice::CPU,
        seed: SEED,
    })
    .unwrap()
}

/// The worst relative difference of the norms and of the samples between the agent's tensors and
/// the digest `<prefix>.*`, the tensor it is in, and how many tensors were compared.
fn worst(agent: &PpoAgent, reference: &HashMap<String, Tensor>, prefix: &str) -> (f64, String, usize) {
    let (mut w, mut at, mut n) = (0.0f64, String::new(), 0);
    for (key, t) in agent.state_tensors() {
        let Some(norm) = reference.get(&format!("{prefix}.{key}.norm")) else { continue };
        let flat = t.to_kind(Kind::Double).reshape([-1]);
        let idx = Tensor::from_slice(&sample_indices(flat.numel() as i64));
        let sample = flat.index_select(0, &idx);
        let expected = reference[&format!("{prefix}.{key}.sample")].to_kind(Kind::Double).reshape([-1]);
        let rel_sample = (&sample - &expected).norm().double_value(&[]) / expected.norm().double_value(&[]).max(1e-12);
        let (ours, theirs) = (flat.norm().double_value(&[]), norm.double_value(&[0]));
        let rel_norm = (ours - theirs).abs() / theirs.abs().max(1e-12);
        let d = rel_sample.max(rel_norm);
        if d > w {
            (w, at) = (d, key);
        }
        n += 1;
    }
    (w, at, n)
}

#[test]
fn the_camera_cartpole_config_trains_on_images_as_rl_games() {
    let reference: HashMap<String, Tensor> =
        Tensor::read_npz(common::rl_games_fixture("rl_games_1.6.5_cartpole_camera_seed42.npz"))
            .unwrap()
            .into_iter()
            .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut one = agent(1, &dir.path().join("one"));
    let (d0, at0, n0) = worst(&one, &reference, "init");
    eprintln!("init: worst relative difference {d0:.2e} ({at0}) over {n0} tensors");
    assert_eq!(n0, 16, "13 network tensors and the value normaliser's 3 (no input normaliser)");
    // The samples are equal bit for bit; the norms differ only by the summation order (~1e-16).
    assert!(d0 < 1e-12, "initial {at0} differs from rl_games' by {d0:.2e}");
    one.train().unwrap();
    let (d1, at1, _) = worst(&one, &reference, "epoch1");
    eprintln!("after epoch 1: worst relative difference {d1:.2e} ({at1})");
    assert!(d1 < 1e-4, "after epoch 1, {at1} differs from rl_games' by {d1:.2e} (relative)");
    let mut two = agent(2, &dir.path().join("two"));
    two.train().unwrap();
    let (d2, at2, _) = worst(&two, &reference, "epoch2");
    eprintln!("after epoch 2: worst relative difference {d2:.2e} ({at2})");
    assert!(d2 < 1e-3, "after epoch 2, {at2} differs from rl_games' by {d2:.2e} (relative)");
}
