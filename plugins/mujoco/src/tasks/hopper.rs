//! `Hopper-v5` (gymnasium/envs/mujoco/hopper_v5.py): a one-legged hopper; ends when it falls
//! (height, torso angle) or any state but x and z leaves `healthy_state_range`.
use crate::config::{Common, ConfigReader, KeySpec};
use crate::model::{Model, Sim};
use crate::task::{ctrl_cost, Task, VelocityNoise};
use crate::tasks::planar;
use rlhost_sdk::api::ValueType;
use rlhost_sdk::PluginError;

/// The name configs use.
pub const NAME: &str = "Hopper-v5";

/// The task's own keys (beyond [`crate::config::PLUGIN_KEYS`]).
pub const KEYS: &[KeySpec] = &[
    ("healthy_reward", ValueType::Float),
    ("terminate_when_unhealthy", ValueType::Bool),
    ("healthy_state_range", ValueType::List),
    ("healthy_z_range", ValueType::List),
    ("healthy_angle_range", ValueType::List),
];

/// Hopper with its keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Hopper {
    common: Common,
    healthy_reward: f64,
    terminate_when_unhealthy: bool,
    healthy_state_range: (f64, f64),
    healthy_z_range: (f64, f64),
    healthy_angle_range: (f64, f64),
}

impl Hopper {
    /// Gymnasium's defaults of the shared keys.
    pub fn defaults() -> Common {
        Common {
            xml_file: "hopper.xml".into(),
            frame_skip: 4,
            forward_reward_weight: 1.0,
            ctrl_cost_weight: 1e-3,
            reset_noise_scale: 5e-3,
            exclude_current_positions_from_observation: true,
        }
    }

    /// Reads the keyword arguments from `env_config`.
    pub fn from_config(c: &ConfigReader, _model: &Model) -> Result<Self, PluginError> {
        Ok(Hopper {
            common: Common::read(c, Self::defaults())?,
            healthy_reward: c.f64("healthy_reward", 1.0)?,
            terminate_when_unhealthy: c.bool("terminate_when_unhealthy", true)?,
            healthy_state_range: c.range("healthy_state_range", (-100.0, 100.0))?,
            healthy_z_range: c.range("healthy_z_range", (0.7, f64::INFINITY))?,
            healthy_angle_range: c.range("healthy_angle_range", (-0.2, 0.2))?,
        })
    }

    fn is_healthy(&self, sim: &Sim) -> bool {
        let inside = |x: f64, (lo, hi): (f64, f64)| lo < x && x < hi;
        // state_vector()[2:]: qpos without x and z, then every velocity.
        let state_ok = sim.qpos()[2..].iter().chain(sim.qvel()).all(|&x| inside(x, self.healthy_state_range));
        state_ok && inside(sim.qpos()[1], self.healthy_z_range) && inside(sim.qpos()[2], self.healthy_angle_range)
    }
}

impl Task for Hopper {
    fn common(&self) -> &Common {
        &self.common
    }

    fn obs_dim(&self, model: &Model) -> usize {
        planar::obs_dim(&self.common, model)
    }

    fn observe(&self, sim: &Sim, out: &mut [f64]) {
        planar::observe(&self.common, sim, out);
    }

    fn position(&self, sim: &Sim) -> [f64; 2] {
        [sim.qpos()[0], 0.0]
    }

    fn reward(&self, sim: &Sim, action: &[f32], velocity: [f64; 2]) -> f64 {
        let healthy = if self.is_healthy(sim) { self.healthy_reward } else { 0.0 };
        self.common.forward_reward_weight * velocity[0] + healthy - ctrl_cost(self.common.ctrl_cost_weight, action)
    }

    fn terminated(&self, sim: &Sim) -> bool {
        self.terminate_when_unhealthy && !self.is_healthy(sim)
    }

    fn velocity_noise(&self) -> VelocityNoise {
        VelocityNoise::Uniform
    }
}
