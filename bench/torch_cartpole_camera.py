"""A batched torch twin of rlhost's `CartPoleCamera` (plugins/classic_control/src/cartpole_camera.rs,
cartpole.rs, batch.rs) for rl_games (IVecEnv): CartPole-v1's Euler dynamics with force =
clamp(a, -1, 1) x 10 in float64, reward 1 per step, termination at |x| > 2.4 or |theta| > 12 deg,
truncation at 500 steps, same-step auto-reset, `infos['time_outs']`; the observation is a
(100, 100, 3) uint8 RGB image rendered from the state with the same tensor ops as rlhost's
renderer. Initial states and episode counters are rlhost's counter-based draws
(`torch_pendulum.rlhost_uniform`), so both programs see the same episodes for a seed. No
staggered starts (Isaac Lab's camera config sets none).
"""
import math

import numpy as np
import torch
from rl_games.common.ivecenv import IVecEnv

from torch_pendulum import _mix, rlhost_uniform

GRAVITY, MASS_CART, MASS_POLE = 9.8, 1.0, 0.1
TOTAL_MASS = MASS_POLE + MASS_CART
LENGTH = 0.5
POLEMASS_LENGTH = MASS_POLE * LENGTH
FORCE_MAG, TAU = 10.0, 0.02
THETA_THRESHOLD = 12.0 * 2.0 * math.pi / 360.0
X_THRESHOLD = 2.4
MAX_EPISODE_STEPS = 500

IMAGE_SIZE, VIEW = 100, 6.0
CART_HALF_WIDTH, CART_HALF_HEIGHT, CART_Y = 0.3, 0.15, -0.5
POLE_LENGTH, POLE_HALF_WIDTH = 1.0, 0.06
POLE_RGB = (204, 153, 102)


def cartpole_step(state, action):
    """The same op order as rlhost's cartpole.rs."""
    x, x_dot, theta, theta_dot = state[:, 0], state[:, 1], state[:, 2], state[:, 3]
    force = action[:, 0].clamp(-1.0, 1.0) * FORCE_MAG
    costheta, sintheta = theta.cos(), theta.sin()
    temp = (force + theta_dot.square() * sintheta * POLEMASS_LENGTH) / TOTAL_MASS
    thetaacc = (sintheta * GRAVITY - costheta * temp) / ((costheta.square() * (MASS_POLE / TOTAL_MASS)).neg() + 4.0 / 3.0) / LENGTH
    xacc = temp - thetaacc * costheta * (POLEMASS_LENGTH / TOTAL_MASS)
    nxt = torch.stack((x + x_dot * TAU, x_dot + xacc * TAU, theta + theta_dot * TAU, theta_dot + thetaacc * TAU), dim=1)
    terminated = (nxt[:, 0].abs() > X_THRESHOLD) | (nxt[:, 2].abs() > THETA_THRESHOLD)
    return nxt, torch.ones_like(terminated, dtype=torch.float64), terminated


def render(state):
    """(N, 4) float64 -> (N, H, W, 3) uint8, the same ops as rlhost's `render`."""
    opts = dict(dtype=torch.float64, device=state.device)
    scale = IMAGE_SIZE / VIEW
    centres = (torch.arange(IMAGE_SIZE, **opts) + 0.5) / scale
    wx = (centres - VIEW / 2.0).view(1, 1, -1)
    wy = (centres.neg() + VIEW / 2.0).view(1, -1, 1)
    x = state[:, 0].view(-1, 1, 1)
    theta = state[:, 2].view(-1, 1, 1)
    dx = wx - x
    dy = wy - CART_Y
    cart = (dx.abs() <= CART_HALF_WIDTH) & (dy.abs() <= CART_HALF_HEIGHT)
    sin, cos = theta.sin(), theta.cos()
    along = (dx * sin + dy * cos).clamp(0.0, POLE_LENGTH)
    off_x = dx - along * sin
    off_y = dy - along * cos
    pole = (off_x.square() + off_y.square()) <= POLE_HALF_WIDTH * POLE_HALF_WIDTH
    background = (~cart).to(torch.int64) * 255
    channels = [torch.where(~pole, background, torch.tensor(c, device=state.device)) for c in POLE_RGB]
    return torch.stack(channels, -1).to(torch.uint8)


class TorchCartPoleCamera(IVecEnv):
    """N camera-observed cart-poles in torch tensors."""

    def __init__(self, config_name, num_actors, seed=0, device="cpu", **kwargs):
        from gymnasium import spaces

        self.num_envs = int(num_actors)
        self.device = torch.device(device)
        n = self.num_envs
        self.state = torch.zeros((n, 4), dtype=torch.float64, device=self.device)
        self.elapsed = torch.zeros(n, dtype=torch.int64, device=self.device)
        self.observation_space = spaces.Box(low=0, high=255, shape=(IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
        self.action_space = spaces.Box(low=-1.0, high=1.0, shape=(1,), dtype=np.float32)
        self.keys = _mix(torch.arange(n, dtype=torch.int64, device=self.device) + int(seed or 0))
        self.episodes = torch.zeros(n, dtype=torch.int64, device=self.device)
        self.reset()  # rlhost's plugin resets once at creation, then the agent resets again

    def get_env_info(self):
        return {"observation_space": self.observation_space, "action_space": self.action_space, "agents": 1,
                "value_size": 1}

    def get_number_of_agents(self):
        return 1

    def seed(self, seed):
        pass

    def _initial_states(self, idx):
        keys = self.keys if idx is None else self.keys[idx]
        counters = self.episodes if idx is None else self.episodes[idx]
        u = rlhost_uniform(keys, counters, 0, 4)
        if idx is None:
            self.episodes += 1
        else:
            self.episodes[idx] += 1
        return u * (0.05 - -0.05) + -0.05

    def reset(self):
        self.state = self._initial_states(None)
        self.elapsed.zero_()
        return render(self.state)

    def step(self, actions):
        actions = torch.as_tensor(actions).to(self.device).reshape(self.num_envs, -1).to(torch.float64)
        self.state, reward64, terminated = cartpole_step(self.state, actions)
        self.elapsed += 1
        truncated = self.elapsed >= MAX_EPISODE_STEPS
        finished = (terminated | truncated).nonzero().squeeze(1)
        if finished.numel() > 0:
            self.state[finished] = self._initial_states(finished)
            self.elapsed[finished] = 0
        dones = (terminated | truncated).to(torch.uint8)
        return render(self.state), reward64.to(torch.float32), dones, {"time_outs": truncated}
