#!/usr/bin/env python3
"""Writes the central value fixtures of plugins/a2c_continuous/tests/central_value_as_rl_games.rs:
rl_games 1.6.5 on configs/pendulum_ppo.yaml with the env's privileged states (`env_config.states:
True`), seed 42, env rng rlhost (the same Pendulum start states as rlhost's), max_epochs 2, and

  (default)     the `central_value_config` of tests/fixtures/pendulum_central_value.json (an MLP);
  --variant rnn tests/fixtures/pendulum_central_value_rnn.json: an LSTM in the central value
                network (as Isaac Lab's factory configs), a recurrent policy (`policy_rnn`, which
                rl_games needs to record the critic's states) and `seq_length`.

Each stores

  init.<key>            the actor-critic (`model`) and central value (`cv.`) state dicts at construction
  epoch<E>.<key>        both state dicts after epoch E (E = 1, 2)
  epoch<E>.cv_adam.<param>.{exp_avg,exp_avg_sq}, epoch<E>.cv_adam_step, epoch<E>.cv_lr
  epoch<E>.cv_loss      rl_games' `losses/cval_loss` of epoch E
  epoch<E>.a_loss, epoch<E>.c_loss   the policy's `losses/a_loss`, `losses/c_loss` of epoch E

    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/ab/cv_fixture.py [--variant rnn] [--seed 42] [--out FILE]
"""
import argparse
import json
import os
import sys

import numpy as np
from fixture_out import out_path
import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import rl_games_pendulum as rgp  # noqa: E402

FIXTURES = os.path.join(ROOT, "plugins", "a2c_continuous", "tests", "fixtures")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--variant", choices=["mlp", "rnn"], default="mlp")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    suffix = "" if args.variant == "mlp" else f"_{args.variant}"
    out = args.out or out_path(f"plugins/a2c_continuous/tests/fixtures/rl_games_1.6.5_pendulum_central_value{suffix}_seed{args.seed}.npz")

    with open(os.path.join(ROOT, "configs", "pendulum_ppo.yaml")) as f:
        cfg = yaml.safe_load(f)
    params = cfg["params"]
    config = params["config"]
    with open(os.path.join(FIXTURES, f"pendulum_central_value{suffix}.json")) as f:
        central_value = json.load(f)
    if args.variant == "rnn":
        params["network"]["rnn"] = central_value["policy_rnn"]
        config["seq_length"] = central_value["seq_length"]
        central_value = central_value["central_value_config"]
    params["seed"] = args.seed
    config["max_epochs"] = args.epochs
    config["torch_compile"] = False
    config["full_experiment_name"] = "cv_fixture"
    config["train_dir"] = os.path.join("/tmp", f"cv_fixture_{os.getpid()}")
    config["central_value_config"] = central_value
    env_config = dict(config.get("env_config") or {})
    env_config.update(device="cpu", rng="rlhost", states=True)
    config["env_config"] = env_config
    config.pop("player", None)

    rgp.apply_runtime_patches()
    from rl_games.algos_torch import a2c_continuous
    from rl_games.algos_torch import central_value as cv_mod
    from rl_games.torch_runner import Runner

    A = a2c_continuous.A2CAgent
    keep = {}

    def np_(t):
        return t.detach().cpu().numpy().copy()

    def dump_state(agent, prefix):
        for k, v in agent.model.state_dict().items():
            keep[f"{prefix}.{k}"] = np_(v)
        cv = agent.central_value_net
        for k, v in cv.state_dict().items():
            keep[f"{prefix}.cv.{k}"] = np_(v)
        names = {id(p): n for n, p in cv.model.named_parameters()}
        for group in cv.optimizer.param_groups:
            for p in group["params"]:
                st = cv.optimizer.state.get(p, {})
                if "exp_avg" in st:
                    keep[f"{prefix}.cv_adam.{names[id(p)]}.exp_avg"] = np_(st["exp_avg"])
                    keep[f"{prefix}.cv_adam.{names[id(p)]}.exp_avg_sq"] = np_(st["exp_avg_sq"])
                    keep[f"{prefix}.cv_adam_step"] = np.array([float(st["step"])], dtype=np.float64)
        keep[f"{prefix}.cv_lr"] = np.array([cv.lr], dtype=np.float64)

    orig_train_net = cv_mod.CentralValueTrain.train_net

    def train_net(self):
        loss = orig_train_net(self)
        keep[f"epoch{self.epoch_num}.cv_loss"] = np.array([loss], dtype=np.float64)
        return loss

    orig_train_epoch = A.train_epoch

    def train_epoch(self):
        if self.epoch_num == 1:
            dump_state(self, "init")
        out = orig_train_epoch(self)
        dump_state(self, f"epoch{self.epoch_num}")
        a_losses, c_losses = out[4], out[5]
        keep[f"epoch{self.epoch_num}.a_loss"] = np.array([torch.stack(a_losses).mean().item()], dtype=np.float64)
        keep[f"epoch{self.epoch_num}.c_loss"] = np.array([torch.stack(c_losses).mean().item()], dtype=np.float64)
        return out

    A.train_epoch = train_epoch
    cv_mod.CentralValueTrain.train_net = train_net

    rgp.register_env(config["env_name"])
    runner = Runner()
    runner.load(cfg)
    runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
    np.savez(out, **keep)
    print(f"wrote {out} ({len(keep)} arrays)")


if __name__ == "__main__":
    main()
