//! c10d through the shim: two ranks on two threads of this process, Gloo over loopback.
use rlhost_torch_shim::{nccl_built, Backend, GroupOptions, ProcessGroup, ReduceOp, ShimErrorKind};
use std::net::TcpListener;
use std::time::Duration;
use tch::{Kind, Tensor};

/// A port nobody listens on (the OS's choice, released for the store to bind).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn options(port: u16, rank: u32, world_size: u32, timeout: Duration) -> GroupOptions {
    GroupOptions {
        master_addr: "127.0.0.1".into(),
        master_port: port,
        rank,
        world_size,
        timeout,
        rank0_hosts_store: true,
        store_prefix: "test".into(),
        backend: Backend::Gloo,
    }
}

/// Runs `body(group)` on ranks 0 and 1 at once and returns their results by rank.
fn on_two_ranks<T: Send + 'static>(body: fn(ProcessGroup) -> T) -> Vec<T> {
    let port = free_port();
    let handles: Vec<_> = (0..2)
        .map(|rank| {
            std::thread::spawn(move || {
                body(ProcessGroup::new(&options(port, rank, 2, Duration::from_secs(30))).unwrap())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn all_reduce_sums_and_averages_across_ranks() {
    let results = on_two_ranks(|mut pg| {
        let r = pg.rank() as f32;
        let mut sum = Tensor::from_slice(&[1.0f32 + r, 10.0 * r]);
        pg.all_reduce(&mut sum, ReduceOp::Sum).unwrap();
        let mut avg = Tensor::from_slice(&[1.0f32 + r, 10.0 * r]);
        pg.all_reduce(&mut avg, ReduceOp::Avg).unwrap();
        (Vec::<f32>::try_from(&sum).unwrap(), Vec::<f32>::try_from(&avg).unwrap())
    });
    for (sum, avg) in results {
        assert_eq!(sum, [3.0, 10.0]);
        assert_eq!(avg, [1.5, 5.0]);
    }
}

#[test]
fn broadcast_copies_the_roots_tensor_including_strided_views() {
    let results = on_two_ranks(|mut pg| {
        let mut t = Tensor::full([2, 3], pg.rank() as f64 + 7.0, (Kind::Float, tch::Device::Cpu));
        pg.broadcast(&mut t, 1).unwrap();
        // A transposed view is not contiguous: the shim stages it and writes it back.
        let base = Tensor::full([3, 2], pg.rank() as f64, (Kind::Float, tch::Device::Cpu));
        let mut view = base.transpose(0, 1);
        pg.broadcast(&mut view, 0).unwrap();
        pg.barrier().unwrap();
        (Vec::<f32>::try_from(t.flatten(0, -1)).unwrap(), Vec::<f32>::try_from(view.flatten(0, -1)).unwrap())
    });
    for (t, view) in results {
        assert_eq!(t, [8.0; 6]);
        assert_eq!(view, [0.0; 6]);
    }
}

#[test]
fn a_rank_that_never_arrives_is_an_error_not_a_hang() {
    let e = ProcessGroup::new(&options(free_port(), 0, 2, Duration::from_millis(1500))).unwrap_err();
    assert_eq!(e.kind, ShimErrorKind::Distributed, "{e}");
    assert!(!e.message.contains('\n'), "one line: {e}");
}

#[test]
fn a_peer_that_leaves_makes_the_next_collective_fail() {
    let results = on_two_ranks(|mut pg| {
        pg.barrier().unwrap();
        if pg.rank() == 1 {
            drop(pg);
            return None;
        }
        let mut t = Tensor::ones([4], (Kind::Float, tch::Device::Cpu));
        Some(pg.all_reduce(&mut t, ReduceOp::Sum).unwrap_err())
    });
    let e = results[0].clone().unwrap();
    assert_eq!(e.kind, ShimErrorKind::Distributed, "{e}");
}

#[test]
fn bad_arguments_are_refused_before_connecting() {
    let e = ProcessGroup::new(&options(free_port(), 2, 2, Duration::from_secs(1))).unwrap_err();
    assert_eq!(e.kind, ShimErrorKind::InvalidArgument);
    assert!(e.message.contains("rank 2 out of range"), "{e}");
}

/// This build compiles the NCCL backend (the set-up installs the CUDA headers it needs); without a
/// GPU, an NCCL group is refused at once, before any rendezvous, with one line saying why.
#[test]
fn an_nccl_group_needs_its_gpu_and_says_so_before_connecting() {
    assert!(nccl_built(), "torch-shim was built without NCCL (see the build warning)");
    let mut nccl = options(free_port(), 0, 1, Duration::from_secs(60));
    nccl.backend = Backend::Nccl { device: 0 };
    if tch::Cuda::device_count() > 0 {
        // On a GPU: a one-rank group reduces on the device (scripts/gpu_check.sh runs this).
        let mut pg = ProcessGroup::new(&nccl).unwrap();
        let mut t = Tensor::from_slice(&[1.0f32, 2.0]).to_device(tch::Device::Cuda(0));
        pg.all_reduce(&mut t, ReduceOp::Avg).unwrap();
        assert_eq!(Vec::<f32>::try_from(t.to_device(tch::Device::Cpu)).unwrap(), vec![1.0, 2.0]);
        let mut host = Tensor::from_slice(&[3.0f32]);
        pg.broadcast(&mut host, 0).unwrap();
        assert_eq!(Vec::<f32>::try_from(host).unwrap(), vec![3.0], "a CPU tensor is staged through the GPU");
        return;
    }
    let start = std::time::Instant::now();
    let e = ProcessGroup::new(&nccl).unwrap_err();
    assert_eq!(e.kind, ShimErrorKind::CudaUnavailable, "{e}");
    assert_eq!(e.message, "the NCCL process group needs a CUDA device, and this process sees none");
    assert!(start.elapsed() < Duration::from_secs(10), "refused before the rendezvous");
}
