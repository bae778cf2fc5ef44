//! The observation Hopper and Walker2d share: qpos (without x), then qvel clipped to [-10, 10].
use crate::config::Common;
use crate::model::{Model, Sim};
use crate::task::ObsWriter;

/// Velocities are clipped to this magnitude in the observation.
const VELOCITY_CLIP: f64 = 10.0;

/// Observation length.
pub fn obs_dim(common: &Common, model: &Model) -> usize {
    model.nq() + model.nv() - usize::from(common.exclude_current_positions_from_observation)
}

/// Writes the observation.
pub fn observe(common: &Common, sim: &Sim, out: &mut [f64]) {
    let mut w = ObsWriter::new(out);
    let skip = usize::from(common.exclude_current_positions_from_observation);
    w.push(&sim.qpos()[skip..]);
    w.push_clipped(sim.qvel(), -VELOCITY_CLIP, VELOCITY_CLIP);
    w.finish();
}
