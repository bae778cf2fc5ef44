#!/usr/bin/env python3
"""Trains rl_games 1.6.5's `a2c_continuous` on a torch twin of rlhost's env with an rlhost YAML, as is.

    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/rl_games_pendulum.py \
        --config configs/pendulum_ppo.yaml --seed 42 --experiment rlg_42 [--epochs 300] [--train-dir runs]

It goes through rl_games' own entry point (`rl_games.torch_runner.Runner`: load -> run(train)),
with the env registered the documented way (`vecenv.register` + `env_configurations.register`):
`env_name` maps to its torch twin (`torch_classic.env_class`: `Pendulum-v1` to `TorchPendulum`,
`CartPoleContinuous`, `AcrobotContinuous`, `MountainCarContinuous-v0`), a batched torch vec-env with
same-step auto-reset and `time_outs` (so rl_games keeps everything as tensors on the device).

What this script changes in the config, all at run time (the YAML file is not edited):
  * params.seed = --seed; config.max_epochs = --epochs (when given);
  * config.torch_compile = False: rl_games 1.6.5 compiles the model by default; the reference
    figures are "torch_compile off", and rlhost has no compiler either;
  * config.full_experiment_name = --experiment, config.train_dir = --train-dir, so the run folder
    is <train-dir>/<experiment>/ (nn/, summaries/), as rlhost's ./runs/<NAME>/;
  * env_config.episodes_csv = <run>/summaries/episodes.csv (the env logs every finished episode
    there, in rlhost's format), env_config.device = config.device, env_config.rng = --env-rng.
params.torch_threads (2 in the config) is applied by rl_games' Runner itself (torch.set_num_threads).
Runner.load_config adds env_config.seed = params.seed, which seeds the env's generator.

Patches to rl_games: none needed with torch 2.13.0 / numpy 2.x / gymnasium 1.x (rl-games 1.6.5
already imports gymnasium and avoids np.float/np.bool). If one is ever needed it belongs in
`apply_runtime_patches()` below, never as an edit of site-packages.
"""
import argparse
import os
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

VECENV_TYPE = "RLHOST_TORCH_PENDULUM"


def apply_runtime_patches():
    """Run-time compatibility fixes for rl-games 1.6.5 (currently none are required)."""
    import numpy as np
    # Older rl_games releases used these aliases, removed in numpy >= 1.24; harmless if unused.
    for alias, value in (("float", float), ("int", int), ("bool", bool)):
        if alias not in np.__dict__:
            setattr(np, alias, value)


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def patch_reseed_per_epoch(seed):
    """Makes rl_games reseed torch's global generator at each epoch start, the way rlhost does."""
    import torch
    from rl_games.common import a2c_common

    original = a2c_common.ContinuousA2CBase.train_epoch

    def train_epoch(self):
        torch.manual_seed(splitmix64(seed ^ splitmix64(self.epoch_num)) >> 1)
        return original(self)

    a2c_common.ContinuousA2CBase.train_epoch = train_epoch


def register_vecenv(env_name, make):
    """Registers `make(config_name, num_actors, **env_config)` with rl_games as `env_name`'s vec-env,
    the documented way (`vecenv.register` + `env_configurations.register`)."""
    from rl_games.common import env_configurations, vecenv

    vecenv.register(VECENV_TYPE, lambda config_name, num_actors, **kwargs: make(config_name, num_actors, **kwargs))
    env_configurations.register(env_name, {
        "vecenv_type": VECENV_TYPE,
        # only used if something asks for a single env (e.g. spaces from config); not in training
        "env_creator": lambda **kwargs: make(env_name, 1, **kwargs),
    })


def register_env(env_name):
    """Registers the torch twin of rlhost's `env_name` (torch_classic.env_class) with rl_games."""
    from torch_classic import env_class

    register_vecenv(env_name, env_class(env_name))


def add_run_arguments(ap):
    """The command-line arguments every rl_games runner of bench/ takes."""
    ap.add_argument("--config", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--experiment", required=True)
    ap.add_argument("--epochs", type=int, default=None, help="max_epochs (default: the config's)")
    ap.add_argument("--train-dir", default="runs")


def load_run_config(args):
    """The YAML with this script's run-time settings (the file is not edited): seed, max_epochs,
    torch_compile off, the run folder <train-dir>/<experiment>/, the env's episodes.csv path, no
    player block. Returns (cfg, config, env_config)."""
    with open(args.config) as f:
        cfg = yaml.safe_load(f)
    params = cfg["params"]
    config = params["config"]
    params["seed"] = args.seed
    if args.epochs is not None:
        config["max_epochs"] = args.epochs
    config["torch_compile"] = False
    config["full_experiment_name"] = args.experiment
    config["train_dir"] = args.train_dir
    env_config = dict(config.get("env_config") or {})
    env_config["episodes_csv"] = os.path.join(args.train_dir, args.experiment, "summaries", "episodes.csv")
    config["env_config"] = env_config
    config.pop("player", None)  # training only
    return cfg, config, env_config


def train(cfg, who):
    """rl_games' own entry point: Runner.load then run(train); prints the training wall time."""
    from rl_games.torch_runner import Runner

    runner = Runner()
    runner.load(cfg)
    start = time.perf_counter()
    runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
    print(f"{who}: training wall time {time.perf_counter() - start:.3f} s", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(ap)
    ap.add_argument("--reseed-per-epoch", action="store_true",
                    help="reseed torch's global generator at every epoch start as rlhost's PPO plugin does "
                         "(manual_seed(splitmix64(seed ^ splitmix64(epoch)) >> 1)); for the learning-speed study")
    ap.add_argument("--env-rng", choices=("torch", "rlhost"), default="torch",
                    help="env randomness: a torch.Generator seeded with the seed (default), or rlhost's "
                         "counter-based draws (same initial states and staggered offsets as rlhost, same seed)")
    args = ap.parse_args()

    cfg, config, env_config = load_run_config(args)
    env_name = config["env_name"]
    from torch_classic import env_class
    try:
        env_class(env_name)
    except ValueError as e:
        sys.exit(f"rl_games_pendulum.py: {e}")
    env_config["device"] = config.get("device", "cuda:0")
    env_config["rng"] = args.env_rng

    apply_runtime_patches()
    if args.reseed_per_epoch:
        patch_reseed_per_epoch(args.seed)
    register_env(env_name)
    train(cfg, "rl_games_pendulum")


if __name__ == "__main__":
    main()
