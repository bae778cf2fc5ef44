//! The fused ELU against libtorch's own: values, gradients, special values, fallbacks.
use rlhost_torch_shim::{fused_elu, fused_elu_vectorized};
use tch::{Device, Kind, Tensor};

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Inputs over the whole range ELU sees, with lengths that leave a scalar tail after the 8-wide loop.
fn inputs(n: i64) -> Tensor {
    tch::manual_seed(7);
    Tensor::randn([n], (Kind::Float, Device::Cpu)) * 4.0
}

#[test]
fn values_match_libtorch_within_float_noise() {
    for n in [1, 7, 8, 13, 4096 * 64 + 3] {
        let x = inputs(n);
        let fast = fused_elu(&x).unwrap();
        let exact = x.elu();
        // Relative to max(1, |y|): a few ulps of float32.
        let tol = (exact.abs().clamp_min(1.0) * 4.0 * f32::EPSILON as f64).max().double_value(&[]);
        let err = max_abs(&fast, &exact);
        assert!(err <= tol, "n={n}: max |fused - libtorch| = {err:e} > {tol:e}");
        // Positive inputs pass through exactly.
        let pos = x.gt(0.0);
        assert!(fast.masked_select(&pos).equal(&x.masked_select(&pos)), "n={n}: x > 0 must be returned as is");
    }
}

#[test]
fn gradient_matches_libtorch_within_float_noise() {
    let x = inputs(4096 * 64 + 5).set_requires_grad(true);
    let upstream = inputs(4096 * 64 + 5).sin();
    let fast = fused_elu(&x).unwrap();
    let g_fast = Tensor::run_backward(&[(&fast * &upstream).sum(Kind::Float)], &[&x], false, false).remove(0);
    let exact = x.elu();
    let g_exact = Tensor::run_backward(&[(&exact * &upstream).sum(Kind::Float)], &[&x], false, false).remove(0);
    let err = max_abs(&g_fast, &g_exact);
    assert!(err <= 1e-6, "max |grad fused - grad libtorch| = {err:e}");
}

#[test]
fn special_values_behave_as_libtorch() {
    let x = Tensor::from_slice(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, -100.0, -87.5, 1e-30, -1e-30]);
    let fast = fused_elu(&x).unwrap();
    let exact = x.elu();
    let (f, e) = (Vec::<f32>::try_from(&fast).unwrap(), Vec::<f32>::try_from(&exact).unwrap());
    assert!(f[0].is_nan(), "NaN must stay NaN, got {}", f[0]);
    for (i, (a, b)) in f.iter().zip(&e).enumerate().skip(1) {
        assert!(a == b || (a - b).abs() <= 1e-7, "element {i}: fused {a} vs libtorch {b}");
    }
}

#[test]
fn strided_and_other_dtypes_are_handled() {
    let x = inputs(64 * 33).view([64, 33]).transpose(0, 1);
    assert!(!x.is_contiguous());
    let fast = fused_elu(&x).unwrap();
    assert_eq!(fast.size(), x.size());
    assert!(max_abs(&fast, &x.elu()) <= 1e-6);
    let xd = inputs(100).to_kind(Kind::Double);
    let fd = fused_elu(&xd).unwrap();
    assert_eq!(fd.kind(), Kind::Double);
    assert!(fd.equal(&xd.elu()), "float64 falls back to libtorch's elu exactly");
}

#[test]
fn reports_whether_it_is_vectorized() {
    // On x86-64 with AVX2 the kernels are the vectorized ones; either way the results above hold.
    let expected =
        cfg!(target_arch = "x86_64") && std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
    assert_eq!(fused_elu_vectorized(), expected);
}
