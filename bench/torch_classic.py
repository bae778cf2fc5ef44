"""Batched torch twins of rlhost's classic-control envs (plugins/classic_control) for rl_games (IVecEnv).

`TorchClassicEnv` is the vec-env machinery of rlhost's `batch.rs`, once for every env: float64
state on one device, whole-batch tensor ops, Gymnasium's TimeLimit (`time_outs` also on a step
that is terminal as well), rl_games' `same_step` auto-reset (docs/rl_games.md §9: on a done step
the observation is already the next episode's first), `init_at_random_ep_len` staggered starts,
the privileged `states` group (the float64 state as float32, `env_config.states`), and one
`episodes.csv` row per finished episode in rlhost's format
(`frame,env,return,length,first_episode`).

Each env's physics is a `Dynamics` class, written op for op as its Rust twin (same operations in
the same order on the same float64 tensors, the float32 roundings where rlhost makes them), so
that with `rng: rlhost` (rlhost's counter-based draws, below) a twin reproduces rlhost's env bit
for bit: `bench/check_classic.py` checks it against trajectories that rlhost's plugin writes.
`torch_pendulum.py` holds Pendulum-v1; this file CartPoleContinuous, AcrobotContinuous and
MountainCarContinuous-v0; `env_class(name)` maps a config's `env_name` to its vec-env class.
"""
import math
import os

import numpy as np
import torch

try:  # rl_games is not needed for the envs themselves (the check scripts run without it)
    from rl_games.common.ivecenv import IVecEnv
except ImportError:  # pragma: no cover
    IVecEnv = object


# ---- rlhost's counter-based random numbers (plugins/classic_control/src/rng.rs), as an option ----
# With `rng: rlhost` an env draws the very same initial states and staggered offsets as rlhost's
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


# ---- helpers of rlhost's dynamics.rs ----
def scale_uniform(u, low, high):
    """`u * (high - low) + low`, as rlhost's scale_uniform (numpy's `uniform`)."""
    return u * (high - low) + low


def round_f32(t):
    """float64 values rounded to the nearest float32, where Gymnasium stores float32."""
    return t.to(torch.float32).to(torch.float64)


class Dynamics:
    """One task's batched physics: NAME, STATE_DIM, OBS_LOW/OBS_HIGH, ACTION_LOW/ACTION_HIGH,
    MAX_EPISODE_STEPS, and `initial_state(u)`, `step(state, action)`, `observe(state)` on float64
    tensors (`step` returns next state, reward and terminated flags)."""


class CartPole(Dynamics):
    """plugins/classic_control/src/cartpole.rs: CartPole-v1's Euler dynamics, force = clamp(a, -1, 1) x 10."""
    NAME = "CartPoleContinuous"
    STATE_DIM = 4
    GRAVITY = 9.8
    MASS_CART = 1.0
    MASS_POLE = 0.1
    TOTAL_MASS = MASS_POLE + MASS_CART
    LENGTH = 0.5
    POLEMASS_LENGTH = MASS_POLE * LENGTH
    FORCE_MAG = 10.0
    TAU = 0.02
    THETA_THRESHOLD = 12.0 * 2.0 * math.pi / 360.0
    X_THRESHOLD = 2.4
    _high = [float(np.float32(X_THRESHOLD * 2.0)), math.inf, float(np.float32(THETA_THRESHOLD * 2.0)), math.inf]
    OBS_LOW = [-h for h in _high]
    OBS_HIGH = _high
    ACTION_LOW, ACTION_HIGH = [-1.0], [1.0]
    MAX_EPISODE_STEPS = 500

    @staticmethod
    def initial_state(u):
        return scale_uniform(u, -0.05, 0.05)

    @classmethod
    def step(cls, state, action):
        x, x_dot, theta, theta_dot = state[:, 0], state[:, 1], state[:, 2], state[:, 3]
        force = action[:, 0].clamp(-1.0, 1.0) * cls.FORCE_MAG
        costheta, sintheta = theta.cos(), theta.sin()
        temp = (force + theta_dot.square() * sintheta * cls.POLEMASS_LENGTH) / cls.TOTAL_MASS
        thetaacc = (sintheta * cls.GRAVITY - costheta * temp) \
            / (-(costheta.square() * (cls.MASS_POLE / cls.TOTAL_MASS)) + 4.0 / 3.0) / cls.LENGTH
        xacc = temp - thetaacc * costheta * (cls.POLEMASS_LENGTH / cls.TOTAL_MASS)
        nxt = torch.stack((x + x_dot * cls.TAU, x_dot + xacc * cls.TAU,
                           theta + theta_dot * cls.TAU, theta_dot + thetaacc * cls.TAU), dim=1)
        nx, ntheta = nxt[:, 0], nxt[:, 2]
        terminated = (nx.abs() > cls.X_THRESHOLD) | (ntheta.abs() > cls.THETA_THRESHOLD)
        reward = torch.ones_like(terminated).to(torch.float64)
        return nxt, reward, terminated

    @staticmethod
    def observe(state):
        return state


class Acrobot(Dynamics):
    """plugins/classic_control/src/acrobot.rs: Acrobot-v1 ("book" dynamics, one RK4 step of dt = 0.2),
    torque = clamp(a, -1, 1); reward -1 per step, 0 on the step that reaches the goal height."""
    NAME = "AcrobotContinuous"
    STATE_DIM = 4
    DT = 0.2
    L1 = 1.0
    M1 = 1.0
    M2 = 1.0
    LC1 = 0.5
    LC2 = 0.5
    I1 = 1.0
    I2 = 1.0
    G = 9.8
    MAX_VEL_1 = 4.0 * math.pi
    MAX_VEL_2 = 9.0 * math.pi
    OBS_HIGH = [1.0, 1.0, 1.0, 1.0, float(np.float32(MAX_VEL_1)), float(np.float32(MAX_VEL_2))]
    OBS_LOW = [-h for h in OBS_HIGH]
    ACTION_LOW, ACTION_HIGH = [-1.0], [1.0]
    MAX_EPISODE_STEPS = 500

    @classmethod
    def derivatives(cls, s, a):
        """Gymnasium's `_dsdt` ("book"), as acrobot.rs writes it."""
        M1, M2, L1, LC1, LC2, I1, I2, G = cls.M1, cls.M2, cls.L1, cls.LC1, cls.LC2, cls.I1, cls.I2, cls.G
        theta1, theta2, dtheta1, dtheta2 = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
        cos2, sin2 = theta2.cos(), theta2.sin()
        d1 = cos2 * (M2 * 2.0 * L1 * LC2) + (M1 * LC1 * LC1 + M2 * (L1 * L1 + LC2 * LC2) + I1 + I2)
        d2 = cos2 * (M2 * L1 * LC2) + (M2 * LC2 * LC2 + I2)
        phi2 = (theta1 + theta2 - math.pi / 2.0).cos() * (M2 * LC2 * G)
        phi1 = dtheta2.square() * sin2 * (-M2 * L1 * LC2) - dtheta2 * dtheta1 * sin2 * (2.0 * M2 * L1 * LC2) \
            + (theta1 - math.pi / 2.0).cos() * ((M1 * LC1 + M2 * L1) * G) + phi2
        ddtheta2 = (a + d2 / d1 * phi1 - dtheta1.square() * sin2 * (M2 * L1 * LC2) - phi2) \
            / (-(d2.square() / d1) + (M2 * LC2 * LC2 + I2))
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return torch.stack((dtheta1, dtheta2, ddtheta1, ddtheta2), dim=1)

    @staticmethod
    def wrap(x, m, big_m):
        """Gymnasium's `wrap(x, m, M)` batched, as acrobot.rs."""
        diff = big_m - m
        above = ((x - big_m) / diff).ceil().clamp_min(0.0)
        x = x - above * diff
        below = ((-x + m) / diff).ceil().clamp_min(0.0)
        return x + below * diff

    @staticmethod
    def initial_state(u):
        return round_f32(scale_uniform(u, -0.1, 0.1))  # Gymnasium draws it as float32

    @classmethod
    def step(cls, state, action):
        torque = action[:, 0].clamp(-1.0, 1.0)
        dt2 = cls.DT / 2.0
        k1 = cls.derivatives(state, torque)
        k2 = cls.derivatives(state + k1 * dt2, torque)
        k3 = cls.derivatives(state + k2 * dt2, torque)
        k4 = cls.derivatives(state + k3 * cls.DT, torque)
        ns = state + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (cls.DT / 6.0)
        theta1, theta2 = cls.wrap(ns[:, 0], -math.pi, math.pi), cls.wrap(ns[:, 1], -math.pi, math.pi)
        dtheta1 = ns[:, 2].clamp(-cls.MAX_VEL_1, cls.MAX_VEL_1)
        dtheta2 = ns[:, 3].clamp(-cls.MAX_VEL_2, cls.MAX_VEL_2)
        terminated = (-theta1.cos() - (theta2 + theta1).cos()) > 1.0
        reward = terminated.to(torch.float64) - 1.0
        return torch.stack((theta1, theta2, dtheta1, dtheta2), dim=1), reward, terminated

    @staticmethod
    def observe(state):
        theta1, theta2 = state[:, 0], state[:, 1]
        return torch.stack((theta1.cos(), theta1.sin(), theta2.cos(), theta2.sin(), state[:, 2], state[:, 3]), dim=1)


class MountainCar(Dynamics):
    """plugins/classic_control/src/mountain_car.rs: MountainCarContinuous-v0 with Gymnasium's float32
    roundings of velocity and position; +100 at the goal, -0.1 a^2 on the unclipped action."""
    NAME = "MountainCarContinuous-v0"
    STATE_DIM = 2
    MIN_POSITION = -1.2
    MAX_POSITION = 0.6
    MAX_SPEED = 0.07
    GOAL_POSITION = 0.45
    GOAL_VELOCITY = 0.0
    POWER = 0.0015
    OBS_LOW = [float(np.float32(MIN_POSITION)), float(np.float32(-MAX_SPEED))]
    OBS_HIGH = [float(np.float32(MAX_POSITION)), float(np.float32(MAX_SPEED))]
    ACTION_LOW, ACTION_HIGH = [-1.0], [1.0]
    MAX_EPISODE_STEPS = 999

    @staticmethod
    def initial_state(u):
        position = scale_uniform(u[:, 0], -0.6, -0.4)
        return torch.stack((position, torch.zeros_like(position)), dim=1)

    @classmethod
    def step(cls, state, action):
        position, velocity = state[:, 0], state[:, 1]
        raw = action[:, 0]
        force = raw.clamp(-1.0, 1.0)
        velocity = round_f32(velocity + force * cls.POWER - (position * 3.0).cos() * 0.0025) \
            .clamp(-cls.MAX_SPEED, cls.MAX_SPEED)
        position = round_f32(position + velocity).clamp(cls.MIN_POSITION, cls.MAX_POSITION)
        at_wall = (position == cls.MIN_POSITION) & (velocity < 0.0)  # the inelastic left wall
        velocity = velocity.masked_fill(at_wall, 0.0)
        terminated = (position >= cls.GOAL_POSITION) & (velocity >= cls.GOAL_VELOCITY)
        reward = terminated.to(torch.float64) * 100.0 - raw.square() * 0.1
        return round_f32(torch.stack((position, velocity), dim=1)), reward, terminated

    @staticmethod
    def observe(state):
        return state


class TorchClassicEnv(IVecEnv):
    """N environments of one `Dynamics` in torch tensors on one device (rlhost's `ClassicEnv`)."""

    DYNAMICS = None

    def __init__(self, config_name, num_actors, seed=0, device="cpu", init_at_random_ep_len=False,
                 max_episode_steps=None, episodes_csv=None, rng="torch", states=False, **kwargs):
        from gymnasium import spaces  # rl_games 1.6.5 uses gymnasium spaces on Python >= 3.9

        d = self.DYNAMICS
        self.num_envs = int(num_actors)
        self.device = torch.device(device)
        self.max_steps = int(max_episode_steps or d.MAX_EPISODE_STEPS)
        self.random_start = bool(init_at_random_ep_len)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(int(seed) if seed is not None else 0)
        n = self.num_envs
        self.state = torch.zeros((n, d.STATE_DIM), dtype=torch.float64, device=self.device)
        self.elapsed = torch.zeros(n, dtype=torch.int64, device=self.device)
        self.ep_return = torch.zeros(n, dtype=torch.float32, device=self.device)
        self.ep_length = torch.zeros(n, dtype=torch.int64, device=self.device)
        self.first_episode = torch.ones(n, dtype=torch.bool, device=self.device)
        self.frames = 0
        # Totals since creation, for reports (the A/B fixtures say how many episodes ended how).
        self.terminations = torch.zeros((), dtype=torch.int64, device=self.device)
        self.time_outs = torch.zeros((), dtype=torch.int64, device=self.device)
        self.observation_space = spaces.Box(low=np.array(d.OBS_LOW, dtype=np.float32),
                                            high=np.array(d.OBS_HIGH, dtype=np.float32), dtype=np.float32)
        self.action_space = spaces.Box(low=np.array(d.ACTION_LOW, dtype=np.float32),
                                       high=np.array(d.ACTION_HIGH, dtype=np.float32), dtype=np.float32)
        self.states = bool(states)
        self.state_space = spaces.Box(low=-np.inf, high=np.inf, shape=(d.STATE_DIM,), dtype=np.float32)
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
        obs = self.DYNAMICS.observe(self.state).to(torch.float32)
        if self.states:
            return {"obs": obs, "states": self.state.to(torch.float32)}
        return obs

    def get_number_of_agents(self):
        return 1

    def seed(self, seed):
        self.gen.manual_seed(int(seed))

    def _initial_states(self, idx):
        """New initial states for the envs `idx` (int64 indices, or None for all)."""
        d = self.DYNAMICS
        if self.rng == "rlhost":
            keys = self.keys if idx is None else self.keys[idx]
            counters = self.episodes if idx is None else self.episodes[idx]
            u = rlhost_uniform(keys, counters, 0, d.STATE_DIM)
            if idx is None:
                self.episodes += 1
            else:
                self.episodes[idx] += 1
        else:
            k = self.num_envs if idx is None else idx.numel()
            u = torch.rand((k, d.STATE_DIM), generator=self.gen, dtype=torch.float64, device=self.device)
        return d.initial_state(u)

    def _start_progress(self):
        if self.rng == "rlhost":
            return rlhost_uniform(self.keys, self.episodes, 1, 1).squeeze(1)
        return torch.rand(self.num_envs, generator=self.gen, dtype=torch.float64, device=self.device)

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
        actions = actions.to(self.device).reshape(self.num_envs, -1).to(torch.float64)
        self.state, reward64, terminated = self.DYNAMICS.step(self.state, actions)
        reward = reward64.to(torch.float32)
        self.elapsed += 1
        self.frames += self.num_envs
        self.ep_return += reward
        self.ep_length += 1
        # As Gymnasium's TimeLimit (and rlhost): a time-out is reported even on a terminal step.
        truncated = self.elapsed >= self.max_steps
        done = terminated | truncated
        self.terminations += terminated.sum()
        self.time_outs += truncated.sum()
        done_idx = done.nonzero().squeeze(1)
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
        return obs, reward, done.to(torch.uint8), {"time_outs": truncated}

    def close(self):
        if self.log is not None:
            self.log.close()
            self.log = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class TorchCartPole(TorchClassicEnv):
    """N CartPoleContinuous environments."""
    DYNAMICS = CartPole


class TorchAcrobot(TorchClassicEnv):
    """N AcrobotContinuous environments."""
    DYNAMICS = Acrobot


class TorchMountainCar(TorchClassicEnv):
    """N MountainCarContinuous-v0 environments."""
    DYNAMICS = MountainCar


def env_class(name):
    """The vec-env class of a config's `env_name` (one of rlhost's four classic-control envs)."""
    from torch_pendulum import TorchPendulum

    classes = {c.DYNAMICS.NAME: c for c in (TorchPendulum, TorchCartPole, TorchAcrobot, TorchMountainCar)}
    if name not in classes:
        raise ValueError(f"no torch twin of env '{name}' (known: {', '.join(classes)})")
    return classes[name]
