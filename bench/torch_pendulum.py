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
"""
import math
import os

import numpy as np
import torch

try:  # rl_games is not needed for the env itself (check_pendulum.py imports it without rl_games)
    from rl_games.common.ivecenv import IVecEnv
except ImportError:  # pragma: no cover
    IVecEnv = object

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


# ---- rlhost's counter-based random numbers (plugins/classic_control/src/rng.rs), as an option ----
# With `rng: rlhost` the env draws the very same initial states and staggered offsets as rlhost's
# classic_control plugin for the same seed (SplitMix64 of (seed + i, episode counter, stream,
# column)), so rl_games and rlhost can be compared on identical environment randomness.
_GAMMA = 0x9E3779B97F4A7C15


def _i64(x):
    """A u64 constant as the int64 with the same bits."""
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


def _shr_logical(x, s):
    return torch.bitwise_and(torch.bitwise_right_shift(x, s), (1 << (64 - s)) - 1)


def _mix(x):
    """SplitMix64's finaliser on int64 tensors (wrapping arithmetic, bits read as u64)."""
    z = torch.bitwise_xor(x, _shr_logical(x, 30)) * _i64(0xBF58476D1CE4E5B9)
    z = torch.bitwise_xor(z, _shr_logical(z, 27)) * _i64(0x94D049BB133111EB)
    return torch.bitwise_xor(z, _shr_logical(z, 31))


def rlhost_uniform(keys, counters, stream, cols):
    """Uniform float64 (n, cols) in [0, 1): rlhost's rng::uniform. stream 0 = initial state, 1 = progress."""
    episode = _mix(torch.bitwise_xor(keys, _mix(counters + _i64(stream * _GAMMA)))).unsqueeze(1)
    steps = (torch.arange(1, cols + 1, dtype=torch.int64, device=keys.device) * _i64(_GAMMA)).unsqueeze(0)
    bits = _mix(episode + steps)
    return _shr_logical(bits, 11).to(torch.float64) * (1.0 / (1 << 53))


class TorchPendulum(IVecEnv):
    """N Pendulum-v1 environments in torch tensors on one device."""

    def __init__(self, config_name, num_actors, seed=0, device="cpu", init_at_random_ep_len=False,
                 max_episode_steps=MAX_EPISODE_STEPS, episodes_csv=None, rng="torch", states=False, **kwargs):
        from gymnasium import spaces  # rl_games 1.6.5 uses gymnasium spaces on Python >= 3.9

        self.num_envs = int(num_actors)
        self.device = torch.device(device)
        self.max_steps = int(max_episode_steps)
        self.random_start = bool(init_at_random_ep_len)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(int(seed) if seed is not None else 0)
        n = self.num_envs
        self.state = torch.zeros((n, 2), dtype=torch.float64, device=self.device)
        self.elapsed = torch.zeros(n, dtype=torch.int64, device=self.device)
        self.ep_return = torch.zeros(n, dtype=torch.float32, device=self.device)
        self.ep_length = torch.zeros(n, dtype=torch.int64, device=self.device)
        self.first_episode = torch.ones(n, dtype=torch.bool, device=self.device)
        self.frames = 0
        high = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)
        self.observation_space = spaces.Box(low=-high, high=high, dtype=np.float32)
        self.action_space = spaces.Box(low=-MAX_TORQUE, high=MAX_TORQUE, shape=(1,), dtype=np.float32)
        self.states = bool(states)
        self.state_space = spaces.Box(low=-np.inf, high=np.inf, shape=(2,), dtype=np.float32)
        if rng not in ("torch", "rlhost"):
            raise ValueError(f"rng: 'torch' or 'rlhost', not {rng!r}")
        self.rng = rng
        if rng == "rlhost":
            seed_i = torch.arange(n, dtype=torch.int64, device=self.device) + int(seed or 0)
            self.keys = _mix(seed_i)
            self.episodes = torch.zeros(n, dtype=torch.int64, device=self.device)
            self.reset()  # rlhost's plugin resets once at creation, then the agent resets again
        self.log = None
        if episodes_csv:
            os.makedirs(os.path.dirname(os.path.abspath(episodes_csv)), exist_ok=True)
            self.log = open(episodes_csv, "w", buffering=1 << 16)
            self.log.write("frame,env,return,length,first_episode\n")

    # ---- rl_games IVecEnv -------------------------------------------------------------------
    def get_env_info(self):
        info = {
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "agents": 1,
            "value_size": 1,
        }
        if self.states:
            info["state_space"] = self.state_space
        return info

    def _observations(self):
        obs = observe(self.state)
        if self.states:
            return {"obs": obs, "states": self.state.to(torch.float32)}
        return obs

    def get_number_of_agents(self):
        return 1

    def seed(self, seed):
        self.gen.manual_seed(int(seed))

    def _initial_states(self, idx):
        """New initial states for the envs `idx` (int64 indices, or None for all)."""
        if self.rng == "rlhost":
            keys = self.keys if idx is None else self.keys[idx]
            counters = self.episodes if idx is None else self.episodes[idx]
            u = rlhost_uniform(keys, counters, 0, 2)
            if idx is None:
                self.episodes += 1
            else:
                self.episodes[idx] += 1
            # rlhost's scale_uniform: u * (high - low) + low
            return torch.stack((u[:, 0] * (2.0 * math.pi) + -math.pi, u[:, 1] * 2.0 + -1.0), dim=1)
        k = self.num_envs if idx is None else idx.numel()
        u = torch.rand((k, 2), generator=self.gen, dtype=torch.float64, device=self.device)
        return torch.stack((u[:, 0] * (2.0 * math.pi) - math.pi, u[:, 1] * 2.0 - 1.0), dim=1)

    def _start_progress(self):
        n = self.num_envs
        if self.rng == "rlhost":
            return rlhost_uniform(self.keys, self.episodes, 1, 1).squeeze(1)
        return torch.rand(n, generator=self.gen, dtype=torch.float64, device=self.device)

    def reset(self):
        if self.rng == "rlhost":  # rlhost draws the offsets with the episode counter before the states
            progress = self._start_progress() if self.random_start else None
            self.state = self._initial_states(None)
        else:
            self.state = self._initial_states(None)
            progress = self._start_progress() if self.random_start else None
        if progress is not None:
            self.elapsed = torch.floor(progress * self.max_steps).to(torch.int64)  # in [0, limit-1]
        else:
            self.elapsed.zero_()
        self.ep_return.zero_()
        self.ep_length.zero_()
        self.first_episode.fill_(True)
        return self._observations()

    def step(self, actions):
        if not torch.is_tensor(actions):
            actions = torch.as_tensor(actions)
        actions = actions.to(self.device).reshape(self.num_envs, -1)
        self.state, reward64 = pendulum_step(self.state, actions)
        reward = reward64.to(torch.float32)
        self.elapsed += 1
        self.frames += self.num_envs
        self.ep_return += reward
        self.ep_length += 1
        truncated = self.elapsed >= self.max_steps
        done_idx = truncated.nonzero().squeeze(1)
        if done_idx.numel() > 0:
            if self.log is not None:
                rows = zip(done_idx.tolist(), self.ep_return[done_idx].cpu().numpy(),
                           self.ep_length[done_idx].tolist(), self.first_episode[done_idx].tolist())
                # float32 returns printed shortest-round-trip, as rlhost's Rust writer does
                self.log.write("".join(f"{self.frames},{e},{r!s},{l},{int(f)}\n" for e, r, l, f in rows))
            # same-step auto-reset of the finished envs
            self.state[done_idx] = self._initial_states(done_idx)
            self.elapsed[done_idx] = 0
            self.ep_return[done_idx] = 0.0
            self.ep_length[done_idx] = 0
            self.first_episode[done_idx] = False
        obs = self._observations()
        dones = truncated.to(torch.uint8)
        return obs, reward, dones, {"time_outs": truncated}

    def close(self):
        if self.log is not None:
            self.log.close()
            self.log = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
