//! Resume exactness, alone in its own test binary: libtorch's CPU generator is process-global,
//! so another test training on a parallel thread would draw from it between our epochs.
use rlhost_sdk::NativeAgent;

mod common;
use common::{make_agent, reach_params, ReachEnv};

/// N+M epochs in one run equal N epochs, save, restore into a fresh agent, M epochs — bitwise.
#[test]
fn resume_is_bitwise_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (n, m) = (3i64, 3i64);
    let mut p = reach_params(8, 16, 64);
    p["config"]["max_epochs"] = (n + m).into();
    let (mut full, _) = make_agent(&p, ReachEnv::new(8, 5, 10), dir.path(), true).unwrap();
    full.train().unwrap();

    let mut first = p.clone();
    first["config"]["max_epochs"] = n.into();
    let (mut a, _) = make_agent(&first, ReachEnv::new(8, 5, 10), dir.path(), true).unwrap();
    a.train().unwrap();
    let path = dir.path().join("mid.safetensors");
    a.save(&path).unwrap();

    // The environment is built as in the first run (its seed is construction config, not state);
    // its dynamic state comes from `env_state`.
    let (mut b, _) = make_agent(&p, ReachEnv::new(8, 5, 10), dir.path(), true).unwrap();
    b.restore(&path).unwrap();
    let summary = b.train().unwrap();
    assert_eq!(summary.epoch, (n + m) as u64);
    common::assert_same_state(&full, &b);
}
