#!/usr/bin/env python3
"""Writes model/tests/fixtures/rl_games_1.6.5_cnn_seed42.npz for model/tests/cnn_as_rl_games.rs:
rl_games 1.6.5's `continuous_a2c_logstd` model with the `network` blocks of
model/tests/fixtures/cnn_networks.json (Isaac Lab's camera cart-pole tower, conv2d on (H, W, C)
images with permute_input; a separate conv1d variant), built after `torch.manual_seed(42)` as the
agent builds it, and for each `<name>`:

  <name>.init.<key>     the state dict at construction
  <name>.obs            a batch of observations (uint8 images for conv2d, float32 for conv1d)
  <name>.actions        actions for the neg-log-prob
  <name>.out.{mu, sigma, value, neglogp}   the training-mode forward (`is_train: True`, obs / 255
                        for uint8 as `_preproc_obs` does; the input normaliser updates first)
  <name>.grad.<param>   gradients of sum(mu) + sum(value) + sum(neglogp)

    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/ab/cnn_fixture.py
"""
import json
import os

import numpy as np
from fixture_out import out_path
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "model", "tests", "fixtures")


def main():
    from rl_games.algos_torch import model_builder

    with open(os.path.join(FIXTURES, "cnn_networks.json")) as f:
        variants = json.load(f)
    keep = {}
    for name, v in variants.items():
        params = {"model": {"name": "continuous_a2c_logstd"}, "network": v["network"]}
        model = model_builder.ModelBuilder().load(params)
        torch.manual_seed(42)
        net = model.build({
            "actions_num": v["actions"], "input_shape": tuple(v["obs_shape"]), "num_seqs": 1, "value_size": 1,
            "normalize_value": True, "normalize_input": True,
        })
        for k, t in net.state_dict().items():
            keep[f"{name}.init.{k}"] = t.detach().numpy().copy()
        g = torch.Generator().manual_seed(7)
        shape = (v["batch"], *v["obs_shape"])
        if v["uint8"]:
            obs = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
            x = obs.float() / 255.0
        else:
            obs = torch.randn(shape, generator=g)
            x = obs
        actions = torch.randn((v["batch"], v["actions"]), generator=g)
        net.train()
        res = net({"is_train": True, "prev_actions": actions, "obs": x})
        loss = res["mus"].sum() + res["values"].sum() + res["prev_neglogp"].sum()
        loss.backward()
        keep[f"{name}.obs"] = obs.numpy()
        keep[f"{name}.actions"] = actions.numpy()
        for k, key in (("mu", "mus"), ("sigma", "sigmas"), ("value", "values"), ("neglogp", "prev_neglogp")):
            keep[f"{name}.out.{k}"] = res[key].detach().numpy().copy()
        for k, p in net.named_parameters():
            keep[f"{name}.grad.{k}"] = p.grad.numpy().copy()
    out = out_path("model/tests/fixtures/rl_games_1.6.5_cnn_seed42.npz")
    np.savez(out, **keep)
    print(f"wrote {out} ({len(keep)} arrays)")


if __name__ == "__main__":
    main()
