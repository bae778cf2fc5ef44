//! What a locomotion task defines on top of the physics: observation, reward, termination and
//! reset noise, each as Gymnasium 1.4.0's `*_v5.py` computes it from one `mjData`.
use crate::config::Common;
use crate::model::{Model, Sim};
use crate::rng::EpisodeRng;

/// How the initial velocities are perturbed (the positions always get uniform noise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VelocityNoise {
    /// `init_qvel + U(-scale, scale)` (Hopper, Walker2d, Humanoid).
    Uniform,
    /// `init_qvel + scale * N(0, 1)` (Ant, HalfCheetah).
    Normal,
}

/// One Gymnasium v5 locomotion task with its keyword arguments.
pub trait Task: Send + Sync + std::fmt::Debug + 'static {
    /// The keys every task shares.
    fn common(&self) -> &Common;
    /// Length of the observation vector.
    fn obs_dim(&self, model: &Model) -> usize;
    /// Writes the observation (`_get_obs`) into `out` (`obs_dim` long).
    fn observe(&self, sim: &Sim, out: &mut [f64]);
    /// The position whose change over a step is the forward velocity: x (and y where the task
    /// reports it).
    fn position(&self, sim: &Sim) -> [f64; 2];
    /// The reward (`_get_rew`) after a step with `action` that moved at `velocity`.
    fn reward(&self, sim: &Sim, action: &[f32], velocity: [f64; 2]) -> f64;
    /// Whether the state ends the episode (`not is_healthy and terminate_when_unhealthy`).
    fn terminated(&self, sim: &Sim) -> bool;
    /// The distribution of the initial velocity noise.
    fn velocity_noise(&self) -> VelocityNoise;
}

/// Gymnasium's `reset_model` noise: qpos0 + U(-s, s), and zero velocities plus `noise`.
pub fn initial_state(task: &dyn Task, model: &Model, rng: &mut EpisodeRng) -> (Vec<f64>, Vec<f64>) {
    let s = task.common().reset_noise_scale;
    let qpos = model.qpos0().iter().map(|&q| q + rng.uniform(-s, s)).collect();
    let qvel = (0..model.nv())
        .map(|_| match task.velocity_noise() {
            VelocityNoise::Uniform => rng.uniform(-s, s),
            VelocityNoise::Normal => s * rng.standard_normal(),
        })
        .collect();
    (qpos, qvel)
}

/// `weight * np.sum(np.square(action))` on a float32 action: computed in float32 as numpy
/// does (a Python float times a float32 scalar stays float32 under NEP 50).
pub fn ctrl_cost(weight: f64, action: &[f32]) -> f64 {
    let squares: Vec<f32> = action.iter().map(|a| a * a).collect();
    f64::from(weight as f32 * numpy_sum(&squares))
}

/// numpy's pairwise summation of a contiguous array, in the same order, so sums of
/// eight or more terms round as `np.sum` does (a plain left-to-right sum can differ by an ulp).
pub fn numpy_sum<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
    const BLOCK: usize = 128;
    let n = a.len();
    if n < 8 {
        a.iter().fold(T::default(), |acc, &x| acc + x)
    } else if n <= BLOCK {
        let mut r = [T::default(); 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        for chunk in a[8..whole].chunks_exact(8) {
            for (acc, &x) in r.iter_mut().zip(chunk) {
                *acc = *acc + x;
            }
        }
        let head = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        a[whole..].iter().fold(head, |acc, &x| acc + x)
    } else {
        let half = n / 2;
        let half = half - half % 8;
        numpy_sum(&a[..half]) + numpy_sum(&a[half..])
    }
}

/// `np.sum(np.square(x))` over float64 values, in numpy's order.
pub fn squared_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let squares: Vec<f64> = values.into_iter().map(|x| x * x).collect();
    numpy_sum(&squares)
}

/// Writes consecutive slices into an observation buffer.
#[derive(Debug)]
pub struct ObsWriter<'a> {
    out: &'a mut [f64],
    at: usize,
}

impl<'a> ObsWriter<'a> {
    /// Starts writing at the beginning of `out`.
    pub fn new(out: &'a mut [f64]) -> Self {
        ObsWriter { out, at: 0 }
    }

    /// Appends `values`.
    pub fn push(&mut self, values: &[f64]) {
        self.out[self.at..self.at + values.len()].copy_from_slice(values);
        self.at += values.len();
    }

    /// Appends `values` clipped to [low, high].
    pub fn push_clipped(&mut self, values: &[f64], low: f64, high: f64) {
        for (o, &v) in self.out[self.at..self.at + values.len()].iter_mut().zip(values) {
            *o = v.clamp(low, high);
        }
        self.at += values.len();
    }

    /// Checks that exactly the whole buffer was written.
    pub fn finish(self) {
        debug_assert_eq!(self.at, self.out.len(), "observation length");
    }
}
