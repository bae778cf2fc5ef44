//! Agreement with Gymnasium 1.x on the trajectories in `reference/` (see `reference/generate.py`).
//!
//! Every recorded transition is replayed as one row of a batch: the env's state and step
//! counters are set to Gymnasium's pre-step values, the recorded actions are applied, and the
//! next state, observation, reward, termination and truncation must agree within 1e-5.
mod common;

use common::{bools, buffers, max_abs_diff};
use rlhost_classic_control::acrobot::Acrobot;
use rlhost_classic_control::cartpole::CartPole;
use rlhost_classic_control::mountain_car::MountainCar;
use rlhost_classic_control::pendulum::Pendulum;
use rlhost_classic_control::{ClassicEnv, Dynamics, EnvConfig};
use rlhost_sdk::NativeVecEnv;
use serde_json::Value;
use tch::{Device, Kind, Tensor};

const TOL: f64 = 1e-5;

struct Reference {
    rows: i64,
    states: Tensor,
    elapsed: Tensor,
    actions: Tensor,
    next_states: Tensor,
    next_obs: Tensor,
    rewards: Tensor,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    episode_lengths: Vec<i64>,
}

fn matrix(v: &Value, kind: Kind) -> Tensor {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let (n, d) = (rows.len() as i64, rows[0].len() as i64);
    let flat: Vec<f64> = rows.into_iter().flatten().collect();
    Tensor::from_slice(&flat).view([n, d]).to_kind(kind)
}

fn load(name: &str) -> Reference {
    let path = format!("{}/reference/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["env"], name);
    let elapsed: Vec<i64> = serde_json::from_value(v["elapsed"].clone()).unwrap();
    let rewards: Vec<f64> = serde_json::from_value(v["rewards"].clone()).unwrap();
    Reference {
        rows: elapsed.len() as i64,
        states: matrix(&v["states"], Kind::Double),
        elapsed: Tensor::from_slice(&elapsed),
        actions: matrix(&v["actions"], Kind::Float),
        next_states: matrix(&v["next_states"], Kind::Double),
        next_obs: matrix(&v["next_obs"], Kind::Float),
        rewards: Tensor::from_slice(&rewards),
        terminated: serde_json::from_value(v["terminated"].clone()).unwrap(),
        truncated: serde_json::from_value(v["truncated"].clone()).unwrap(),
        episode_lengths: serde_json::from_value(v["episode_lengths"].clone()).unwrap(),
    }
}

/// Replays every recorded transition at once, through the physics and through `step`.
fn check_transitions<D: Dynamics>(name: &str) {
    let r = load(name);
    assert_eq!(D::spec().name, name);

    // The physics alone: next state and its observation, before any auto-reset.
    let t = D::step(&r.states, &r.actions.to_kind(Kind::Double));
    let d = max_abs_diff(&t.next_state, &r.next_states);
    assert!(d < TOL, "{name}: next state differs from Gymnasium by {d}");
    let d = max_abs_diff(&D::observe(&t.next_state).to_kind(Kind::Float), &r.next_obs);
    assert!(d < TOL, "{name}: next observation differs by {d}");

    // The whole env step: rewards, flags, and observations where no auto-reset happened.
    let mut env = ClassicEnv::<D>::new(r.rows as u32, 0, Device::Cpu, &EnvConfig::default()).unwrap();
    env.set_state_f64(&r.states).unwrap();
    env.set_elapsed_steps(&r.elapsed).unwrap();
    let mut out = buffers(&env);
    env.step(&r.actions, &mut out).unwrap();
    let d = max_abs_diff(out.rewards(), &r.rewards);
    assert!(d < TOL, "{name}: rewards differ by {d}");
    assert_eq!(bools(out.terminated()), r.terminated, "{name}: terminated");
    assert_eq!(bools(out.truncated()), r.truncated, "{name}: truncated");
    let done: Vec<bool> = r.terminated.iter().zip(&r.truncated).map(|(a, b)| a | b).collect();
    let live: Vec<i64> = (0..r.rows).filter(|&i| !done[i as usize]).collect();
    let live = Tensor::from_slice(&live);
    let d = max_abs_diff(&out.obs(0).index_select(0, &live), &r.next_obs.index_select(0, &live));
    assert!(d < TOL, "{name}: observations differ by {d}");
    assert!(done.iter().any(|&x| x), "{name}: the reference should contain episode ends");
}

/// Plays the first recorded episode open loop with one env (state set only once).
fn check_episode<D: Dynamics>(name: &str) {
    let r = load(name);
    let len = r.episode_lengths[0];
    let mut env = ClassicEnv::<D>::new(1, 0, Device::Cpu, &EnvConfig::default()).unwrap();
    env.set_state_f64(&r.states.narrow(0, 0, 1)).unwrap();
    let mut out = buffers(&env);
    for t in 0..len {
        env.step(&r.actions.narrow(0, t, 1), &mut out).unwrap();
        let d = (out.rewards().double_value(&[0]) - r.rewards.double_value(&[t])).abs();
        assert!(d < TOL, "{name}: step {t}: reward differs by {d}");
        assert_eq!(bools(out.terminated())[0], r.terminated[t as usize], "{name}: step {t}: terminated");
        assert_eq!(bools(out.truncated())[0], r.truncated[t as usize], "{name}: step {t}: truncated");
        if t + 1 < len {
            let d = max_abs_diff(out.obs(0), &r.next_obs.narrow(0, t, 1));
            assert!(d < TOL, "{name}: step {t}: observation differs by {d}");
        }
    }
}

#[test]
fn pendulum_matches_gymnasium() {
    check_transitions::<Pendulum>("Pendulum-v1");
    check_episode::<Pendulum>("Pendulum-v1");
}

#[test]
fn mountain_car_matches_gymnasium() {
    check_transitions::<MountainCar>("MountainCarContinuous-v0");
    check_episode::<MountainCar>("MountainCarContinuous-v0");
}

#[test]
fn cartpole_matches_gymnasium() {
    check_transitions::<CartPole>("CartPoleContinuous");
    check_episode::<CartPole>("CartPoleContinuous");
}

#[test]
fn acrobot_matches_gymnasium() {
    check_transitions::<Acrobot>("AcrobotContinuous");
    check_episode::<Acrobot>("AcrobotContinuous");
}
