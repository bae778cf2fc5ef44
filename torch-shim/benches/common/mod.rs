//! Timing helpers the shim's benches share.
use std::time::Instant;

/// Mean seconds of one call of `f` over `reps` calls, after `reps / 10 + 1` warm-up calls.
pub fn time_s(reps: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..reps / 10 + 1 {
        f();
    }
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed().as_secs_f64() / f64::from(reps)
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Torch threads from `RLHOST_BENCH_THREADS` (default 2), set for the process.
pub fn bench_threads() -> i32 {
    let threads = std::env::var("RLHOST_BENCH_THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(2);
    tch::set_num_threads(threads);
    threads
}
