//! An ELU MLP's forward + backward on one minibatch, op by op in libtorch (with the fused ELU,
//! as the fast arithmetic ran it before) against `fused_elu_mlp`, in one run, alternating rounds.
//! Default: the Isaac Lab-sized trunk [256, 128, 64] on 8192 rows of 3 features (Pendulum's).
//! `cargo bench -p rlhost-torch-shim --bench fused_mlp [-- ROWS IN UNITS...]`
mod common;

use common::{bench_threads, median, time_s};
use rlhost_torch_shim::{fused_elu, fused_elu_mlp};
use tch::{Device, Kind, Tensor};

fn time_ms(reps: u32, f: impl FnMut()) -> f64 {
    time_s(reps, f) * 1e3
}

fn main() {
    let args: Vec<i64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (rows, dims) = if args.len() >= 3 { (args[0], args[1..].to_vec()) } else { (8192, vec![3, 256, 128, 64]) };
    let threads = bench_threads();
    tch::manual_seed(0);
    let cpu = (Kind::Float, Device::Cpu);
    let mut params = Vec::new();
    for pair in dims.windows(2) {
        params.push((Tensor::randn([pair[1], pair[0]], cpu) * 0.1).set_requires_grad(true));
        params.push(Tensor::zeros([pair[1]], cpu).set_requires_grad(true));
    }
    let refs: Vec<&Tensor> = params.iter().collect();
    let x = Tensor::randn([rows, dims[0]], cpu);
    let up = Tensor::randn([rows, *dims.last().unwrap()], cpu);
    let op_by_op =
        || params.chunks(2).fold(x.shallow_clone(), |h, wb| fused_elu(&h.linear(&wb[0], Some(&wb[1]))).unwrap());
    let backward = |y: Tensor| {
        let _ = Tensor::run_backward(&[(y * &up).sum(Kind::Float)], &refs, false, false);
    };
    let reps = 30;
    let (mut a_f, mut b_f, mut a_fb, mut b_fb) = (vec![], vec![], vec![], vec![]);
    for _ in 0..3 {
        tch::no_grad(|| {
            a_f.push(time_ms(reps, || drop(op_by_op())));
            b_f.push(time_ms(reps, || drop(fused_elu_mlp(&x, &refs).unwrap())));
        });
        a_fb.push(time_ms(reps, || backward(op_by_op())));
        b_fb.push(time_ms(reps, || backward(fused_elu_mlp(&x, &refs).unwrap())));
    }
    let (a, b, c, d) = (median(&mut a_f), median(&mut b_f), median(&mut a_fb), median(&mut b_fb));
    println!("ELU MLP {dims:?} on {rows} rows, {threads} threads (median of 3 alternating rounds of {reps})");
    println!("  forward:            op by op {a:7.3} ms   fused {b:7.3} ms   fused/op-by-op {:.3}", b / a);
    println!("  forward + backward: op by op {c:7.3} ms   fused {d:7.3} ms   fused/op-by-op {:.3}", d / c);
}
