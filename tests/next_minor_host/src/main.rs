//! A host built against "plugin API 2.1" (the interface crate's `next-minor-fixture` feature:
//! one new root-module field, one new `VecEnv` method with a default body, one new enum variant).
//! It loads a plugin built against 2.0, creates an environment, steps it with plain CPU buffers
//! and prints what it saw as one JSON line, so the compatibility test can check each point.
use rlhost_plugin_api::abi_stable::std_types::{RSlice, RStr};
use rlhost_plugin_api::load::{host_version, load_root_module};
use rlhost_plugin_api::{DlDataType, DlDevice, EnvArgs, StepOutput, TensorView, API_VERSION};
use std::ffi::c_void;
use std::path::Path;

/// A CPU view of `data` with `shape` (row-major).
fn view<'a, T>(data: &'a mut [T], shape: &'a [i64], strides: &'a [i64], dtype: DlDataType) -> TensorView<'a> {
    TensorView {
        data: data.as_mut_ptr() as *mut c_void,
        byte_offset: 0,
        device: DlDevice::CPU,
        dtype,
        shape: RSlice::from_slice(shape),
        strides: RSlice::from_slice(strides),
    }
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: rlhost-next-minor-host PLUGIN.so ENV_NAME");
    let env_name = std::env::args().nth(2).expect("usage: rlhost-next-minor-host PLUGIN.so ENV_NAME");
    if std::env::args().nth(3).as_deref() == Some("--abi-stable-check-only") {
        // abi_stable's own check, as a host that did not use `load_root_module` would call it.
        let header = rlhost_plugin_api::abi_stable::library::lib_header_from_path(Path::new(&path)).expect("opens");
        let outcome = header.init_root_module::<rlhost_plugin_api::PluginModuleRef>().map(|_| ());
        println!("{{\"loaded\": {}}}", outcome.is_ok());
        return;
    }
    let module = match load_root_module(Path::new(&path)) {
        Ok(m) => m,
        Err(e) => {
            println!("{{\"loaded\": false, \"error\": {:?}}}", e.to_string());
            return;
        }
    };
    // The 2.0 plugin's module has no field of the later minor: its accessor answers None.
    let module_probe = module.next_minor_probe().map(|f| f());
    let n = 4usize;
    let args = EnvArgs {
        config_json: "{}".into(),
        num_envs: n as u32,
        seed: 7,
        device: DlDevice::CPU,
        config_dir: "".into(),
        verbose: false,
    };
    let mut env = (module.create_env())(RStr::from(env_name.as_str()), args).into_result().expect("create_env");
    let info = env.info();
    let obs_dim = info.observations[0].numel() as usize;
    let actions_dim = info.action_dim();
    // The method of the later minor is missing from the 2.0 plugin's vtable: its default answers.
    let env_probe = env.next_minor_probe();

    let (obs_shape, obs_strides) = ([n as i64, obs_dim as i64], [obs_dim as i64, 1]);
    let (act_shape, act_strides) = ([n as i64, actions_dim as i64], [actions_dim as i64, 1]);
    let (flag_shape, flag_strides) = ([n as i64], [1i64]);
    let mut obs = vec![0f32; n * obs_dim];
    let mut actions = vec![0.25f32; n * actions_dim];
    let mut rewards = vec![f32::NAN; n];
    let (mut terminated, mut truncated) = (vec![0u8; n], vec![0u8; n]);
    {
        let groups = [view(&mut obs, &obs_shape, &obs_strides, DlDataType::F32)];
        env.reset(RSlice::from_slice(&groups)).into_result().expect("reset");
    }
    for _ in 0..3 {
        let groups = [view(&mut obs, &obs_shape, &obs_strides, DlDataType::F32)];
        let out = StepOutput {
            observations: RSlice::from_slice(&groups),
            rewards: view(&mut rewards, &flag_shape, &flag_strides, DlDataType::F32),
            terminated: view(&mut terminated, &flag_shape, &flag_strides, DlDataType::BOOL),
            truncated: view(&mut truncated, &flag_shape, &flag_strides, DlDataType::BOOL),
        };
        env.step(view(&mut actions, &act_shape, &act_strides, DlDataType::F32), out).into_result().expect("step");
    }
    let rewards_finite = rewards.iter().all(|r| r.is_finite());
    println!(
        "{{\"loaded\": true, \"host_api\": \"{API_VERSION}\", \"host_minor\": {}, \"module_probe\": {}, \"env_probe\": {env_probe}, \"num_envs\": {}, \"rewards_finite\": {rewards_finite}}}",
        host_version().minor,
        module_probe.map_or("null".to_string(), |v| v.to_string()),
        info.num_envs
    );
}
