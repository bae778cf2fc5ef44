//! `Ant-v5` (gymnasium/envs/mujoco/ant_v5.py): a quadruped walks forward; ends when its torso
//! leaves `healthy_z_range` or the state stops being finite.
use crate::config::{Common, ConfigReader, KeySpec};
use crate::model::{Model, Sim};
use crate::task::{ctrl_cost, squared_sum, ObsWriter, Task, VelocityNoise};
use rlhost_sdk::api::ValueType;
use rlhost_sdk::PluginError;

/// The name configs use.
pub const NAME: &str = "Ant-v5";

/// The task's own keys (beyond [`crate::config::PLUGIN_KEYS`]).
pub const KEYS: &[KeySpec] = &[
    ("contact_cost_weight", ValueType::Float),
    ("healthy_reward", ValueType::Float),
    ("main_body", ValueType::Any),
    ("terminate_when_unhealthy", ValueType::Bool),
    ("healthy_z_range", ValueType::List),
    ("contact_force_range", ValueType::List),
    ("include_cfrc_ext_in_observation", ValueType::Bool),
];

/// Ant with its keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Ant {
    common: Common,
    contact_cost_weight: f64,
    healthy_reward: f64,
    main_body: usize,
    terminate_when_unhealthy: bool,
    healthy_z_range: (f64, f64),
    contact_force_range: (f64, f64),
    include_cfrc_ext_in_observation: bool,
}

impl Ant {
    /// Gymnasium's defaults of the shared keys.
    pub fn defaults() -> Common {
        Common {
            xml_file: "ant.xml".into(),
            frame_skip: 5,
            forward_reward_weight: 1.0,
            ctrl_cost_weight: 0.5,
            reset_noise_scale: 0.1,
            exclude_current_positions_from_observation: true,
        }
    }

    /// Reads the keyword arguments from `env_config`.
    pub fn from_config(c: &ConfigReader, model: &Model) -> Result<Self, PluginError> {
        Ok(Ant {
            common: Common::read(c, Self::defaults())?,
            contact_cost_weight: c.f64("contact_cost_weight", 5e-4)?,
            healthy_reward: c.f64("healthy_reward", 1.0)?,
            main_body: c.body("main_body", 1, model.nbody(), |name| model.body_id(name))?,
            terminate_when_unhealthy: c.bool("terminate_when_unhealthy", true)?,
            healthy_z_range: c.range("healthy_z_range", (0.2, 1.0))?,
            contact_force_range: c.range("contact_force_range", (-1.0, 1.0))?,
            include_cfrc_ext_in_observation: c.bool("include_cfrc_ext_in_observation", true)?,
        })
    }

    fn is_healthy(&self, sim: &Sim) -> bool {
        let (lo, hi) = self.healthy_z_range;
        let finite = sim.qpos().iter().chain(sim.qvel()).all(|x| x.is_finite());
        finite && lo <= sim.qpos()[2] && sim.qpos()[2] <= hi
    }

    fn skipped(&self) -> usize {
        2 * usize::from(self.common.exclude_current_positions_from_observation)
    }
}

impl Task for Ant {
    fn common(&self) -> &Common {
        &self.common
    }

    fn obs_dim(&self, model: &Model) -> usize {
        let contact = 6 * (model.nbody() - 1) * usize::from(self.include_cfrc_ext_in_observation);
        model.nq() + model.nv() - self.skipped() + contact
    }

    fn observe(&self, sim: &Sim, out: &mut [f64]) {
        let mut w = ObsWriter::new(out);
        w.push(&sim.qpos()[self.skipped()..]);
        w.push(sim.qvel());
        if self.include_cfrc_ext_in_observation {
            let (lo, hi) = self.contact_force_range;
            w.push_clipped(&sim.cfrc_ext()[6..], lo, hi);
        }
        w.finish();
    }

    fn position(&self, sim: &Sim) -> [f64; 2] {
        let xpos = sim.xpos(self.main_body);
        [xpos[0], xpos[1]]
    }

    fn reward(&self, sim: &Sim, action: &[f32], velocity: [f64; 2]) -> f64 {
        let forward = velocity[0] * self.common.forward_reward_weight;
        let healthy = if self.is_healthy(sim) { self.healthy_reward } else { 0.0 };
        let (lo, hi) = self.contact_force_range;
        let contact = self.contact_cost_weight * squared_sum(sim.cfrc_ext().iter().map(|f| f.clamp(lo, hi)));
        forward + healthy - (ctrl_cost(self.common.ctrl_cost_weight, action) + contact)
    }

    fn terminated(&self, sim: &Sim) -> bool {
        self.terminate_when_unhealthy && !self.is_healthy(sim)
    }

    fn velocity_noise(&self) -> VelocityNoise {
        VelocityNoise::Normal
    }
}
