//! Counter-based random numbers for the reset noise: SplitMix64 keyed by environment and episode.
//!
//! Episode `e` of environment `i` draws from the SplitMix64 sequence started at
//! `mix(mix(seed + i) ^ mix(e))`, so its initial state depends only on `(seed + i, e)`: not on
//! the batch size, the thread count, or the order in which environments finish. The numbers
//! differ from Gymnasium's (numpy's PCG64): the noise has the same distributions, not the same
//! draws.

/// SplitMix64's increment (the golden ratio in 64 bits).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser.
pub fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random numbers of one episode.
#[derive(Debug, Clone)]
pub struct EpisodeRng {
    state: u64,
}

impl EpisodeRng {
    /// The stream of episode `episode` of the environment seeded with `env_seed` (`seed + i`).
    pub fn new(env_seed: u64, episode: u64) -> Self {
        EpisodeRng { state: mix(mix(env_seed) ^ mix(episode)) }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// Uniform in [0, 1): the top 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [low, high), as numpy's `uniform(low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }

    /// A standard normal draw (Box-Muller, one value per pair of uniforms).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // in (0, 1]: the logarithm stays finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_seed_and_episode_only() {
        let a: Vec<u64> = (0..4).map(|_| EpisodeRng::new(7, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(EpisodeRng::new(7, 3).next_u64(), EpisodeRng::new(8, 3).next_u64());
        assert_ne!(EpisodeRng::new(7, 3).next_u64(), EpisodeRng::new(7, 4).next_u64());
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut rng = EpisodeRng::new(1, 0);
        let n = 200_000;
        let u: Vec<f64> = (0..n).map(|_| rng.uniform(-0.1, 0.1)).collect();
        assert!(u.iter().all(|&x| (-0.1..0.1).contains(&x)));
        let mean = u.iter().sum::<f64>() / n as f64;
        assert!(mean.abs() < 1e-3, "uniform mean {mean}");
        let z: Vec<f64> = (0..n).map(|_| rng.standard_normal()).collect();
        let mean = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "normal mean {mean} variance {var}");
    }
}
