//! rl_games' model for rlhost plugins: what a trainer and a player of the same algorithm must
//! agree on, in one place, so they cannot drift.
//!
//! - [`section`]: the lenient reader of rl_games' JSON config blocks (numbers as strings,
//!   `True`/`1` booleans, errors naming the key path).
//! - [`spec`]: `params.network` → [`spec::NetworkConfig`] (MLP, activations, initialisers, μ/σ head).
//! - [`init`]: the weight initialisers; [`network`]: the `actor_critic` module, neg-log-prob, entropy.
//! - [`recurrent`]: rl_games' LSTM/GRU with done resets, and its layer norm.
//! - [`conv`]: rl_games' convolutional tower (`network.cnn`).
//! - [`normalizer`]: `RunningMeanStd`, bit for bit rl_games'.
//! - [`policy`]: the network with its normalisers, acting, and the action mapping to env bounds.
//! - [`central_value`]: rl_games' asymmetric critic network (`central_value_config.network`) and
//!   its normalisers.
//! - [`checkpoint`]: the checkpoint contract (`CHECKPOINT.md`): names, metadata, reader, writer.
//! - [`onnx`]: the policy as an ONNX graph (the player's deterministic `act`), written from Rust.

pub mod central_value;
pub mod checkpoint;
pub mod conv;
pub mod init;
pub mod network;
pub mod normalizer;
pub mod onnx;
pub mod policy;
pub mod recurrent;
pub mod section;
pub mod spec;
