#!/usr/bin/env python3
"""Writes plugins/a2c_continuous/tests/fixtures/rl_games_1.6.5_cartpole_camera_seed42.npz for
plugins/a2c_continuous/tests/cnn_as_rl_games.rs: rl_games 1.6.5 trains
tests/fixtures/cartpole_camera.json (Isaac Lab's camera cart-pole network and PPO settings, 16
envs, minibatch 512, the env block dropped) on bench/torch_cartpole_camera.py, the torch twin of
rlhost's CartPoleCamera with rlhost's env draws, seed 42, for two epochs, and stores

  init.<key>, epoch<E>.<key>   (E = 1, 2) the model's state dict at construction and after epoch
                  E, as a digest (the full dicts are 32 MB): `<key>.norm` (float64 L2 norm) and
                  `<key>.sample`, the elements at 256 evenly spaced flat indices (all when fewer),
                  `round(i * (numel - 1) / 255)`

    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/ab/camera_fixture.py
"""
import json
import os
import sys

import numpy as np
from fixture_out import out_path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "plugins", "a2c_continuous", "tests", "fixtures")


def sample_indices(numel):
    """The flat indices of a tensor's digest sample."""
    if numel <= 256:
        return np.arange(numel)
    return np.array([round(i * (numel - 1) / 255) for i in range(256)])


def digest(keep, key, array):
    flat = array.reshape(-1)
    keep[f"{key}.norm"] = np.array([np.linalg.norm(flat.astype(np.float64))])
    keep[f"{key}.sample"] = flat[sample_indices(flat.size)].copy()


def main():
    with open(os.path.join(FIXTURES, "cartpole_camera.json")) as f:
        cfg = json.load(f)
    config = cfg["params"]["config"]
    config["torch_compile"] = False
    config["full_experiment_name"] = "camera_fixture"
    config["train_dir"] = os.path.join("/tmp", f"camera_fixture_{os.getpid()}")
    from rl_games.algos_torch import a2c_continuous
    from rl_games.common import env_configurations, vecenv
    from rl_games.torch_runner import Runner
    from torch_cartpole_camera import TorchCartPoleCamera

    vecenv.register("RLHOST_TORCH_CARTPOLE_CAMERA",
                    lambda config_name, num_actors, **kwargs: TorchCartPoleCamera(config_name, num_actors, **kwargs))
    env_configurations.register(config["env_name"], {
        "vecenv_type": "RLHOST_TORCH_CARTPOLE_CAMERA",
        "env_creator": lambda **kwargs: TorchCartPoleCamera(config["env_name"], 1, **kwargs),
    })
    A = a2c_continuous.A2CAgent
    keep = {}

    def dump(agent, prefix):
        for k, v in agent.model.state_dict().items():
            digest(keep, f"{prefix}.{k}", v.detach().cpu().numpy())

    orig = A.train_epoch

    def train_epoch(self):
        if self.epoch_num == 1:
            dump(self, "init")
        out = orig(self)
        dump(self, f"epoch{self.epoch_num}")
        return out

    A.train_epoch = train_epoch
    runner = Runner()
    runner.load(cfg)
    runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
    out = out_path("plugins/a2c_continuous/tests/fixtures/rl_games_1.6.5_cartpole_camera_seed42.npz")
    np.savez(out, **keep)
    print(f"wrote {out} ({len(keep)} arrays)")


if __name__ == "__main__":
    main()
