//! The multi-process mechanisms on two ranks (two threads of this process, Gloo over loopback):
//! gradient averaging, normaliser pooling and the state check.
use rlhost_a2c_continuous::distributed::{Distributed, DistributedConfig};
use rlhost_model::normalizer::RunningMeanStd;
use rlhost_torch_shim::GroupOptions;
use std::time::Duration;
use tch::{Device, Kind, Tensor};

/// Runs `body(rank, dist)` on ranks 0 and 1 at once; results by rank.
fn on_two_ranks<T: Send + 'static>(body: fn(u32, Distributed) -> T) -> Vec<T> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let handles: Vec<_> = (0..2u32)
        .map(|rank| {
            std::thread::spawn(move || {
                let group = GroupOptions {
                    master_addr: "127.0.0.1".into(),
                    master_port: port,
                    rank,
                    world_size: 2,
                    timeout: Duration::from_secs(30),
                    rank0_hosts_store: true,
                    store_prefix: String::new(),
                    backend: Default::default(),
                };
                let dist = Distributed::join(&DistributedConfig { group: Some(group), check_sync: true }).unwrap();
                body(rank, dist.expect("a group of two"))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Rank r's samples: 64 rows of 3 features, different on each rank.
fn samples(rank: u32) -> Tensor {
    let base = Tensor::arange(64 * 3, (Kind::Float, Device::Cpu)).view([64, 3]) / 50.0;
    (base.sin() * (2.0 + rank as f64) + rank as f64).to_kind(Kind::Float)
}

#[test]
fn pooled_normalisers_are_the_statistics_of_every_ranks_samples() {
    let pooled = on_two_ranks(|rank, dist| {
        let mut rms = RunningMeanStd::new(&[3], Device::Cpu);
        rms.update(&samples(rank));
        dist.pool_normalizers(&mut [&mut rms]).unwrap();
        (Vec::<f64>::try_from(&rms.mean).unwrap(), Vec::<f64>::try_from(&rms.var).unwrap(), rms.count)
    });
    assert_eq!(pooled[0], pooled[1], "every rank holds the same statistics");
    // One normaliser fed both ranks' samples, its prior counted once per rank.
    let mut reference = RunningMeanStd::new(&[3], Device::Cpu);
    reference.count *= 2.0;
    reference.update(&Tensor::cat(&[samples(0), samples(1)], 0));
    let (mean, var, count) = &pooled[0];
    assert_eq!(*count * 2.0, reference.count);
    for (a, b) in mean.iter().zip(Vec::<f64>::try_from(&reference.mean).unwrap()) {
        assert!((a - b).abs() < 1e-6, "mean {a} vs {b}");
    }
    for (a, b) in var.iter().zip(Vec::<f64>::try_from(&reference.var).unwrap()) {
        assert!((a - b).abs() < 1e-5 * b.abs().max(1.0), "var {a} vs {b}");
    }
}

#[test]
fn gradients_are_averaged_over_the_ranks() {
    let grads = on_two_ranks(|rank, dist| {
        let w = Tensor::ones([2, 2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let b = Tensor::zeros([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let scale = 1.0 + rank as f64;
        ((&w * scale).sum(Kind::Float) + (&b * (10.0 * scale)).sum(Kind::Float)).backward();
        dist.average_gradients(&[("w".into(), w.shallow_clone()), ("b".into(), b.shallow_clone())]).unwrap();
        (Vec::<f32>::try_from(w.grad().view([-1])).unwrap(), Vec::<f32>::try_from(b.grad()).unwrap())
    });
    for (w, b) in grads {
        assert_eq!(w, [1.5; 4]);
        assert_eq!(b, [15.0; 3]);
    }
}

#[test]
fn the_state_check_passes_for_equal_state_and_names_a_difference() {
    let results = on_two_ranks(|rank, dist| {
        let same = vec![("w".to_string(), Tensor::from_slice(&[1.0f32, 2.0]))];
        let equal = dist.check_in_sync(&same, 1);
        let differs = vec![
            ("w".to_string(), Tensor::from_slice(&[1.0f32, 2.0])),
            ("b".to_string(), Tensor::from_slice(&[0.5f32 + if rank == 1 { 1e-7 } else { 0.0 }])),
        ];
        (equal, dist.check_in_sync(&differs, 2))
    });
    for (rank, (equal, differs)) in results.into_iter().enumerate() {
        assert_eq!(equal.unwrap(), 2);
        let e = differs.unwrap_err();
        assert!(e.message.contains("after epoch 2, 1 values differ from rank 0's"), "{}", e.message);
        if rank == 1 {
            assert!(e.message.contains("first in 'b'"), "{}", e.message);
        }
    }
}
