//! rlhost: rl_games' Runner re-imagined as a plugin host.
//!
//! The binary wires these modules: [`discovery`] finds and checks plugin libraries,
//! [`registry`] holds the algorithm, player and environment factories, [`config`] reads
//! rl_games / Isaac Lab configs, [`runner`] is rl_games' `Runner` (load, then train or play),
//! [`wrapper`] is the host-side env wrapper, [`observer`] receives what plugins report and
//! [`tensorboard`] writes it; [`bench`] measures throughput; [`export`] writes ONNX files
//! through a player plugin; [`heap`] sets the C heap policy of the process. Nothing here names a plugin crate.
pub mod bench;
pub mod cli;
pub mod config;
pub mod config_schema;
pub mod discovery;
pub mod doc_reader;
pub mod episodes;
pub mod export;
pub mod heap;
pub mod observer;
pub mod probe;
pub mod registry;
pub mod run_dir;
pub mod runner;
pub mod scan_cache;
pub mod tensorboard;
pub mod wrapper;
