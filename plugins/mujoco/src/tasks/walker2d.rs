//! `Walker2d-v5` (gymnasium/envs/mujoco/walker2d_v5.py, model `walker2d_v5.xml`): a planar
//! biped; ends when its torso height or angle leaves the healthy ranges.
use crate::config::{Common, ConfigReader, KeySpec};
use crate::model::{Model, Sim};
use crate::task::{ctrl_cost, Task, VelocityNoise};
use crate::tasks::planar;
use rlhost_sdk::api::ValueType;
use rlhost_sdk::PluginError;

/// The name configs use.
pub const NAME: &str = "Walker2d-v5";

/// The task's own keys (beyond [`crate::config::PLUGIN_KEYS`]).
pub const KEYS: &[KeySpec] = &[
    ("healthy_reward", ValueType::Float),
    ("terminate_when_unhealthy", ValueType::Bool),
    ("healthy_z_range", ValueType::List),
    ("healthy_angle_range", ValueType::List),
];

/// Walker2d with its keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Walker2d {
    common: Common,
    healthy_reward: f64,
    terminate_when_unhealthy: bool,
    healthy_z_range: (f64, f64),
    healthy_angle_range: (f64, f64),
}

impl Walker2d {
    /// Gymnasium's defaults of the shared keys.
    pub fn defaults() -> Common {
        Common {
            xml_file: "walker2d_v5.xml".into(),
            frame_skip: 4,
            forward_reward_weight: 1.0,
            ctrl_cost_weight: 1e-3,
            reset_noise_scale: 5e-3,
            exclude_current_positions_from_observation: true,
        }
    }

    /// Reads the keyword arguments from `env_config`.
    pub fn from_config(c: &ConfigReader, _model: &Model) -> Result<Self, PluginError> {
        Ok(Walker2d {
            common: Common::read(c, Self::defaults())?,
            healthy_reward: c.f64("healthy_reward", 1.0)?,
            terminate_when_unhealthy: c.bool("terminate_when_unhealthy", true)?,
            healthy_z_range: c.range("healthy_z_range", (0.8, 2.0))?,
            healthy_angle_range: c.range("healthy_angle_range", (-1.0, 1.0))?,
        })
    }

    fn is_healthy(&self, sim: &Sim) -> bool {
        let inside = |x: f64, (lo, hi): (f64, f64)| lo < x && x < hi;
        inside(sim.qpos()[1], self.healthy_z_range) && inside(sim.qpos()[2], self.healthy_angle_range)
    }
}

impl Task for Walker2d {
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
