//! The keys rl_games and Isaac Lab configs use, for typo warnings.
//!
//! Keys not listed here still reach the plugins; the host only warns, with a did-you-mean.

/// Keys directly under `params`.
pub const PARAMS: &[&str] =
    &["seed", "torch_threads", "algo", "model", "network", "config", "env", "load_checkpoint", "load_path"];

/// Keys under `params.config` (rl_games' continuous PPO and player, plus Isaac Lab's).
pub const CONFIG: &[&str] = &[
    "name",
    "full_experiment_name",
    "env_name",
    "env_config",
    "env_info",
    "vec_env",
    "num_actors",
    "horizon_length",
    "minibatch_size",
    "minibatch_size_per_env",
    "mini_epochs",
    "gamma",
    "tau",
    "learning_rate",
    "lr_schedule",
    "kl_threshold",
    "min_lr",
    "max_lr",
    "lr_multiplier",
    "schedule_type",
    "schedule_entropy",
    "e_clip",
    "clip_value",
    "critic_coef",
    "entropy_coef",
    "bounds_loss_coef",
    "bound_loss_type",
    "grad_norm",
    "truncate_grads",
    "weight_decay",
    "normalize_input",
    "normalize_value",
    "normalize_advantage",
    "normalize_rms_advantage",
    "adv_rms_momentum",
    "value_bootstrap",
    "reward_shaper",
    "clip_actions",
    "use_smooth_clamp",
    "max_epochs",
    "max_frames",
    "max_steps",
    "score_to_win",
    "save_best_after",
    "save_frequency",
    "print_stats",
    "games_to_track",
    "stop_fn",
    "seq_length",
    "seq_len",
    "zero_rnn_on_done",
    "bptt_length",
    "mixed_precision",
    "torch_compile",
    "device",
    "device_name",
    "multi_gpu",
    "multi_gpu_sync_stats",
    "multi_gpu_sync_mode",
    "train_dir",
    "epochs_between_resets",
    "use_diagnostics",
    "freeze_critic",
    "central_value_config",
    "use_experimental_cv",
    "self_play_config",
    "population_based_training",
    "pbt_idx",
    "capability_manifest",
    "features",
    "import_modules",
    "vecenv_type",
    "algo_observer",
    "player",
    "ppo",
    "network_path",
    "log_path",
    "value_size",
    "expl_type",
    "expl_reward_coef_embd_size",
    "expl_reward_type",
    "expl_coef_scale",
    "expl_reward_coef_scale",
];

/// Keys under `params.network`.
pub const NETWORK: &[&str] =
    &["name", "separate", "space", "mlp", "normalization", "value_activation", "rnn", "cnn", "value_shape"];

/// Keys under `params.network.mlp`.
pub const MLP: &[&str] = &["units", "activation", "initializer", "d2rl", "norm_only_first_layer", "regularizer"];

/// Keys under `params.network.space.continuous`.
pub const CONTINUOUS: &[&str] = &[
    "mu_activation",
    "sigma_activation",
    "mu_init",
    "sigma_init",
    "fixed_sigma",
    "sigma_parametrization",
    "min_sigma",
    "logstd_bounds",
];

/// Keys under `params.config.player`.
pub const PLAYER: &[&str] = &[
    "env_config",
    "use_vecenv",
    "render",
    "render_sleep",
    "games_num",
    "deterministic",
    "n_game_life",
    "print_stats",
    "balance_env_rewards",
    "evaluation",
    "update_checkpoint_freq",
    "dir_to_monitor",
];

/// Keys under `params.env` (Isaac Lab's wrapper options).
pub const ENV: &[&str] = &["clip_observations", "clip_actions", "obs_groups", "concate_obs_groups"];

/// Keys under `params.config.reward_shaper`.
pub const REWARD_SHAPER: &[&str] = &["scale_value", "shift_value", "min_val", "max_val", "log_val"];

/// The known keys of the map at `path`, if the host knows that map.
pub fn known_keys(path: &str) -> Option<&'static [&'static str]> {
    Some(match path {
        "params" => PARAMS,
        "params.config" => CONFIG,
        "params.network" => NETWORK,
        "params.network.mlp" => MLP,
        "params.network.space.continuous" => CONTINUOUS,
        "params.config.player" => PLAYER,
        "params.env" => ENV,
        "params.config.reward_shaper" => REWARD_SHAPER,
        _ => return None,
    })
}
