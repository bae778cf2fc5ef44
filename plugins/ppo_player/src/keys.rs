//! The config keys `ppo_player` reads, declared for the host's typo warnings.
use rlhost_sdk::api::{ConfigKey, ValueType};

/// Every key this player reads: `params.config.player.*`, the training keys it shares, and the
/// network's (from the model crate).
pub fn config_keys() -> Vec<ConfigKey> {
    use ValueType::*;
    let own = [
        ("config.player.env_config", Map),
        ("config.player.use_vecenv", Bool),
        ("config.player.render", Bool),
        ("config.player.render_sleep", Float),
        ("config.player.games_num", Int),
        ("config.player.deterministic", Bool),
        ("config.player.n_game_life", Int),
        ("config.player.print_stats", Bool),
        ("config.player.balance_env_rewards", Bool),
        ("config.player.evaluation", Bool),
        ("config.player.update_checkpoint_freq", Int),
        ("config.player.dir_to_monitor", String),
        ("config.clip_actions", Bool),
        ("config.normalize_input", Bool),
        ("config.normalize_value", Bool),
        ("algo.name", String),
        ("model.name", String),
    ];
    own.into_iter().map(|(path, ty)| ConfigKey::new(path, ty)).chain(rlhost_model::spec::config_keys()).collect()
}
