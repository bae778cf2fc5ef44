//! Default-generator state: round trip, invalid states, size, CUDA without CUDA.
use std::sync::Mutex;

use rlhost_torch_shim::{generator_state, set_generator_state, ShimErrorKind};
use tch::{Device, Kind, Tensor};

/// The tests share the process-wide default CPU generator.
static GEN: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    GEN.lock().unwrap_or_else(|e| e.into_inner())
}

fn draws() -> Vec<f64> {
    // Large (vectorised) and small (scalar, cached Box-Muller sample) normal draws, uniforms, ints.
    let a = Tensor::randn([1000], (Kind::Float, Device::Cpu));
    let b = Tensor::randn([5], (Kind::Double, Device::Cpu));
    let c = Tensor::rand([7], (Kind::Float, Device::Cpu));
    let d = Tensor::randint(1000, [9], (Kind::Int64, Device::Cpu));
    let all = Tensor::cat(&[a.to_kind(Kind::Double), b, c.to_kind(Kind::Double), d.to_kind(Kind::Double)], 0);
    Vec::<f64>::try_from(&all).unwrap()
}

#[test]
fn cpu_state_round_trip_reproduces_draws() {
    let _g = lock();
    tch::manual_seed(42);
    let _ = Tensor::randn([3], (Kind::Double, Device::Cpu)); // odd count: a cached normal sample
    let saved = generator_state(Device::Cpu).unwrap();
    let first = draws();
    let _more = (draws(), draws()); // the generator moves on
    assert_ne!(draws(), first);
    set_generator_state(Device::Cpu, &saved).unwrap();
    assert_eq!(generator_state(Device::Cpu).unwrap(), saved);
    let again = draws();
    assert!(first.iter().zip(&again).all(|(a, b)| a.to_bits() == b.to_bits()), "draws differ after restore");
    assert_eq!(first.len(), again.len());
}

#[test]
fn cpu_state_is_a_few_kb() {
    let _g = lock();
    let state = generator_state(Device::Cpu).unwrap();
    eprintln!("CPU generator state: {} bytes", state.len());
    assert_eq!(state.len(), 5056, "libtorch 2.13 CPUGeneratorImplState");
}

/// The shim's mirrored `CPUGeneratorImplState` layout, checked against states libtorch writes.
#[test]
fn cpu_state_layout_is_libtorchs() {
    let _g = lock();
    let u32_at = |s: &[u8], o: usize| u32::from_ne_bytes(s[o..o + 4].try_into().unwrap()) as u64;
    let u64_at = |s: &[u8], o: usize| u64::from_ne_bytes(s[o..o + 8].try_into().unwrap());
    tch::manual_seed(123_456_789_012);
    let s = generator_state(Device::Cpu).unwrap();
    assert_eq!(u64_at(&s, 0), 123_456_789_012, "seed");
    assert_eq!((u32_at(&s, 8), u32_at(&s, 12), u64_at(&s, 16)), (1, 1, 0), "left, seeded, next after seeding");
    let _ = Tensor::randn([3], (Kind::Double, Device::Cpu));
    let s = generator_state(Device::Cpu).unwrap();
    assert_eq!(u32_at(&s, 8) + u64_at(&s, 16), 625, "left + next after draws");
    assert_eq!(u32_at(&s, 5040), 1, "cached double normal sample flag");
}

#[test]
fn invalid_states_are_errors_and_leave_the_generator_alone() {
    let _g = lock();
    tch::manual_seed(7);
    let saved = generator_state(Device::Cpu).unwrap();

    let e = set_generator_state(Device::Cpu, &[1, 2, 3]).unwrap_err();
    eprintln!("wrong size: {e}");
    assert_eq!(e.kind, ShimErrorKind::InvalidArgument);
    assert!(e.message.contains("5056"), "{e}");
    assert!(set_generator_state(Device::Cpu, &[]).is_err());

    let e = set_generator_state(Device::Cpu, &vec![0xAB; saved.len()]).unwrap_err();
    eprintln!("garbage of the right size: {e}");
    assert!(!e.message.is_empty());

    // Plausible for libtorch's own check (0 < left <= 624, next <= 624) but the next draws would
    // read past the 624-word state: rejected by the shim.
    let mut bad = saved.clone();
    bad[8..12].copy_from_slice(&600i32.to_ne_bytes()); // left
    bad[16..24].copy_from_slice(&600u64.to_ne_bytes()); // next
    let e = set_generator_state(Device::Cpu, &bad).unwrap_err();
    eprintln!("out-of-range cursor: {e}");
    assert_eq!(e.kind, ShimErrorKind::InvalidArgument);

    assert_eq!(generator_state(Device::Cpu).unwrap(), saved, "a failed set changed the generator");
    let a = draws();
    set_generator_state(Device::Cpu, &saved).unwrap();
    assert_eq!(a, draws());
}

#[test]
fn cuda_generator_without_cuda_is_an_error() {
    if tch::Cuda::is_available() {
        eprintln!("skipped: CUDA is available on this machine");
        return;
    }
    let e = generator_state(Device::Cuda(0)).unwrap_err();
    eprintln!("CUDA get: {e}");
    assert_eq!(e.kind, ShimErrorKind::CudaUnavailable);
    let e = set_generator_state(Device::Cuda(0), &[0; 16]).unwrap_err();
    assert_eq!(e.kind, ShimErrorKind::CudaUnavailable);
}

#[test]
fn cuda_generator_round_trip_when_cuda_is_available() {
    if !tch::Cuda::is_available() {
        eprintln!("skipped: CUDA is not available on this machine");
        return;
    }
    let dev = Device::Cuda(0);
    tch::manual_seed(3);
    let saved = generator_state(dev).unwrap();
    eprintln!("CUDA generator state: {} bytes", saved.len());
    let a = Vec::<f32>::try_from(&Tensor::randn([4096], (Kind::Float, dev)).to(Device::Cpu)).unwrap();
    let _ = Tensor::randn([4096], (Kind::Float, dev));
    set_generator_state(dev, &saved).unwrap();
    let b = Vec::<f32>::try_from(&Tensor::randn([4096], (Kind::Float, dev)).to(Device::Cpu)).unwrap();
    assert_eq!(a, b);
    assert!(set_generator_state(dev, &[1, 2, 3]).is_err());
}
