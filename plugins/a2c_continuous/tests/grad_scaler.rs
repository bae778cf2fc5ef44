//! The gradient scaler against torch's `torch.amp.GradScaler("cpu")` driving rl_games' fused Adam
//! (fixture: `bench/ab/grad_scaler_fixture.py`): skips on overflow, NaN and inf, backoff and growth,
//! with the same scale, growth tracker, Adam steps and parameters at every step.
use rlhost_a2c_continuous::adam::Adam;
use rlhost_a2c_continuous::grad_scaler::{GradScaler, BACKOFF_FACTOR, GROWTH_FACTOR, GROWTH_INTERVAL, INIT_SCALE};
use serde_json::Value;
use tch::{Device, Kind, Tensor};

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/grad_scaler_torch_2.13.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn tensor(v: &Value, shape: &[i64]) -> Tensor {
    Tensor::from_slice(&floats(v)).reshape(shape)
}

#[test]
fn defaults_are_torchs() {
    let d = &fixture()["defaults"];
    let scaler = GradScaler::new(Device::Cpu);
    assert_eq!(scaler.current_scale(), d["scale"].as_f64().unwrap());
    assert_eq!(scaler.growth_tracker(), d["_growth_tracker"].as_i64().unwrap());
    assert_eq!(INIT_SCALE, d["scale"].as_f64().unwrap());
    assert_eq!(GROWTH_FACTOR, d["growth_factor"].as_f64().unwrap());
    assert_eq!(BACKOFF_FACTOR, d["backoff_factor"].as_f64().unwrap());
    assert_eq!(GROWTH_INTERVAL, d["growth_interval"].as_i64().unwrap());
}

#[test]
fn skips_backs_off_and_grows_as_torch() {
    let fx = fixture();
    let w = tensor(&fx["init"]["w"], &[3, 5]).set_requires_grad(true);
    let b = tensor(&fx["init"]["b"], &[3]).set_requires_grad(true);
    let mut adam = Adam::new(
        vec![("w".into(), w.shallow_clone()), ("b".into(), b.shallow_clone())],
        fx["lr"].as_f64().unwrap(),
        0.0,
    );
    let mut scaler = GradScaler::with_settings(
        Device::Cpu,
        fx["init_scale"].as_f64().unwrap(),
        fx["growth_factor"].as_f64().unwrap(),
        fx["backoff_factor"].as_f64().unwrap(),
        fx["growth_interval"].as_i64().unwrap(),
    );
    let max_norm = fx["max_norm"].as_f64().unwrap();
    let (mut skipped, mut grown) = (0, 0);
    for (k, s) in fx["steps"].as_array().unwrap().iter().enumerate() {
        let (mut gw, mut gb) = (floats(&s["gw"]), floats(&s["gb"]));
        if let Some(p) = s["poison"].as_array() {
            let value: f32 = p[2].as_str().unwrap().parse().unwrap();
            let target = if p[0] == "w" { &mut gw } else { &mut gb };
            target[p[1].as_u64().unwrap() as usize] = value;
        }
        let gw = Tensor::from_slice(&gw).reshape([3, 5]);
        let gb = Tensor::from_slice(&gb);
        let loss = (&w * &gw).sum(Kind::Float) + (&b * &gb).sum(Kind::Float);
        adam.zero_grad();
        let before = scaler.current_scale();
        scaler.scale(&loss).backward();
        if s["clip"].as_bool().unwrap() {
            scaler.unscale(&adam).unwrap();
            adam.clip_grad_norm(max_norm);
        }
        let taken = scaler.step(&mut adam).unwrap();
        scaler.update();
        skipped += usize::from(!taken);
        grown += usize::from(scaler.current_scale() > before);
        assert_eq!(scaler.current_scale(), s["scale"].as_f64().unwrap(), "scale after step {k}");
        assert_eq!(scaler.growth_tracker(), s["growth_tracker"].as_i64().unwrap(), "growth tracker after step {k}");
        assert_eq!(adam.step, s["adam_step"].as_f64().unwrap(), "Adam steps after step {k}");
        assert_eq!(Vec::<f32>::try_from(&w.reshape([-1])).unwrap(), floats(&s["w"]), "w after step {k}");
        assert_eq!(Vec::<f32>::try_from(&b).unwrap(), floats(&s["b"]), "b after step {k}");
    }
    // The fixture shows each case: an overflow, a NaN and two infs skipped, and growth.
    assert_eq!(skipped, 4);
    assert!(grown >= 2, "grew {grown} times");
}

#[test]
fn unscale_twice_in_a_step_is_an_error_and_load_restores_the_state() {
    let w = Tensor::ones([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let mut adam = Adam::new(vec![("w".into(), w.shallow_clone())], 1e-3, 0.0);
    let mut scaler = GradScaler::new(Device::Cpu);
    scaler.scale(&w.sum(Kind::Float)).backward();
    scaler.unscale(&adam).unwrap();
    let err = scaler.unscale(&adam).unwrap_err();
    assert!(err.message.contains("unscale() has already been called"), "{}", err.message);
    assert!(scaler.step(&mut adam).unwrap());
    scaler.update();
    scaler.load(1024.0, 7);
    assert_eq!((scaler.current_scale(), scaler.growth_tracker()), (1024.0, 7));
}
