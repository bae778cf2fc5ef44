"""Isaac Lab's rl_games train.py / play.py, shaped as they drive rl_games, with the one change
`from rlhost import Runner`. Used by tests/python_module.rs.

Usage: train_like_isaaclab.py WORKDIR train|resume|sigma|play|player|env_error|interrupt|distributed [CHECKPOINT] [SIGMA]
(`distributed`: train.py --distributed, one rank of a group launched with torchrun's variables)
Prints one JSON line with what `runner.run` returned (or the exception caught).
"""
import json
import math
import os
import sys

import gymnasium as gym
import numpy as np
import torch
import yaml
from rl_games.common import env_configurations, vecenv
from rl_games.common.algo_observer import IsaacAlgoObserver

from rlhost import EnvError, Runner  # instead of: from rl_games.torch_runner import Runner

import isaac_style_env

HERE = os.path.dirname(os.path.abspath(__file__))


class RlGamesVecEnvWrapper(vecenv.IVecEnv):
    """What isaaclab_rl.rl_games.RlGamesVecEnvWrapper does to an Isaac Lab env."""

    def __init__(self, env, rl_device, clip_obs, clip_actions):
        self.env = env
        self._rl_device = rl_device
        self._clip_obs = clip_obs
        self._clip_actions = clip_actions

    def get_number_of_agents(self):
        return 1

    def get_env_info(self):
        box = lambda bound, n: gym.spaces.Box(-bound, bound, (n,), np.float32)  # noqa: E731
        return {
            "observation_space": box(self._clip_obs, 4),
            "action_space": box(self._clip_actions, 2),
            "state_space": box(self._clip_obs, 6),
        }

    def _process_obs(self, obs):
        return {
            "obs": torch.clamp(obs["policy"], -self._clip_obs, self._clip_obs).to(self._rl_device),
            "states": torch.clamp(obs["critic"], -self._clip_obs, self._clip_obs).to(self._rl_device),
        }

    def reset(self):
        obs, _ = self.env.reset()
        return self._process_obs(obs)

    def step(self, actions):
        actions = torch.clamp(actions.detach().clone(), -self._clip_actions, self._clip_actions)
        obs, rew, terminated, truncated, extras = self.env.step(actions)
        extras = dict(extras)
        extras["time_outs"] = truncated.to(device=self._rl_device)
        if "log" in extras:
            extras["episode"] = extras.pop("log")
        dones = (terminated | truncated).to(dtype=torch.long)
        return self._process_obs(obs), rew.to(self._rl_device), dones.to(self._rl_device), extras


class RlGamesGpuEnv(vecenv.IVecEnv):
    """isaaclab_rl.rl_games.RlGamesGpuEnv."""

    def __init__(self, config_name, num_actors, **kwargs):
        self.env = env_configurations.configurations[config_name]["env_creator"](**kwargs)

    def step(self, action):
        return self.env.step(action)

    def reset(self):
        return self.env.reset()

    def get_number_of_agents(self):
        return self.env.get_number_of_agents()

    def get_env_info(self):
        return self.env.get_env_info()


def register_env(mode):
    """Reads the agent config and registers the wrapped env with rl_games, as train.py does."""
    with open(os.path.join(HERE, "isaac_style_ppo.yaml")) as f:
        agent_cfg = yaml.safe_load(f)
    agent_cfg["params"]["config"]["env_name"] = "rlgpu"
    agent_cfg["params"]["config"]["env_config"] = {}
    agent_cfg["params"]["config"]["max_epochs"] = 12
    agent_cfg["params"]["config"]["full_experiment_name"] = "isaaclab"
    agent_cfg["params"]["config"]["player"] = {"games_num": 8}
    num_envs = agent_cfg["params"]["config"]["num_actors"]
    fault = "step" if mode == "env_error" else "none"
    step_sleep = 0.02 if mode == "interrupt" else 0.0
    if mode == "interrupt":
        agent_cfg["params"]["config"]["max_epochs"] = 100000
    env_seed = agent_cfg["params"]["seed"]
    if mode == "distributed":
        # train.py --distributed: multi_gpu on, the device of this rank, the env seeded per rank
        # (the agent's seed gets the rank from the Runner, as rl_games' does).
        agent_cfg["params"]["config"]["multi_gpu"] = True
        agent_cfg["params"]["config"]["multi_gpu_check_sync"] = True
        agent_cfg["params"]["config"]["max_epochs"] = 6
        env_seed += int(os.environ["RANK"])
    env = isaac_style_env.make(num_envs=num_envs, device="cpu", seed=env_seed, fault=fault, step_sleep=step_sleep)
    clip_obs = agent_cfg["params"]["env"]["clip_observations"]
    clip_actions = agent_cfg["params"]["env"]["clip_actions"]
    env = RlGamesVecEnvWrapper(env, "cpu", clip_obs, clip_actions)
    vecenv.register("IsaacRlgWrapper", lambda config_name, num_actors, **kwargs: RlGamesGpuEnv(config_name, num_actors, **kwargs))
    env_configurations.register("rlgpu", {"vecenv_type": "IsaacRlgWrapper", "env_creator": lambda **kwargs: env})
    return agent_cfg, env


def play_by_hand(runner, env, checkpoint, steps=64):
    """Isaac Lab's play.py loop: create_player, restore, then get_action on every step; and the
    same number of steps with random actions, to compare."""
    agent = runner.create_player()
    agent.restore(checkpoint)
    agent.reset()
    obs = env.reset()
    if isinstance(obs, dict):
        obs = obs["obs"]
    total, first = 0.0, None
    for _ in range(steps):
        obs = agent.obs_to_torch(obs)
        actions = agent.get_action(obs, is_deterministic=agent.is_deterministic)
        if first is None:
            first = (obs.clone(), actions.clone())
        obs, rew, dones, _ = env.step(actions)
        obs = obs["obs"]
        total += float(rew.mean())
    again = agent.get_action(first[0], is_deterministic=True)
    torch.manual_seed(0)
    env.reset()
    random_total = 0.0
    for _ in range(steps):
        _, rew, _, _ = env.step(torch.rand(first[1].shape) * 2 - 1)
        random_total += float(rew.mean())
    return {
        "action_shape": list(first[1].shape),
        "max_abs_action": float(first[1].abs().max()),
        "repeatable": bool(torch.equal(again, first[1])),
        "policy_reward": total / steps,
        "random_reward": random_total / steps,
    }


def main():
    work, mode = sys.argv[1], sys.argv[2]
    checkpoint = sys.argv[3] if len(sys.argv) > 3 else None
    sigma = sys.argv[4] if len(sys.argv) > 4 else None
    os.chdir(work)
    agent_cfg, env = register_env(mode)
    runner = Runner(IsaacAlgoObserver())
    runner.load(agent_cfg)
    runner.reset()
    if mode == "player":
        runner.load(agent_cfg)
        print(json.dumps(play_by_hand(runner, env, checkpoint)))
        return
    play = mode == "play"
    if mode in ("resume", "sigma"):
        agent_cfg["params"]["config"]["max_epochs"] = 16 if mode == "resume" else 13
        runner.load(agent_cfg)
    try:
        result = runner.run({"train": not play, "play": play, "sigma": sigma, "checkpoint": checkpoint})
    except KeyboardInterrupt as e:
        print(json.dumps({"keyboard_interrupt": str(e)}))
        return
    except EnvError as e:
        print(json.dumps({"caught": type(e).__name__, "is_runtime_error": isinstance(e, RuntimeError), "message": str(e)}))
        # The interpreter survives: the script goes on.
        print(json.dumps({"survived": float(torch.ones(1).sum())}))
        return
    if mode == "sigma":
        result["sigma"] = saved_sigma(result["run_dir"])
    # JSON has no infinity (best_reward is -inf before the first saved best).
    print(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in result.items()}))


def saved_sigma(run_dir):
    """`a2c_network.sigma` of the newest checkpoint in `run_dir` (a minimal safetensors reader)."""
    import struct

    nn = os.path.join(run_dir, "nn")
    newest = max((os.path.join(nn, f) for f in os.listdir(nn)), key=os.path.getmtime)
    with open(newest, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        entry = header["a2c_network.sigma"]
        start, end = entry["data_offsets"]
        f.seek(8 + size + start)
        data = f.read(end - start)
    return list(struct.unpack("<%df" % (len(data) // 4), data))


if __name__ == "__main__":
    main()
