#!/usr/bin/env python3
"""Trains rl_games 1.6.5's `a2c_continuous` on a Gymnasium env with an rlhost `gym:<id>` YAML, as is.

    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/rl_games_gym.py \
        --config configs/halfcheetah_gym_ppo.yaml --seed 5 --experiment rlg_5 [--epochs 123] [--train-dir runs]

The rl_games side of `bench/side_by_side.py` for `env_name: gym:<id>` configs. It steps the env the
way rlhost's Python env plugin does (plugins/python_env, `gym:` builders): `gymnasium.make_vec(id,
num_envs=num_actors, vectorization_mode=sync|async)` with same-step auto-reset, the rest of
`env_config` as keyword arguments of the env, sub-env i seeded with seed + i (Gymnasium's
`reset(seed=seed)`), observations and rewards cast to float32, `terminated | truncated` as dones and
`truncated` as `infos["time_outs"]` (value bootstrap). Every finished episode is appended to
`<run>/summaries/episodes.csv` in rlhost's format (frame,env,return,length,first_episode), so both
programs' learning is read by the same code. rl_games runs through its own
`rl_games.torch_runner.Runner` with the run-time settings of bench/rl_games_pendulum.py (seed,
max_epochs, torch_compile off, run folder); the YAML file is not edited.
"""
import argparse
import os
import sys

import numpy as np
from rl_games.common.ivecenv import IVecEnv

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rl_games_pendulum as rgp  # noqa: E402  (the shared runner code)

GYM_PREFIX = "gym:"


class GymVecEnv(IVecEnv):
    """rl_games IVecEnv over Gymnasium's own vector env, with rlhost's `gym:` semantics."""

    def __init__(self, env_id, num_envs, seed, vectorization="sync", episodes_csv=None, **env_kwargs):
        import gymnasium as gym

        self.env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=vectorization,
                                vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
                                **env_kwargs)
        self.num_envs = num_envs
        self.seed_value = int(seed)
        self.observation_space = self.env.single_observation_space
        self.action_space = self.env.single_action_space
        self.ep_return = np.zeros(num_envs, np.float32)
        self.ep_length = np.zeros(num_envs, np.int64)
        self.first_episode = np.ones(num_envs, bool)
        self.frames = 0
        self.log = None
        if episodes_csv:
            os.makedirs(os.path.dirname(os.path.abspath(episodes_csv)), exist_ok=True)
            self.log = open(episodes_csv, "w", buffering=1 << 16)
            self.log.write("frame,env,return,length,first_episode\n")

    def get_env_info(self):
        return {"observation_space": self.observation_space, "action_space": self.action_space,
                "agents": 1, "value_size": 1}

    def get_number_of_agents(self):
        return 1

    def reset(self):
        obs, _ = self.env.reset(seed=self.seed_value)
        return obs.astype(np.float32)

    def step(self, actions):
        actions = np.asarray(actions.cpu().numpy() if hasattr(actions, "cpu") else actions)
        obs, reward, terminated, truncated, _ = self.env.step(actions.reshape((self.num_envs,) + self.action_space.shape))
        reward = reward.astype(np.float32)
        done = terminated | truncated
        self.frames += self.num_envs
        self.ep_return += reward
        self.ep_length += 1
        finished = np.flatnonzero(done)
        if finished.size:
            if self.log is not None:
                self.log.write("".join(f"{self.frames},{e},{self.ep_return[e]!s},{self.ep_length[e]},{int(self.first_episode[e])}\n"
                                       for e in finished))
            self.ep_return[finished] = 0.0
            self.ep_length[finished] = 0
            self.first_episode[finished] = False
        return obs.astype(np.float32), reward, done.astype(np.uint8), {"time_outs": truncated & ~terminated}

    def close(self):
        self.env.close()
        if self.log is not None:
            self.log.close()
            self.log = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    rgp.add_run_arguments(ap)
    args = ap.parse_args()

    cfg, config, _ = rgp.load_run_config(args)
    env_name = config["env_name"]
    if not env_name.startswith(GYM_PREFIX):
        sys.exit(f"rl_games_gym.py: this runner provides gym:<id> envs only, config asks for {env_name}")
    env_id = env_name[len(GYM_PREFIX):]

    rgp.apply_runtime_patches()
    # Runner.load adds env_config.seed = params.seed: sub-env i gets seed + i, as in rlhost.
    rgp.register_vecenv(env_name, lambda _name, num_actors, **kwargs: GymVecEnv(env_id, num_actors, **kwargs))
    rgp.train(cfg, "rl_games_gym")


if __name__ == "__main__":
    main()
