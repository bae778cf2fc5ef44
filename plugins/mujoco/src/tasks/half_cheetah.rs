//! `HalfCheetah-v5` (gymnasium/envs/mujoco/half_cheetah_v5.py): run forward; never terminates.
use crate::config::{Common, ConfigReader, KeySpec};
use crate::model::{Model, Sim};
use crate::task::{ctrl_cost, ObsWriter, Task, VelocityNoise};
use rlhost_sdk::PluginError;

/// The name configs use.
pub const NAME: &str = "HalfCheetah-v5";

/// The task's own keys (beyond [`crate::config::PLUGIN_KEYS`]).
pub const KEYS: &[KeySpec] = &[];

/// HalfCheetah with its keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct HalfCheetah {
    common: Common,
}

impl HalfCheetah {
    /// Gymnasium's defaults.
    pub fn defaults() -> Common {
        Common {
            xml_file: "half_cheetah.xml".into(),
            frame_skip: 5,
            forward_reward_weight: 1.0,
            ctrl_cost_weight: 0.1,
            reset_noise_scale: 0.1,
            exclude_current_positions_from_observation: true,
        }
    }

    /// Reads the keyword arguments from `env_config`.
    pub fn from_config(c: &ConfigReader, _model: &Model) -> Result<Self, PluginError> {
        Ok(HalfCheetah { common: Common::read(c, Self::defaults())? })
    }
}

impl Task for HalfCheetah {
    fn common(&self) -> &Common {
        &self.common
    }

    fn obs_dim(&self, model: &Model) -> usize {
        model.nq() + model.nv() - usize::from(self.common.exclude_current_positions_from_observation)
    }

    fn observe(&self, sim: &Sim, out: &mut [f64]) {
        let skip = usize::from(self.common.exclude_current_positions_from_observation);
        let mut w = ObsWriter::new(out);
        w.push(&sim.qpos()[skip..]);
        w.push(sim.qvel());
        w.finish();
    }

    fn position(&self, sim: &Sim) -> [f64; 2] {
        [sim.qpos()[0], 0.0]
    }

    fn reward(&self, _sim: &Sim, action: &[f32], velocity: [f64; 2]) -> f64 {
        self.common.forward_reward_weight * velocity[0] - ctrl_cost(self.common.ctrl_cost_weight, action)
    }

    fn terminated(&self, _sim: &Sim) -> bool {
        false
    }

    fn velocity_noise(&self) -> VelocityNoise {
        VelocityNoise::Normal
    }
}
