//! Counter-based random numbers on tensors: SplitMix64 evaluated element-wise.
//!
//! Every draw is a pure function of `(seed + i, episode counter, stream, column)`, so
//! environment `i` sees the same numbers whatever the batch size N, the device or the order
//! in which environments finish; no generator state has to be stepped or stored.
//! libtorch has no unsigned 64-bit arithmetic, so the hash runs on int64 tensors with
//! wrapping multiplication (two's complement) and logical right shifts emulated by masking
//! the arithmetic shift; [`mix_u64`] is the scalar twin the tests check the tensors against.
use tch::{Device, Kind, Tensor};

/// SplitMix64's increment (the golden ratio in 64 bits).
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Streams keep unrelated draws of one episode apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum Stream {
    /// The initial state of an episode.
    InitialState = 0,
    /// The random starting progress of `init_at_random_ep_len`.
    EpisodeProgress = 1,
}

/// SplitMix64's finaliser on one value; the reference for [`mix`].
pub fn mix_u64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `x >> s` as unsigned: the arithmetic shift with the sign-extended bits masked off.
fn shr_logical(x: &Tensor, s: u32) -> Tensor {
    let mask = ((1u64 << (64 - s)) - 1) as i64;
    x.bitwise_right_shift_tensor_scalar(s as i64).bitwise_and(mask)
}

/// SplitMix64's finaliser element-wise on an int64 tensor (bits read as u64).
pub fn mix(x: &Tensor) -> Tensor {
    let z = x.bitwise_xor_tensor(&shr_logical(x, 30)) * (0xBF58_476D_1CE4_E5B9u64 as i64);
    let z = z.bitwise_xor_tensor(&shr_logical(&z, 27)) * (0x94D0_49BB_1331_11EBu64 as i64);
    z.bitwise_xor_tensor(&shr_logical(&z, 31))
}

/// Per-environment keys: `mix(seed + i)` for i in 0..n, as int64 on `device`.
pub fn env_keys(seed: u64, n: i64, device: Device) -> Tensor {
    mix(&(Tensor::arange(n, (Kind::Int64, device)) + seed as i64))
}

/// The scalar twin of [`uniform`]'s bits for one environment, one counter and one column.
pub fn draw_bits_u64(seed_plus_i: u64, counter: u64, stream: Stream, column: u64) -> u64 {
    let key = mix_u64(seed_plus_i);
    let episode = mix_u64(key ^ mix_u64(counter.wrapping_add((stream as u64).wrapping_mul(GAMMA))));
    mix_u64(episode.wrapping_add((column + 1).wrapping_mul(GAMMA)))
}

/// The raw 64-bit draws (n, cols) for `keys` (n,) and `counters` (n,) in `stream`.
pub fn draw_bits(keys: &Tensor, counters: &Tensor, stream: Stream, cols: i64) -> Tensor {
    let stream_offset = (stream as i64 as u64).wrapping_mul(GAMMA) as i64;
    // One splitmix "seed" per (environment, episode); columns are the generator's outputs.
    let episode = mix(&keys.bitwise_xor_tensor(&mix(&(counters + stream_offset)))).unsqueeze(1);
    let steps = (Tensor::arange_start(1, cols + 1, (Kind::Int64, keys.device())) * GAMMA as i64).unsqueeze(0);
    mix(&(episode + steps))
}

/// Uniform float64 draws in [0, 1), shape (n, cols): the top 53 bits of [`draw_bits`].
pub fn uniform(keys: &Tensor, counters: &Tensor, stream: Stream, cols: i64) -> Tensor {
    shr_logical(&draw_bits(keys, counters, stream, cols), 11).to_kind(Kind::Double) * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_hash_matches_scalar_splitmix() {
        let seeds = [0u64, 1, 41, u64::MAX - 3, 1 << 63, 0xDEAD_BEEF_CAFE_F00D];
        for &seed in &seeds {
            let keys = env_keys(seed, 3, Device::Cpu);
            let counters = Tensor::from_slice(&[0i64, 7, -1]);
            for stream in [Stream::InitialState, Stream::EpisodeProgress] {
                let bits = draw_bits(&keys, &counters, stream, 4);
                for i in 0..3u64 {
                    let counter = [0u64, 7, u64::MAX][i as usize];
                    for c in 0..4u64 {
                        let expected = draw_bits_u64(seed.wrapping_add(i), counter, stream, c);
                        let got = bits.int64_value(&[i as i64, c as i64]) as u64;
                        assert_eq!(got, expected, "seed {seed} env {i} stream {stream:?} column {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn uniforms_are_in_range_and_spread() {
        let keys = env_keys(5, 10_000, Device::Cpu);
        let u = uniform(&keys, &Tensor::zeros([10_000], (Kind::Int64, Device::Cpu)), Stream::InitialState, 2);
        assert!(u.min().double_value(&[]) >= 0.0);
        assert!(u.max().double_value(&[]) < 1.0);
        let mean = u.mean(Kind::Double).double_value(&[]);
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        // The two columns must not be copies of each other.
        let corr = (u.select(1, 0) - 0.5).dot(&(u.select(1, 1) - 0.5)).double_value(&[]) / 10_000.0 * 12.0;
        assert!(corr.abs() < 0.05, "correlation {corr}");
    }
}
