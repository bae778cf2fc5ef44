//! Classic-control environments for rlhost, batched on tch tensors.
//!
//! Four tasks follow Gymnasium's dynamics and rewards, with every environment of a batch held
//! as float64 tensor rows on the configured device:
//! - [`pendulum`], `Pendulum-v1`.
//! - [`mountain_car`], `MountainCarContinuous-v0`.
//! - [`cartpole`], `CartPoleContinuous`, CartPole-v1 with force = clamp(a, −1, 1) × 10.
//! - [`acrobot`], `AcrobotContinuous`, Acrobot-v1 with torque = clamp(a, −1, 1).
//! - [`cartpole_camera`], `CartPoleCamera`: the cart-pole observed as (100, 100, 3) uint8 images.
//!
//! The shared machinery is in [`batch`] (auto-reset, time limits, the plugin trait), [`rng`]
//! (counter-based per-environment random numbers), [`dynamics`] (the physics contract) and
//! [`config`] (`env_config`). The crate is both the plugin (`cdylib`) and an `rlib` whose
//! [`ClassicEnv`] type exposes its state for tests and benchmarks.
#![allow(non_local_definitions)]

pub mod acrobot;
pub mod batch;
pub mod cartpole;
pub mod cartpole_camera;
pub mod config;
pub mod dynamics;
pub mod mountain_car;
pub mod pendulum;
pub mod rng;

pub use batch::ClassicEnv;
pub use config::EnvConfig;
pub use dynamics::{Dynamics, Spec, Transition};

use rlhost_sdk::api::{EnvArgs, VecEnvBox};
use rlhost_sdk::{vec_env_box, ErrorKind, PluginError};

/// `Pendulum-v1` environments.
pub type PendulumEnv = ClassicEnv<pendulum::Pendulum>;
/// `MountainCarContinuous-v0` environments.
pub type MountainCarEnv = ClassicEnv<mountain_car::MountainCar>;
/// `CartPoleContinuous` environments.
pub type CartPoleEnv = ClassicEnv<cartpole::CartPole>;
/// `CartPoleCamera` environments.
pub type CartPoleCameraEnv = ClassicEnv<cartpole_camera::CartPoleCamera>;
/// `AcrobotContinuous` environments.
pub type AcrobotEnv = ClassicEnv<acrobot::Acrobot>;

/// Every environment name this plugin offers.
pub const KNOWN_ENVS: &[&str] =
    &[pendulum::NAME, mountain_car::NAME, cartpole::NAME, acrobot::NAME, cartpole_camera::NAME];

/// Builds the named environment, boxed for the plugin boundary; an unknown name lists the known ones.
pub fn build_env(name: &str, args: &EnvArgs) -> Result<VecEnvBox, PluginError> {
    Ok(match name {
        pendulum::NAME => vec_env_box(PendulumEnv::from_args(args)?)?,
        mountain_car::NAME => vec_env_box(MountainCarEnv::from_args(args)?)?,
        cartpole::NAME => vec_env_box(CartPoleEnv::from_args(args)?)?,
        acrobot::NAME => vec_env_box(AcrobotEnv::from_args(args)?)?,
        cartpole_camera::NAME => vec_env_box(CartPoleCameraEnv::from_args(args)?)?,
        other => {
            return Err(PluginError::new(
                ErrorKind::NotFound,
                format!("unknown environment '{other}' (known: {})", KNOWN_ENVS.join(", ")),
            ))
        }
    })
}

fn build_pendulum(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(pendulum::NAME, &args)
}

fn build_mountain_car(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(mountain_car::NAME, &args)
}

fn build_cartpole(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(cartpole::NAME, &args)
}

fn build_cartpole_camera(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(cartpole_camera::NAME, &args)
}

fn build_acrobot(args: EnvArgs) -> Result<VecEnvBox, PluginError> {
    build_env(acrobot::NAME, &args)
}

fn manifest() -> rlhost_sdk::api::PluginManifest {
    rlhost_sdk::manifest(
        "org.rlhost.classic_control",
        "Classic control",
        env!("CARGO_PKG_VERSION"),
        "Batched Gymnasium classic-control tasks on tch: Pendulum, continuous MountainCar, CartPole (also seen by a camera) and Acrobot.",
    )
}

rlhost_sdk::export_plugin! {
    manifest: manifest,
    algos: [],
    players: [],
    envs: [
        (pendulum::NAME, build_pendulum, config::config_keys),
        (mountain_car::NAME, build_mountain_car, config::config_keys),
        (cartpole::NAME, build_cartpole, config::config_keys),
        (acrobot::NAME, build_acrobot, config::config_keys),
        (cartpole_camera::NAME, build_cartpole_camera, config::config_keys),
    ],
}
