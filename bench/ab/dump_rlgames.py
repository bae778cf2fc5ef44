#!/usr/bin/env python3
"""Lock-step A/B, rl_games side: runs rl_games 1.6.5 on the Pendulum YAML (as bench/rl_games_pendulum.py)
and dumps, for each epoch in --epochs-to-dump, to <out>/ep<E>.npz:
  pre.*        model state dict at the start of the update phase (after the rollout; obs RMS as used)
  vrms_pre.*   value_mean_std before prepare_dataset
  adam.<name>.{exp_avg,exp_avg_sq}, adam_step, lr_pre
  raw.*        batch_dict before prepare_dataset (values, returns, obses, ...)
  ds.*         the prepared dataset (old_values, returns, advantages, mu, sigma, ...), before training
  mb.*         per minibatch: a_loss, c_loss, entropy, kl, lr used, total grad norm (pre clip),
               per-parameter grad norms (pre clip)
  post.*       model state dict after the epoch's updates, plus adam.* after
Stops after the last dumped epoch.

    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/ab/dump_rlgames.py --seed 42 --out /tmp/ab --epochs-to-dump 1,4
"""
import argparse
import os
import sys

import numpy as np
import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import rl_games_pendulum as rgp  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=os.path.join(HERE, "..", "..", "configs", "pendulum_ppo.yaml"))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs-to-dump", default="1,4")
    ap.add_argument("--env-rng", default="rlhost")
    args = ap.parse_args()
    targets = sorted(int(e) for e in args.epochs_to_dump.split(","))
    os.makedirs(args.out, exist_ok=True)

    with open(args.config) as f:
        cfg = yaml.safe_load(f)
    params = cfg["params"]
    config = params["config"]
    params["seed"] = args.seed
    config["max_epochs"] = max(targets)
    config["torch_compile"] = False
    config["full_experiment_name"] = "ab_dump"
    config["train_dir"] = os.path.join(args.out, "runs")
    env_config = dict(config.get("env_config") or {})
    env_config["device"] = config.get("device", "cpu")
    env_config["rng"] = args.env_rng
    config["env_config"] = env_config
    config.pop("player", None)

    rgp.apply_runtime_patches()
    from rl_games.common import a2c_common
    from rl_games.algos_torch import a2c_continuous
    from rl_games.torch_runner import Runner

    A = a2c_continuous.A2CAgent
    store = {}
    state = {"active": False}

    def np_(t):
        return t.detach().cpu().numpy().copy()

    def adam_state(agent, prefix):
        names = {id(p): n for n, p in agent.model.named_parameters()}
        for group in agent.optimizer.param_groups:
            for p in group["params"]:
                st = agent.optimizer.state.get(p, {})
                if "exp_avg" in st:
                    store[f"{prefix}.{names[id(p)]}.exp_avg"] = np_(st["exp_avg"])
                    store[f"{prefix}.{names[id(p)]}.exp_avg_sq"] = np_(st["exp_avg_sq"])
                    store[f"{prefix}_step"] = np.array([float(st["step"])], dtype=np.float64)
        if f"{prefix}_step" not in store:
            store[f"{prefix}_step"] = np.array([0.0], dtype=np.float64)

    orig_prepare = A.prepare_dataset

    def prepare_dataset(self, batch_dict):
        if state["active"]:
            for k, v in batch_dict.items():
                if torch.is_tensor(v):
                    store[f"raw.{k}"] = np_(v)
            for k, v in self.model.state_dict().items():
                if k.startswith("value_mean_std"):
                    store[f"vrms_pre.{k}"] = np_(v)
        orig_prepare(self, batch_dict)
        if state["active"]:
            for k, v in self.dataset.values_dict.items():
                if torch.is_tensor(v):
                    store[f"ds.{k}"] = np_(v)
            for k, v in self.model.state_dict().items():
                store[f"pre.{k}"] = np_(v)
            adam_state(self, "adam")
            store["lr_pre"] = np.array([self.last_lr], dtype=np.float64)
            state["mb"] = []

    orig_step = A.trancate_gradients_and_step

    def trancate_gradients_and_step(self):
        if state["active"]:
            rec = {}
            norms = []
            for n, p in self.model.named_parameters():
                if p.grad is not None:
                    rec[f"gradnorm.{n}"] = float(p.grad.norm())
                    norms.append(p.grad.norm())
            rec["total_grad_norm"] = float(torch.stack(norms).norm())
            rec["lr_used"] = float(self.optimizer.param_groups[0]["lr"])
            state["mb"].append(rec)
        orig_step(self)
        if state["active"]:
            # One-element parameters after the step, and their clipped gradients, to the bit.
            for n, p in self.model.named_parameters():
                if p.numel() == 1:
                    rec[f"after_step.{n}"] = float(p.detach().reshape(-1)[0])
                    rec[f"clipped_grad.{n}"] = float(p.grad.reshape(-1)[0])

    orig_tac = A.train_actor_critic

    def train_actor_critic(self, input_dict):
        res = orig_tac(self, input_dict)
        if state["active"]:
            a_loss, c_loss, entropy, kl, last_lr, lr_mul, cmu, csigma, b_loss = res
            rec = state["mb"][-1]
            rec.update(a_loss=float(a_loss), c_loss=float(c_loss), entropy=float(entropy), kl=float(kl))
        return res

    orig_train_epoch = A.train_epoch

    def train_epoch(self):
        state["active"] = self.epoch_num in targets
        store.clear()
        out = orig_train_epoch(self)
        if state["active"]:
            for k, v in self.model.state_dict().items():
                store[f"post.{k}"] = np_(v)
            adam_state(self, "post_adam")
            store["lr_post"] = np.array([self.last_lr], dtype=np.float64)
            keys = sorted(state["mb"][0].keys())
            for k in keys:
                store[f"mb.{k}"] = np.array([r[k] for r in state["mb"]], dtype=np.float64)
            path = os.path.join(args.out, f"ep{self.epoch_num}.npz")
            np.savez(path, **store)
            print(f"dumped {path} ({len(store)} arrays)", flush=True)
            state["active"] = False
        return out

    A.prepare_dataset = prepare_dataset
    A.trancate_gradients_and_step = trancate_gradients_and_step
    A.train_actor_critic = train_actor_critic
    A.train_epoch = train_epoch

    rgp.register_env(config["env_name"])
    runner = Runner()
    runner.load(cfg)
    runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})


if __name__ == "__main__":
    main()
