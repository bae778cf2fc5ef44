//! The fused ELU MLP against the same layers run op by op in libtorch: outputs and every
//! gradient (weights, biases, input), for row counts that leave a partial block, for one row and
//! none, without grad mode, and the arguments it refuses.
use rlhost_torch_shim::{fused_elu_mlp, ShimErrorKind};
use tch::{Device, Kind, Tensor};

const CPU: (Kind, Device) = (Kind::Float, Device::Cpu);

/// Weights and biases of an MLP `dims[0] → dims[1] → …`, requiring grad.
fn layers(dims: &[i64]) -> Vec<Tensor> {
    tch::manual_seed(3);
    let mut params = Vec::new();
    for pair in dims.windows(2) {
        let bound = 1.0 / (pair[0] as f64).sqrt();
        params.push((Tensor::rand([pair[1], pair[0]], CPU) * 2.0 - 1.0) * bound);
        params.push(Tensor::randn([pair[1]], CPU) * 0.1);
    }
    params.into_iter().map(|p| p.set_requires_grad(true)).collect()
}

fn reference(x: &Tensor, params: &[Tensor]) -> Tensor {
    params.chunks(2).fold(x.shallow_clone(), |h, wb| h.linear(&wb[0], Some(&wb[1])).elu())
}

/// max |a − b| / max(1, max |b|).
fn rel(a: &Tensor, b: &Tensor) -> f64 {
    let scale = b.abs().max().double_value(&[]).max(1.0);
    (a - b).abs().max().double_value(&[]) / scale
}

fn grads(out: &Tensor, upstream: &Tensor, wrt: &[&Tensor]) -> Vec<Tensor> {
    Tensor::run_backward(&[(out * upstream).sum(Kind::Float)], wrt, false, false)
}

#[test]
fn outputs_and_gradients_match_the_op_by_op_network() {
    for (rows, dims) in
        [(8192, vec![3, 256, 128, 64]), (1000, vec![17, 64, 64]), (1, vec![5, 32]), (333, vec![48, 512, 256, 128])]
    {
        let params = layers(&dims);
        let x = (Tensor::randn([rows, dims[0]], CPU) * 2.0).set_requires_grad(true);
        let refs: Vec<&Tensor> = params.iter().collect();
        let fused = fused_elu_mlp(&x, &refs).unwrap();
        let exact = reference(&x, &params);
        assert_eq!(fused.size(), exact.size());
        let e = rel(&fused, &exact);
        assert!(e < 1e-5, "rows {rows} dims {dims:?}: output differs by {e:e}");
        let upstream = Tensor::randn(exact.size(), CPU);
        let mut wrt: Vec<&Tensor> = vec![&x];
        wrt.extend(params.iter());
        let (gf, ge) = (grads(&fused, &upstream, &wrt), grads(&exact, &upstream, &wrt));
        for (k, (a, b)) in gf.iter().zip(&ge).enumerate() {
            let e = rel(a, b);
            assert!(e < 1e-4, "rows {rows} dims {dims:?}: gradient {k} differs by {e:e}");
        }
    }
}

#[test]
fn without_grad_mode_it_is_a_plain_forward() {
    let params = layers(&[4, 32, 16]);
    let refs: Vec<&Tensor> = params.iter().collect();
    let x = Tensor::randn([70, 4], CPU);
    let y = tch::no_grad(|| fused_elu_mlp(&x, &refs).unwrap());
    assert!(!y.requires_grad());
    assert!(rel(&y, &tch::no_grad(|| reference(&x, &params))) < 1e-5);
    let empty = fused_elu_mlp(&Tensor::zeros([0, 4], CPU), &refs).unwrap();
    assert_eq!(empty.size(), [0, 16]);
}

#[test]
fn refuses_what_it_cannot_fuse() {
    let params = layers(&[4, 8]);
    let refs: Vec<&Tensor> = params.iter().collect();
    let cases = [
        (Tensor::randn([3, 5], CPU), "does not fit"),
        (Tensor::randn([3, 4], (Kind::Double, Device::Cpu)), "float32"),
        (Tensor::randn([4, 3], CPU).t_(), "contiguous"),
    ];
    for (x, what) in cases {
        let e = fused_elu_mlp(&x, &refs).unwrap_err();
        assert_eq!(e.kind, ShimErrorKind::InvalidArgument);
        assert!(e.message.contains(what), "{}", e.message);
    }
    let odd = fused_elu_mlp(&Tensor::randn([3, 4], CPU), &refs[..1]).unwrap_err();
    assert!(odd.message.contains("pair up"), "{}", odd.message);
}
