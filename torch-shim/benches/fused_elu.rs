//! libtorch's ELU against the fused one on a 4096 x 64 float batch (the hidden layer of a
//! [64, 64] MLP on a 4096-row minibatch): forward, and forward + backward, in one run.
//! `cargo bench -p rlhost-torch-shim --bench fused_elu`
mod common;

use common::{bench_threads, median, time_s};
use rlhost_torch_shim::fused_elu;
use tch::{Device, Kind, Tensor};

fn time_us(reps: u32, f: impl FnMut()) -> f64 {
    time_s(reps, f) * 1e6
}

fn main() {
    let threads = bench_threads();
    tch::manual_seed(0);
    let x = Tensor::randn([4096, 64], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let up = Tensor::randn([4096, 64], (Kind::Float, Device::Cpu));
    let reps = 400;
    let backward = |y: Tensor| {
        let _ = Tensor::run_backward(&[(y * &up).sum(Kind::Float)], &[&x], false, false);
    };
    // Alternating rounds, so a slow phase of the machine hits both.
    let (mut lt_f, mut fu_f, mut lt_fb, mut fu_fb) = (vec![], vec![], vec![], vec![]);
    for _ in 0..3 {
        tch::no_grad(|| {
            lt_f.push(time_us(reps, || drop(x.elu())));
            fu_f.push(time_us(reps, || drop(fused_elu(&x).unwrap())));
        });
        lt_fb.push(time_us(reps, || backward(x.elu())));
        fu_fb.push(time_us(reps, || backward(fused_elu(&x).unwrap())));
    }
    let (a, b, c, d) = (median(&mut lt_f), median(&mut fu_f), median(&mut lt_fb), median(&mut fu_fb));
    println!("ELU 4096x64 f32, {threads} threads (median of 3 alternating rounds of {reps})");
    println!("  forward:            libtorch {a:8.1} us   fused {b:8.1} us   fused/libtorch {:.3}", b / a);
    println!("  forward + backward: libtorch {c:8.1} us   fused {d:8.1} us   fused/libtorch {:.3}", d / c);
}
