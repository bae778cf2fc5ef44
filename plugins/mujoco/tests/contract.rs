//! The batch contract: seeds, reset noise, thread-count independence, time limits, same-step
//! auto-reset, the plugin boundary's tensors, and one-line refusals of bad `env_config`.
mod common;

use common::{actions, args, env, f32s, f64s};
use rlhost_mujoco::{build_env, config_keys, make_env, MujocoEnv, KNOWN_ENVS};
use rlhost_sdk::api::ActionSpace;
use rlhost_sdk::{EnvHandle, ErrorKind};
use tch::Tensor;

fn error(name: &str, config: &str) -> (ErrorKind, String) {
    let e = make_env(name, &args(2, 0, config)).unwrap_err();
    (e.kind(), e.message.to_string())
}

#[test]
fn observation_sizes_are_gymnasiums() {
    // Gymnasium 1.4.0's observation_space shapes with the default kwargs.
    for (name, dim, nu) in [
        ("Ant-v5", 105, 8),
        ("HalfCheetah-v5", 17, 6),
        ("Hopper-v5", 11, 3),
        ("Walker2d-v5", 17, 6),
        ("Humanoid-v5", 348, 17),
    ] {
        let e = env(name, 1, 0, "{}");
        assert_eq!((e.obs_dim(), e.model().nu()), (dim, nu), "{name}");
        assert_eq!(e.max_episode_steps(), 1000, "{name}");
    }
    let e = env(
        "Ant-v5",
        1,
        0,
        r#"{"include_cfrc_ext_in_observation": false, "exclude_current_positions_from_observation": false}"#,
    );
    assert_eq!(e.obs_dim(), 29);
}

#[test]
fn environment_i_is_seeded_with_seed_plus_i() {
    let batch = env("Ant-v5", 3, 10, "{}");
    let single = env("Ant-v5", 1, 12, "{}");
    assert_eq!(batch.qpos(2), single.qpos(0));
    assert_eq!(batch.qvel(2), single.qvel(0));
    assert_ne!(batch.qpos(0), batch.qpos(1));
}

#[test]
fn reset_noise_has_gymnasiums_bounds() {
    for (name, scale, uniform_velocity) in
        [("Ant-v5", 0.1, false), ("HalfCheetah-v5", 0.1, false), ("Hopper-v5", 5e-3, true), ("Humanoid-v5", 1e-2, true)]
    {
        let e = env(name, 16, 3, "{}");
        let qpos0 = e.model().qpos0().to_vec();
        let mut spread = 0.0f64;
        for i in 0..16 {
            for (q, q0) in e.qpos(i).iter().zip(&qpos0) {
                assert!((q - q0).abs() <= scale, "{name}: qpos noise {} above {scale}", q - q0);
                spread = spread.max((q - q0).abs());
            }
            if uniform_velocity {
                assert!(e.qvel(i).iter().all(|v| v.abs() <= scale), "{name}: qvel noise");
            }
        }
        assert!(spread > scale / 2.0, "{name}: the noise should use its range, largest {spread}");
    }
    let e = env("Hopper-v5", 2, 0, r#"{"reset_noise_scale": 0}"#);
    assert_eq!(e.qpos(1), e.model().qpos0());
    assert!(e.qvel(1).iter().all(|&v| v == 0.0));
}

fn run(e: &mut MujocoEnv, steps: usize) -> (Vec<rlhost_mujoco::Outcome>, Vec<f64>) {
    let (n, nu) = (e.num_envs(), e.model().nu());
    let mut outcomes = Vec::new();
    for t in 0..steps {
        outcomes.extend_from_slice(e.step_flat(&actions(n, nu, t)).unwrap());
    }
    let obs = (0..n).flat_map(|i| e.observation(i).to_vec()).collect();
    (outcomes, obs)
}

#[test]
fn thread_count_does_not_change_results() {
    for name in ["Hopper-v5", "Ant-v5"] {
        let mut one = env(name, 7, 5, r#"{"num_threads": 1}"#);
        let mut three = env(name, 7, 5, r#"{"num_threads": 3}"#);
        // The default steps on libtorch's intra-op threads.
        tch::set_num_threads(2);
        let mut torch = env(name, 7, 5, "{}");
        assert_eq!((one.num_threads(), three.num_threads(), torch.num_threads()), (1, 3, 2));
        let (a, b, c) = (run(&mut one, 60), run(&mut three, 60), run(&mut torch, 60));
        assert_eq!(a, b, "{name}");
        assert_eq!(a, c, "{name}, on libtorch's threads");
        assert!(a.0.iter().any(|o| o.terminated), "{name}: the run should include auto-resets");
    }
}

#[test]
fn time_limit_truncates_and_resets_in_the_same_step() {
    let mut e = env("HalfCheetah-v5", 2, 0, r#"{"max_episode_steps": 5}"#);
    let before = e.qpos(0).to_vec();
    for t in 0..5 {
        let out = e.step_flat(&actions(2, 6, t)).unwrap().to_vec();
        assert!(out.iter().all(|o| !o.terminated), "HalfCheetah never terminates");
        assert!(out.iter().all(|o| o.truncated == (t == 4)), "step {t}: {out:?}");
    }
    // The new episode's first state: elapsed 0, qpos within the noise of qpos0, new draws.
    assert_eq!(e.elapsed_steps(0), 0);
    let qpos0 = e.model().qpos0().to_vec();
    assert!(e.qpos(0).iter().zip(&qpos0).all(|(q, q0)| (q - q0).abs() <= 0.1));
    assert_ne!(e.qpos(0), &before[..]);
}

#[test]
fn a_terminal_step_returns_the_next_episodes_first_observation() {
    let mut e = env("Hopper-v5", 1, 0, "{}");
    for t in 0..200 {
        let o = e.step_flat(&actions(1, 3, t)).unwrap()[0];
        if o.terminated {
            let qpos0 = e.model().qpos0().to_vec();
            assert!(e.qpos(0).iter().zip(&qpos0).all(|(q, q0)| (q - q0).abs() <= 5e-3), "reset state");
            // The observation is the new episode's: qpos[1..] then qvel.
            assert_eq!(&e.observation(0)[..5], &e.qpos(0)[1..]);
            return;
        }
    }
    panic!("Hopper should fall within 200 steps of these actions");
}

#[test]
fn plugin_boundary_carries_float32_observations_and_the_ctrl_range() {
    use rlhost_sdk::NativeVecEnv;
    let mut handle = EnvHandle::new(build_env("Ant-v5", &args(4, 1, "{}")).unwrap()).unwrap();
    let Ok(ActionSpace::Box { low, high }) = handle.info().action_space.as_enum() else {
        panic!("Ant has a Box action space")
    };
    assert_eq!((low.to_vec(), high.to_vec()), (vec![-1.0f32; 8], vec![1.0f32; 8]));
    let out = handle.step_buffers().unwrap();
    handle.reset(out.observations()).unwrap();
    // The same environments outside the boundary, reset the same number of times.
    let mut twin = env("Ant-v5", 4, 1, "{}");
    let mut first = [Tensor::zeros([4, 105], (tch::Kind::Float, tch::Device::Cpu))];
    twin.reset(&mut first).unwrap();
    assert_eq!(f32s(&first[0]), f32s(out.obs(0)), "reset observations");
    for t in 0..10 {
        let a = actions(4, 8, t);
        handle.step(&Tensor::from_slice(&a).view([4, 8]), &out).unwrap();
        let expected = twin.step_flat(&a).unwrap().to_vec();
        let rewards = f64s(out.rewards());
        for (i, o) in expected.iter().enumerate() {
            assert_eq!(rewards[i], f64::from(o.reward as f32), "step {t} env {i}: reward");
        }
        let want: Vec<f32> =
            (0..4).flat_map(|i| twin.observation(i).iter().map(|&x| x as f32).collect::<Vec<_>>()).collect();
        assert_eq!(f32s(out.obs(0)), want, "step {t}: observations");
    }
}

#[test]
fn non_finite_actions_are_refused_before_any_step() {
    let mut e = env("Walker2d-v5", 2, 0, "{}");
    let before = e.qpos(0).to_vec();
    let mut a = vec![0.0f32; 12];
    a[8] = f32::NAN;
    let err = e.step_flat(&a).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NonFinite);
    assert!(err.message.contains("env 1"), "{}", err.message);
    assert_eq!(e.qpos(0), &before[..]);
}

#[test]
fn bad_env_config_is_refused_in_one_line_naming_the_key() {
    for (config, key) in [
        (r#"{"ctrl_cost_weight": "much"}"#, "ctrl_cost_weight"),
        (r#"{"healthy_z_range": [1.0, 0.2]}"#, "healthy_z_range"),
        (r#"{"frame_skip": 0}"#, "frame_skip"),
        (r#"{"num_threads": -2}"#, "num_threads"),
        (r#"{"terminate_when_unhealthy": "yes"}"#, "terminate_when_unhealthy"),
        (r#"{"main_body": "no_such_body"}"#, "main_body"),
        (r#"{"reset_noise_scale": -1}"#, "reset_noise_scale"),
    ] {
        let (kind, message) = error("Ant-v5", config);
        assert_eq!(kind, ErrorKind::Config, "{config}");
        assert!(message.contains(&format!("env_config.{key}")) && !message.contains('\n'), "{config}: {message}");
    }
    let (kind, message) = error("Ant-v5", r#"{"xml_file": "/nonexistent/ant.xml"}"#);
    assert_eq!(kind, ErrorKind::NotFound);
    assert!(message.contains("/nonexistent/ant.xml"), "{message}");
    let (kind, message) = error("Swimmer-v5", "{}");
    assert_eq!(kind, ErrorKind::NotFound);
    assert!(KNOWN_ENVS.iter().all(|n| message.contains(n)), "{message}");
    assert!(make_env("Ant-v5", &args(0, 0, "{}")).is_err());
    // A body given by name is Gymnasium's `data.body(name)`.
    assert!(make_env("Ant-v5", &args(1, 0, r#"{"main_body": "torso"}"#)).is_ok());
}

#[test]
fn each_builder_declares_its_own_keyword_arguments() {
    let keys = |name| config_keys(name).into_iter().map(|k| k.path.to_string()).collect::<Vec<_>>();
    let ant = keys("Ant-v5");
    assert!(ant.contains(&"config.env_config.contact_cost_weight".to_string()));
    assert!(ant.contains(&"config.env_config.num_threads".to_string()));
    let cheetah = keys("HalfCheetah-v5");
    assert!(!cheetah.contains(&"config.env_config.contact_cost_weight".to_string()));
    assert!(keys("Humanoid-v5").contains(&"config.env_config.include_cinert_in_observation".to_string()));
    assert!(keys("Hopper-v5").contains(&"config.env_config.healthy_state_range".to_string()));
}

#[test]
fn a_mujoco_error_is_a_panic_for_the_guard_not_an_exit() {
    rlhost_mujoco::model::install_handlers();
    let caught = std::panic::catch_unwind(|| {
        // SAFETY: a printf-style call with a matching argument; the handler unwinds out of it.
        unsafe { rlhost_mujoco::ffi::mju_error(c"%s".as_ptr(), c"stack overflow (test)".as_ptr()) }
    });
    let payload = caught.expect_err("the handler must not return");
    let message = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("MuJoCo error: stack overflow (test)"), "{message}");
    // The guard every plugin call runs under turns it into one error.
    let result = rlhost_sdk::guard(|| -> Result<(), rlhost_sdk::PluginError> {
        // SAFETY: as above.
        unsafe { rlhost_mujoco::ffi::mju_error(c"%s".as_ptr(), c"again".as_ptr()) };
        Ok(())
    });
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Panic);
}
