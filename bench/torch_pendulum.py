"""A batched torch Pendulum-v1 vec-env for rl_games (IVecEnv), for the side-by-side benchmark.

Dynamics and reward are Gymnasium's Pendulum-v1 (g = 10, m = l = 1, dt = 0.05, max speed 8,
max torque 2), evaluated on the whole batch at once in float64, as rlhost's classic_control
plugin does (plugins/classic_control/src/pendulum.rs, batch.rs):

    u      = clip(a, -2, 2)                                          (float32, as Gymnasium sees it)
    cost   = angle_normalize(th)^2 + 0.1 thdot^2 + 0.001 u^2        (reward = -cost)
    thdot' = clip(thdot + (3 g / (2 l) sin th + 3 / (m l^2) u) dt, -8, 8)
    th'    = th + thdot' dt
    obs    = (cos th, sin th, thdot)            (float32)

Initial state th ~ U(-pi, pi), thdot ~ U(-1, 1). Episodes are truncated after 200 steps (never
terminated). The vec-env contract is rl_games' `same_step` autoreset (docs/rl_games.md §9): on a
done step the returned observation is already the first one of the next episode;
`infos['time_outs']` flags truncations (used for the value bootstrap).

`init_at_random_ep_len: True` (staggered starts): at reset each env's step counter starts at
floor(U(0,1) * 200), so its first episode is partial (1..200 steps), as rlhost's plugin does.

Every finished episode is appended to `episodes.csv` (when `episodes_csv` is given) in rlhost's
format: `frame,env,return,length,first_episode`, where frame = env steps so far x number of envs
(counted after the step that ended the episode), return = sum of raw rewards (float32), and
first_episode = 1 for each env's first episode since the reset (partial under staggered starts).

`states: True` adds rlhost's privileged `states` group (classic_control's `env_config.states`):
observations become `{'obs': obs, 'states': (th, thdot) as float32}` and `get_env_info` gains a
`state_space`, which is what rl_games' central value (`central_value_config`) reads.

Everything is batched tensor ops; the only host work per step is writing the (few) finished rows.
The vec-env itself (auto-reset, staggered starts, `rng: rlhost`, the CSV) is `torch_classic.py`'s
`TorchClassicEnv`, shared with the other classic-control twins; this file holds the physics.
"""
import math

import torch

# The vec-env machinery and rlhost's counter-based draws are shared by the four twins.
from torch_classic import Dynamics, TorchClassicEnv, _mix, rlhost_uniform, scale_uniform  # noqa: F401

G = 10.0
M = 1.0
L = 1.0
DT = 0.05
MAX_SPEED = 8.0
MAX_TORQUE = 2.0
MAX_EPISODE_STEPS = 200


def angle_normalize(x):
    """((x + pi) mod 2pi) - pi with a floored modulo, as numpy's %."""
    return torch.remainder(x + math.pi, 2.0 * math.pi) - math.pi


def pendulum_step(state, action):
    """One Gymnasium Pendulum-v1 step on a batch. state (N, 2) float64, action (N, 1) float32.

    Returns (next_state (N, 2) float64, reward (N,) float64)."""
    th, thdot = state[:, 0], state[:, 1]
    # Gymnasium receives a float32 action: np.clip keeps it float32, and under numpy 2's promotion
    # rules `0.001 * u**2` and `3.0 / (m l^2) * u` are float32 products added to float64 terms.
    # The same precision here makes free-running trajectories agree with Gymnasium's bit for bit.
    u = action[:, 0].to(torch.float32).clamp(-MAX_TORQUE, MAX_TORQUE)
    u_cost = (0.001 * (u * u)).to(torch.float64)
    u_accel = (3.0 / (M * L * L) * u).to(torch.float64)
    costs = angle_normalize(th).square() + 0.1 * thdot.square() + u_cost
    newthdot = (thdot + (3.0 * G / (2.0 * L) * torch.sin(th) + u_accel) * DT).clamp(-MAX_SPEED, MAX_SPEED)
    newth = th + newthdot * DT
    return torch.stack((newth, newthdot), dim=1), -costs


def observe(state):
    th = state[:, 0]
    return torch.stack((torch.cos(th), torch.sin(th), state[:, 1]), dim=1).to(torch.float32)


class Pendulum(Dynamics):
    """Pendulum-v1 as rlhost's plugins/classic_control/src/pendulum.rs (state (th, thdot))."""
    NAME = "Pendulum-v1"
    STATE_DIM = 2
    OBS_LOW = [-1.0, -1.0, -MAX_SPEED]
    OBS_HIGH = [1.0, 1.0, MAX_SPEED]
    ACTION_LOW, ACTION_HIGH = [-MAX_TORQUE], [MAX_TORQUE]
    MAX_EPISODE_STEPS = MAX_EPISODE_STEPS

    @staticmethod
    def initial_state(u):
        return torch.stack((scale_uniform(u[:, 0], -math.pi, math.pi), scale_uniform(u[:, 1], -1.0, 1.0)), dim=1)

    @staticmethod
    def step(state, action):
        nxt, reward = pendulum_step(state, action)
        return nxt, reward, torch.zeros_like(reward, dtype=torch.bool)

    @staticmethod
    def observe(state):
        return observe(state)


class TorchPendulum(TorchClassicEnv):
    """N Pendulum-v1 environments in torch tensors on one device."""
    DYNAMICS = Pendulum
