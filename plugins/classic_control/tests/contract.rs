//! The rl_games / Isaac Lab environment contract: same-step auto-reset, truncation at the step
//! limit apart from termination, staggered starts, and per-environment seeding.
mod common;

use common::{actions, bools, buffers, env, max_abs_diff};
use rlhost_classic_control::acrobot::Acrobot;
use rlhost_classic_control::cartpole::CartPole;
use rlhost_classic_control::mountain_car::MountainCar;
use rlhost_classic_control::pendulum::Pendulum;
use rlhost_classic_control::rng::{self, Stream};
use rlhost_classic_control::{ClassicEnv, Dynamics, EnvConfig};
use rlhost_sdk::NativeVecEnv;
use tch::{Device, Kind, Tensor};

/// The initial state environment i of seed `seed` draws for its episode number `episode`.
fn expected_initial<D: Dynamics>(seed: u64, n: i64, episode: i64) -> Tensor {
    let keys = rng::env_keys(seed, n, Device::Cpu);
    let counters = Tensor::full([n], episode, (Kind::Int64, Device::Cpu));
    D::initial_state(&rng::uniform(&keys, &counters, Stream::InitialState, D::spec().state_dim))
}

#[test]
fn truncates_and_resets_at_the_step_limit() {
    let (n, limit) = (3, 5);
    let mut e = env::<Pendulum>(n, 11, Some(limit));
    assert_eq!(e.info().max_episode_steps, limit);
    let mut out = buffers(&e);
    let mut obs = out.obs(0).zeros_like();
    e.reset(std::slice::from_mut(&mut obs)).unwrap();
    // Construction started episode 0; the explicit reset started episode 1.
    assert!(max_abs_diff(&e.state(), &expected_initial::<Pendulum>(11, 3, 1)) == 0.0);
    assert!(max_abs_diff(&obs, &e.observation()) == 0.0);
    for t in 1..=limit as i64 {
        let before = e.state();
        let a = actions(n as i64, t);
        e.step(&a, &mut out).unwrap();
        assert_eq!(bools(out.terminated()), vec![false; 3], "Pendulum never terminates");
        if t < limit as i64 {
            assert_eq!(bools(out.truncated()), vec![false; 3], "step {t}");
            assert_eq!(Vec::<i64>::try_from(e.elapsed_steps()).unwrap(), vec![t; 3]);
        } else {
            assert_eq!(bools(out.truncated()), vec![true; 3], "step {t}");
            // Same-step auto-reset: the observation is already the next episode's first...
            assert!(max_abs_diff(&e.state(), &expected_initial::<Pendulum>(11, 3, 2)) == 0.0);
            assert!(max_abs_diff(out.obs(0), &e.observation()) == 0.0);
            // ...and not the continuation, while the reward still belongs to the last step.
            let cont = Pendulum::step(&before, &a.to_kind(Kind::Double));
            assert!(max_abs_diff(out.obs(0), &Pendulum::observe(&cont.next_state)) > 1e-3);
            assert!(max_abs_diff(out.rewards(), &cont.reward) < 1e-6);
            assert_eq!(Vec::<i64>::try_from(e.elapsed_steps()).unwrap(), vec![0; 3]);
            assert_eq!(Vec::<i64>::try_from(e.episode_counters()).unwrap(), vec![3; 3]);
        }
    }
}

#[test]
fn terminal_env_resets_alone_and_others_continue() {
    let mut e = env::<CartPole>(3, 5, None);
    // Env 1 is about to leave the track; envs 0 and 2 are balanced.
    let state = Tensor::from_slice(&[0.0, 0.0, 0.01, 0.0, 2.39, 5.0, 0.0, 0.0, -0.02, 0.1, 0.0, -0.1]).view([3, 4]);
    e.set_state_f64(&state).unwrap();
    let mut out = buffers(&e);
    let a = Tensor::zeros([3, 1], (Kind::Float, Device::Cpu));
    e.step(&a, &mut out).unwrap();
    assert_eq!(bools(out.terminated()), vec![false, true, false]);
    assert_eq!(bools(out.truncated()), vec![false, false, false]);
    assert_eq!(Vec::<f32>::try_from(out.rewards()).unwrap(), vec![1.0, 1.0, 1.0]);
    let cont = CartPole::step(&state, &a.to_kind(Kind::Double));
    let expected_obs = CartPole::observe(&cont.next_state);
    for i in [0, 2] {
        assert!(max_abs_diff(&out.obs(0).get(i), &expected_obs.get(i)) < 1e-6, "env {i} continues");
    }
    // Env 1 starts its second episode from CartPole's reset distribution U(-0.05, 0.05).
    assert!(out.obs(0).get(1).abs().max().double_value(&[]) <= 0.05);
    assert!(max_abs_diff(&e.state().get(1), &expected_initial::<CartPole>(5, 3, 1).get(1)) == 0.0);
    assert_eq!(Vec::<i64>::try_from(e.episode_counters()).unwrap(), vec![1, 2, 1]);
}

#[test]
fn time_out_on_a_terminal_step_reports_both() {
    // As Gymnasium's TimeLimit: reaching the limit on a terminal step sets both flags.
    let mut e = env::<CartPole>(1, 0, Some(3));
    e.set_state_f64(&Tensor::from_slice(&[2.39, 5.0, 0.0, 0.0]).view([1, 4])).unwrap();
    e.set_elapsed_steps(&Tensor::from_slice(&[2i64])).unwrap();
    let mut out = buffers(&e);
    e.step(&Tensor::zeros([1, 1], (Kind::Float, Device::Cpu)), &mut out).unwrap();
    assert_eq!((bools(out.terminated())[0], bools(out.truncated())[0]), (true, true));
}

#[test]
fn goal_terminates_mountain_car_and_acrobot() {
    let mut car = env::<MountainCar>(1, 0, None);
    car.set_state_f64(&Tensor::from_slice(&[0.449, 0.02]).view([1, 2])).unwrap();
    let mut out = buffers(&car);
    car.step(&Tensor::from_slice(&[0.5f32]).view([1, 1]), &mut out).unwrap();
    assert!(bools(out.terminated())[0]);
    assert!((out.rewards().double_value(&[0]) - (100.0 - 0.025)).abs() < 1e-5);
    let first = car.state();
    assert!((-0.6..-0.4).contains(&first.double_value(&[0, 0])) && first.double_value(&[0, 1]) == 0.0);

    let mut acro = env::<Acrobot>(1, 0, None);
    // Straight up already: any step from here ends above the goal line.
    acro.set_state_f64(&Tensor::from_slice(&[std::f64::consts::PI, 0.0, 0.0, 0.0]).view([1, 4])).unwrap();
    let mut out = buffers(&acro);
    acro.step(&Tensor::zeros([1, 1], (Kind::Float, Device::Cpu)), &mut out).unwrap();
    assert!(bools(out.terminated())[0]);
    assert_eq!(out.rewards().double_value(&[0]), 0.0);
}

#[test]
fn random_initial_episode_length_staggers_time_outs() {
    let (n, limit) = (64u32, 10i64);
    let config = EnvConfig {
        max_episode_steps: Some(limit as u32),
        init_at_random_ep_len: true,
        states: false,
        channels_first: false,
    };
    let mut e = ClassicEnv::<Pendulum>::new(n, 3, Device::Cpu, &config).unwrap();
    let start = Vec::<i64>::try_from(e.elapsed_steps()).unwrap();
    assert!(start.iter().all(|&s| (0..limit).contains(&s)), "{start:?}");
    let distinct: std::collections::BTreeSet<_> = start.iter().collect();
    assert!(distinct.len() >= 8, "episodes should be spread over the limit: {start:?}");
    let mut out = buffers(&e);
    let mut first_end = vec![0i64; n as usize];
    let mut second_end = vec![0i64; n as usize];
    for t in 1..=2 * limit {
        e.step(&actions(n as i64, t), &mut out).unwrap();
        for (i, done) in bools(out.truncated()).into_iter().enumerate() {
            if done && first_end[i] == 0 {
                first_end[i] = t;
            } else if done && second_end[i] == 0 {
                second_end[i] = t;
            }
        }
    }
    for i in 0..n as usize {
        assert_eq!(first_end[i], limit - start[i], "env {i}: first episode is the rest of the limit");
        assert_eq!(second_end[i] - first_end[i], limit, "env {i}: later episodes are full length");
    }
}

/// Observations and rewards over `steps` steps (with resets every 7 steps and terminations).
fn rollout<D: Dynamics>(n: u32, seed: u64, steps: i64) -> (Tensor, Tensor) {
    let mut e = env::<D>(n, seed, Some(7));
    let mut out = buffers(&e);
    let mut obs = out.obs(0).zeros_like();
    e.reset(std::slice::from_mut(&mut obs)).unwrap();
    let (mut all_obs, mut all_rewards) = (vec![obs], vec![]);
    for t in 0..steps {
        e.step(&actions(n as i64, t), &mut out).unwrap();
        all_obs.push(out.obs(0).copy());
        all_rewards.push(out.rewards().copy());
    }
    (Tensor::stack(&all_obs, 0), Tensor::stack(&all_rewards, 0))
}

fn check_seeding<D: Dynamics>() {
    let name = D::spec().name;
    let (obs_a, rew_a) = rollout::<D>(8, 42, 30);
    let (obs_b, rew_b) = rollout::<D>(8, 42, 30);
    assert!(obs_a.equal(&obs_b) && rew_a.equal(&rew_b), "{name}: same seed, same trajectories");
    let (obs_c, _) = rollout::<D>(8, 43, 30);
    assert!(!obs_a.equal(&obs_c), "{name}: another seed, other trajectories");
    // Env i depends only on seed + i, not on N: the first 8 of 200 envs match the batch of 8.
    let (obs_big, rew_big) = rollout::<D>(200, 42, 30);
    assert!(obs_big.narrow(1, 0, 8).equal(&obs_a), "{name}: env i is independent of N");
    assert!(rew_big.narrow(1, 0, 8).equal(&rew_a), "{name}: rewards independent of N");
    // Env 1 of seed 42 starts like env 0 of seed 43 (env i is seeded from seed + i).
    assert!(obs_a.get(0).get(1).equal(&obs_c.get(0).get(0)), "{name}: env i uses seed + i");
}

#[test]
fn seeding_is_reproducible_and_independent_of_batch_size() {
    check_seeding::<Pendulum>();
    check_seeding::<MountainCar>();
    check_seeding::<CartPole>();
    check_seeding::<Acrobot>();
}

#[test]
fn info_describes_the_spaces() {
    let e = env::<Acrobot>(4, 0, None);
    let info = e.info();
    assert_eq!(info.num_envs, 4);
    assert_eq!(info.observations.len(), 1, "no privileged states unless asked");
    assert_eq!(info.observations[0].name, "obs");
    assert_eq!(info.observations[0].shape.as_slice(), &[6]);
    assert_eq!(info.box_bounds().unwrap().0, &[-1.0]);
    assert_eq!(info.max_episode_steps, 500);
    assert_eq!(info.autoreset(), Some(rlhost_sdk::api::AutoReset::SameStep));
    assert_eq!(env::<Pendulum>(1, 0, None).info().box_bounds().unwrap().1, &[2.0]);
    assert_eq!(env::<MountainCar>(1, 0, None).info().max_episode_steps, 999);
    assert_eq!(env::<CartPole>(1, 0, None).info().observations[0].shape.as_slice(), &[4]);
}

#[test]
fn states_true_adds_the_physical_state_as_a_privileged_group() {
    let config =
        EnvConfig { max_episode_steps: None, init_at_random_ep_len: false, states: true, channels_first: false };
    let mut e = ClassicEnv::<Acrobot>::new(3, 5, Device::Cpu, &config).unwrap();
    let info = e.info();
    assert_eq!(info.observations.len(), 2);
    assert_eq!((info.observations[1].name.as_str(), info.observations[1].shape.as_slice()), ("states", &[4i64][..]));
    let mut out = buffers(&e);
    e.reset(out.observations_mut()).unwrap();
    for t in 0..3 {
        e.step(&actions(3, t), &mut out).unwrap();
        // The critic group is the float64 physical state (θ1, θ2, ω1, ω2) in float32; the policy
        // group is its usual observation.
        assert!(out.obs(1).equal(&e.state().to_kind(Kind::Float)), "step {t}");
        assert!(out.obs(0).equal(&e.observation()), "step {t}");
    }
}
