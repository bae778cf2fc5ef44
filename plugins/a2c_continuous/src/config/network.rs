//! `params.network` (docs/rl_games.md §3.3 and §5): the parser lives in [`rlhost_model::spec`], shared with
//! the player, so a network the trainer accepts is a network the player can rebuild.
pub use rlhost_model::spec::{
    Activation, Arithmetic, ContinuousHead, FanMode, Initializer, MlpSpec, NetworkConfig, SigmaParametrization,
};
