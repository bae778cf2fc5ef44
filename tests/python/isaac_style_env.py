"""A batched torch environment with Isaac Lab's interface, for rlhost's tests.

`make(num_envs, device, seed, **kwargs)` returns a point-mass reaching task: each env pushes a
2-d point towards its own target. Observations come as Isaac Lab's groups (`policy`: offset to
the target and velocity; `critic`: also the absolute position and the target), episodes end
in success (terminated) or after `max_episode_length` steps (truncated, Isaac Lab's time-outs),
finished envs restart in the same step, and `extras["log"]` carries per-episode statistics as
Isaac Lab's managers fill it. `fault` makes it misbehave in one way, for the failure tests.
"""
import time

import gymnasium as gym
import numpy as np
import torch


class PointReach:
    def __init__(self, num_envs, device, seed, max_episode_length=64, fault="none", step_sleep=0.0):
        self.num_envs = num_envs
        self.device = torch.device(device) if fault != "device" else torch.device("meta")
        self.max_episode_length = max_episode_length
        self.fault = fault
        self.step_sleep = step_sleep
        self.generator = torch.Generator(device=device).manual_seed(seed)
        inf = np.inf
        self.single_observation_space = gym.spaces.Dict(
            {
                "policy": gym.spaces.Box(-inf, inf, (4,), np.float32),
                "critic": gym.spaces.Box(-inf, inf, (6,), np.float32),
            }
        )
        self.single_action_space = gym.spaces.Box(-inf, inf, (2,), np.float32)
        self.pos = torch.zeros(num_envs, 2, device=device)
        self.vel = torch.zeros(num_envs, 2, device=device)
        self.target = torch.zeros(num_envs, 2, device=device)
        self.episode_length = torch.zeros(num_envs, dtype=torch.long, device=device)
        self.episode_return = torch.zeros(num_envs, device=device)
        self.extras = {}
        self.steps = 0

    def _uniform(self, n, scale):
        return (torch.rand(n, 2, generator=self.generator, device=self.pos.device) * 2 - 1) * scale

    def _reset_idx(self, ids):
        if len(ids) == 0:
            return
        self.extras["log"] = {
            "Episode_Reward/return": self.episode_return[ids].clone(),
            "Episode_Termination/success": (self.episode_length[ids] < self.max_episode_length).float().mean(),
        }
        self.pos[ids] = self._uniform(len(ids), 1.0)
        self.target[ids] = self._uniform(len(ids), 1.0)
        self.vel[ids] = 0
        self.episode_length[ids] = 0
        self.episode_return[ids] = 0

    def _observations(self):
        policy = torch.cat([self.target - self.pos, self.vel], dim=1)
        critic = torch.cat([self.pos, self.vel, self.target], dim=1)
        if self.fault == "obs_shape":
            policy = policy[:, :3]
        return {"policy": policy, "critic": critic}

    def reset(self):
        if self.fault == "reset":
            raise ValueError("the simulator refused to reset")
        self._reset_idx(torch.arange(self.num_envs, device=self.pos.device))
        self.extras = {}
        return self._observations(), self.extras

    def step(self, actions):
        if self.step_sleep:
            time.sleep(self.step_sleep)
        self.steps += 1
        if self.fault == "step" and self.steps > 100:
            raise RuntimeError("physics blew up at step %d" % self.steps)
        force = actions.clamp(-1.0, 1.0)
        self.vel = 0.8 * self.vel + 0.1 * force
        self.pos = self.pos + self.vel
        distance = (self.target - self.pos).norm(dim=1)
        reward = -distance
        self.episode_return += reward
        self.episode_length += 1
        terminated = distance < 0.05
        truncated = self.episode_length >= self.max_episode_length
        self._reset_idx(torch.nonzero(terminated | truncated).flatten())
        self.extras["time_outs"] = truncated
        self.extras["curriculum_level"] = 1.0 + self.steps // 100
        if self.fault == "reward_dtype":
            reward = reward.to(torch.long)
        return self._observations(), reward, terminated, truncated, self.extras

    def close(self):
        pass


def make(num_envs, device, seed, **kwargs):
    return PointReach(num_envs, device, seed, **kwargs)


def make_without_step(num_envs, device, seed):
    env = PointReach(num_envs, device, seed)
    return type("Incomplete", (), {k: getattr(env, k) for k in ("num_envs", "device", "reset")})()
