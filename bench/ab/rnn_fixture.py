#!/usr/bin/env python3
"""Writes the recurrent-policy fixtures of plugins/a2c_continuous/tests/rnn_as_rl_games.rs: rl_games
1.6.5 on configs/pendulum_ppo.yaml with a `network.rnn` block and `seq_length` from
tests/fixtures/pendulum_rnn.json (one fixture per entry: an LSTM before the MLP with layer norm as
Isaac Lab's factory configs use it, a separate GRU after the MLP with concat_input), seed 42, env rng
rlhost (the same Pendulum start states as rlhost's), max_epochs 2. Each stores

  init.<key>      the model's state dict at construction
  epoch<E>.<key>  the state dict after epoch E (E = 1, 2)

    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/ab/rnn_fixture.py [--seed 42] [--only lstm]
"""
import argparse
import json
import os
import sys

import numpy as np
from fixture_out import out_path
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import rl_games_pendulum as rgp  # noqa: E402

FIXTURES = os.path.join(ROOT, "plugins", "a2c_continuous", "tests", "fixtures")


def run(name, variant, seed, epochs, out):
    with open(os.path.join(ROOT, "configs", "pendulum_ppo.yaml")) as f:
        cfg = yaml.safe_load(f)
    params = cfg["params"]
    config = params["config"]
    params["seed"] = seed
    params["network"]["separate"] = variant["separate"]
    params["network"]["rnn"] = variant["rnn"]
    config["seq_length"] = variant["seq_length"]
    config["max_epochs"] = epochs
    config["torch_compile"] = False
    config["full_experiment_name"] = f"rnn_fixture_{name}"
    config["train_dir"] = os.path.join("/tmp", f"rnn_fixture_{os.getpid()}")
    env_config = dict(config.get("env_config") or {})
    env_config.update(device="cpu", rng="rlhost")
    config["env_config"] = env_config
    config.pop("player", None)

    from rl_games.algos_torch import a2c_continuous
    from rl_games.torch_runner import Runner

    A = a2c_continuous.A2CAgent
    keep = {}

    def dump_state(agent, prefix):
        for k, v in agent.model.state_dict().items():
            keep[f"{prefix}.{k}"] = v.detach().cpu().numpy().copy()

    orig_train_epoch = A.train_epoch

    def train_epoch(self):
        if self.epoch_num == 1:
            dump_state(self, "init")
        result = orig_train_epoch(self)
        dump_state(self, f"epoch{self.epoch_num}")
        return result

    A.train_epoch = train_epoch
    try:
        rgp.register_env(config["env_name"])
        runner = Runner()
        runner.load(cfg)
        runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
    finally:
        A.train_epoch = orig_train_epoch
    np.savez(out, **keep)
    print(f"wrote {out} ({len(keep)} arrays)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--only", default=None, help="one entry of pendulum_rnn.json")
    ap.add_argument("--out-dir", default=os.path.dirname(out_path("plugins/a2c_continuous/tests/fixtures/x")))
    args = ap.parse_args()
    with open(os.path.join(FIXTURES, "pendulum_rnn.json")) as f:
        variants = json.load(f)
    rgp.apply_runtime_patches()
    for name, variant in variants.items():
        if args.only in (None, name):
            out = os.path.join(args.out_dir, f"rl_games_1.6.5_pendulum_{name}_seed{args.seed}.npz")
            run(name, variant, args.seed, args.epochs, out)


if __name__ == "__main__":
    main()
