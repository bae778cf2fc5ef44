//! The trainer's and the player's halves of the shared model agree bit for bit, and the config
//! reader gives both the same booleans.
use rlhost_model::checkpoint::{self, keys, LoadedCheckpoint};
use rlhost_model::policy::Model;
use rlhost_model::section::Section;
use rlhost_model::spec::NetworkConfig;
use serde_json::json;
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

fn network_json() -> serde_json::Value {
    json!({
        "name": "actor_critic",
        "separate": false,
        "space": {"continuous": {
            "mu_activation": "None", "sigma_activation": "None",
            "mu_init": {"name": "default"}, "sigma_init": {"name": "const_initializer", "val": 0},
            "fixed_sigma": true,
        }},
        "mlp": {"units": [16, 8], "activation": "elu", "d2rl": false, "initializer": {"name": "default"}},
    })
}

/// Float32 values as bit patterns, for exact comparison.
fn bits(t: &Tensor) -> Vec<u32> {
    Vec::<f32>::try_from(t.flatten(0, -1)).unwrap().into_iter().map(f32::to_bits).collect()
}

/// A trainer model with observation statistics from a few updates, saved to a checkpoint.
fn trained_checkpoint(dir: &std::path::Path, cfg: &NetworkConfig) -> (Model, std::path::PathBuf) {
    tch::manual_seed(7);
    let mut trainer = Model::new(cfg, &[3], 2, true, false, Device::Cpu);
    let scale = Tensor::from_slice(&[0.5f32, 3.0, 40.0]);
    let offset = Tensor::from_slice(&[-1.0f32, 0.25, 7.0]);
    for _ in 0..5 {
        let batch = Tensor::randn([512, 3], (Kind::Float, Device::Cpu)) * &scale + &offset;
        trainer.obs_rms.as_mut().unwrap().update(&batch);
    }
    let rms = trainer.obs_rms.as_ref().unwrap();
    let mut tensors: Vec<(String, Tensor)> =
        trainer.net.named_parameters().into_iter().map(|(n, p)| (n, p.detach())).collect();
    tensors.push(("running_mean_std.running_mean".into(), rms.mean.shallow_clone()));
    tensors.push(("running_mean_std.running_var".into(), rms.var.shallow_clone()));
    tensors.push(("running_mean_std.count".into(), Tensor::from(rms.count)));
    let mut meta = HashMap::new();
    meta.insert(keys::FORMAT.to_string(), checkpoint::FORMAT.to_string());
    meta.insert(keys::FORMAT_VERSION.to_string(), checkpoint::FORMAT_VERSION.to_string());
    meta.insert(keys::ALGO.to_string(), checkpoint::ALGO.to_string());
    meta.insert(keys::OBSERVATION_SHAPE.to_string(), "[3]".to_string());
    meta.insert(keys::ACTION_DIM.to_string(), "2".to_string());
    meta.insert(keys::NETWORK.to_string(), network_json().to_string());
    let path = dir.join("trained.safetensors");
    checkpoint::write_atomic(&path, &checkpoint::serialize(&tensors, meta).unwrap()).unwrap();
    (trainer, path)
}

#[test]
fn player_normalises_and_acts_bit_for_bit_as_the_trainer() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = NetworkConfig::from_json("params.network", &network_json()).unwrap();
    let (trainer, path) = trained_checkpoint(dir.path(), &cfg);

    let ckpt = LoadedCheckpoint::read(&path).unwrap();
    let stored = NetworkConfig::from_json(keys::NETWORK, &ckpt.network().unwrap()).unwrap();
    assert_eq!(stored, cfg);
    let player = Model::for_acting(&ckpt, &stored, &ckpt.observation_shape().unwrap(), 2, true, Device::Cpu).unwrap();

    // 100,000 observations spread over and beyond the statistics (some clip at ±5).
    let obs = Tensor::randn([100_000, 3], (Kind::Float, Device::Cpu)) * Tensor::from_slice(&[1.0f32, 6.0, 80.0])
        + Tensor::from_slice(&[-1.0f32, 0.25, 7.0]);
    let trainer_norm = trainer.obs_rms.as_ref().unwrap().normalize(&obs);
    assert_eq!(bits(&player.normalize_obs(&obs)), bits(&trainer_norm), "normalised observations differ");

    let trainer_mu = tch::no_grad(|| trainer.net.forward(&trainer_norm).mu);
    assert_eq!(bits(&player.actions(&obs, true)), bits(&trainer_mu), "deterministic actions differ");

    // The player's former float64 arithmetic differs in the last bits on these statistics: the
    // comparison above would catch a return to it.
    let rms = trainer.obs_rms.as_ref().unwrap();
    let float64 =
        ((obs.to_kind(Kind::Double) - &rms.mean) / (&rms.var + 1e-5).sqrt()).clamp(-5.0, 5.0).to_kind(Kind::Float);
    let differ = bits(&float64).iter().zip(bits(&trainer_norm)).filter(|(a, b)| **a != *b).count();
    println!("float64 normalisation differs from rl_games' float32 in {differ} of 300000 values");
    assert!(differ > 1000, "{differ}");
}

#[test]
fn booleans_read_the_same_for_every_plugin() {
    for (value, want) in
        [(json!(1), true), (json!("True"), true), (json!(true), true), (json!(0), false), (json!("false"), false)]
    {
        let block = json!({ "normalize_input": value });
        let section = Section::new("params.config", &block).unwrap();
        assert_eq!(section.opt_bool("normalize_input").unwrap(), Some(want), "{value}");
    }
    let block = json!({"normalize_input": "yes"});
    let err = Section::new("params.config", &block).unwrap().opt_bool("normalize_input").unwrap_err();
    assert!(err.message.contains("params.config.normalize_input"), "{}", err.message);
}

#[test]
fn compiled_prefix_is_ignored_by_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    let mut meta = HashMap::new();
    for (k, v) in [(keys::FORMAT, checkpoint::FORMAT), (keys::FORMAT_VERSION, "1"), (keys::ALGO, checkpoint::ALGO)] {
        meta.insert(k.to_string(), v.to_string());
    }
    let tensors = vec![("_orig_mod.a2c_network.mu.bias".to_string(), Tensor::from_slice(&[1.0f32, 2.0]))];
    checkpoint::write_atomic(&path, &checkpoint::serialize(&tensors, meta).unwrap()).unwrap();
    let ckpt = LoadedCheckpoint::read(&path).unwrap();
    assert!(ckpt.has("a2c_network.mu.bias"));
    let t = ckpt.tensor("a2c_network.mu.bias", Kind::Float, &[2], Device::Cpu).unwrap();
    assert_eq!(bits(&t), bits(&Tensor::from_slice(&[1.0f32, 2.0])));
    let err = ckpt.tensor("a2c_network.mu.bias", Kind::Float, &[3], Device::Cpu).unwrap_err();
    assert!(err.message.contains("has shape [2], expected [3]"), "{}", err.message);
}
