//! `Humanoid-v5` (gymnasium/envs/mujoco/humanoid_v5.py): a 3-D humanoid runs forward, rewarded
//! by the velocity of its centre of mass; ends when the torso height leaves `healthy_z_range`.
use crate::config::{Common, ConfigReader, KeySpec};
use crate::model::{Model, Sim};
use crate::task::{squared_sum, ObsWriter, Task, VelocityNoise};
use rlhost_sdk::api::ValueType;
use rlhost_sdk::PluginError;

/// The name configs use.
pub const NAME: &str = "Humanoid-v5";

/// The task's own keys (beyond [`crate::config::PLUGIN_KEYS`]).
pub const KEYS: &[KeySpec] = &[
    ("contact_cost_weight", ValueType::Float),
    ("contact_cost_range", ValueType::List),
    ("healthy_reward", ValueType::Float),
    ("terminate_when_unhealthy", ValueType::Bool),
    ("healthy_z_range", ValueType::List),
    ("include_cinert_in_observation", ValueType::Bool),
    ("include_cvel_in_observation", ValueType::Bool),
    ("include_qfrc_actuator_in_observation", ValueType::Bool),
    ("include_cfrc_ext_in_observation", ValueType::Bool),
];

/// The free joint's 6 velocity entries, left out of the actuator forces in the observation.
const ROOT_DOFS: usize = 6;

/// Humanoid with its keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Humanoid {
    common: Common,
    contact_cost_weight: f64,
    contact_cost_range: (f64, f64),
    healthy_reward: f64,
    terminate_when_unhealthy: bool,
    healthy_z_range: (f64, f64),
    include_cinert_in_observation: bool,
    include_cvel_in_observation: bool,
    include_qfrc_actuator_in_observation: bool,
    include_cfrc_ext_in_observation: bool,
}

impl Humanoid {
    /// Gymnasium's defaults of the shared keys.
    pub fn defaults() -> Common {
        Common {
            xml_file: "humanoid.xml".into(),
            frame_skip: 5,
            forward_reward_weight: 1.25,
            ctrl_cost_weight: 0.1,
            reset_noise_scale: 1e-2,
            exclude_current_positions_from_observation: true,
        }
    }

    /// Reads the keyword arguments from `env_config`.
    pub fn from_config(c: &ConfigReader, _model: &Model) -> Result<Self, PluginError> {
        Ok(Humanoid {
            common: Common::read(c, Self::defaults())?,
            contact_cost_weight: c.f64("contact_cost_weight", 5e-7)?,
            contact_cost_range: c.range("contact_cost_range", (f64::NEG_INFINITY, 10.0))?,
            healthy_reward: c.f64("healthy_reward", 5.0)?,
            terminate_when_unhealthy: c.bool("terminate_when_unhealthy", true)?,
            healthy_z_range: c.range("healthy_z_range", (1.0, 2.0))?,
            include_cinert_in_observation: c.bool("include_cinert_in_observation", true)?,
            include_cvel_in_observation: c.bool("include_cvel_in_observation", true)?,
            include_qfrc_actuator_in_observation: c.bool("include_qfrc_actuator_in_observation", true)?,
            include_cfrc_ext_in_observation: c.bool("include_cfrc_ext_in_observation", true)?,
        })
    }

    fn is_healthy(&self, sim: &Sim) -> bool {
        let (lo, hi) = self.healthy_z_range;
        lo < sim.qpos()[2] && sim.qpos()[2] < hi
    }

    fn skipped(&self) -> usize {
        2 * usize::from(self.common.exclude_current_positions_from_observation)
    }
}

/// Gymnasium's `mass_center`: the mass-weighted mean of the bodies' centres of mass, x and y.
fn mass_center(sim: &Sim) -> [f64; 2] {
    let mass = sim.model().body_mass();
    let xipos = sim.xipos();
    let mut num = [0.0; 3];
    for (b, &m) in mass.iter().enumerate() {
        for (j, n) in num.iter_mut().enumerate() {
            *n += m * xipos[3 * b + j];
        }
    }
    let denom: f64 = mass.iter().sum();
    [num[0] / denom, num[1] / denom]
}

impl Task for Humanoid {
    fn common(&self) -> &Common {
        &self.common
    }

    fn obs_dim(&self, model: &Model) -> usize {
        let bodies = model.nbody() - 1;
        model.nq() + model.nv() - self.skipped()
            + 10 * bodies * usize::from(self.include_cinert_in_observation)
            + 6 * bodies * usize::from(self.include_cvel_in_observation)
            + (model.nv() - ROOT_DOFS) * usize::from(self.include_qfrc_actuator_in_observation)
            + 6 * bodies * usize::from(self.include_cfrc_ext_in_observation)
    }

    fn observe(&self, sim: &Sim, out: &mut [f64]) {
        let mut w = ObsWriter::new(out);
        w.push(&sim.qpos()[self.skipped()..]);
        w.push(sim.qvel());
        if self.include_cinert_in_observation {
            w.push(&sim.cinert()[10..]);
        }
        if self.include_cvel_in_observation {
            w.push(&sim.cvel()[6..]);
        }
        if self.include_qfrc_actuator_in_observation {
            w.push(&sim.qfrc_actuator()[ROOT_DOFS..]);
        }
        if self.include_cfrc_ext_in_observation {
            w.push(&sim.cfrc_ext()[6..]);
        }
        w.finish();
    }

    fn position(&self, sim: &Sim) -> [f64; 2] {
        mass_center(sim)
    }

    fn reward(&self, sim: &Sim, _action: &[f32], velocity: [f64; 2]) -> f64 {
        let forward = self.common.forward_reward_weight * velocity[0];
        let healthy = if self.is_healthy(sim) { self.healthy_reward } else { 0.0 };
        // Humanoid's control cost reads data.ctrl (float64), not the float32 action.
        let ctrl = self.common.ctrl_cost_weight * squared_sum(sim.ctrl().iter().copied());
        let (lo, hi) = self.contact_cost_range;
        let contact = (self.contact_cost_weight * squared_sum(sim.cfrc_ext().iter().copied())).clamp(lo, hi);
        forward + healthy - (ctrl + contact)
    }

    fn terminated(&self, sim: &Sim) -> bool {
        self.terminate_when_unhealthy && !self.is_healthy(sim)
    }

    fn velocity_noise(&self) -> VelocityNoise {
        VelocityNoise::Uniform
    }
}
