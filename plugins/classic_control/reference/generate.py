#!/usr/bin/env python3
"""Writes Gymnasium reference trajectories for the classic-control plugin's agreement tests.

Re-runnable: `python plugins/classic_control/reference/generate.py` (from the repository root).
It uses the project venv (/work/main/.venv) and installs `gymnasium` there from PyPI when it is
missing. For each environment it plays a few episodes with a fixed-seed policy through
`gymnasium.make(...)` (so the TimeLimit wrapper reports truncations) and writes one JSON file
`<name>.json` next to this script, column-oriented:

    states (float64, before the step), elapsed (steps already taken in the episode),
    actions (float32 values), next_states (float64), next_obs (float32 values),
    rewards, terminated, truncated, episode (index of the episode each row belongs to)

The continuous CartPole and Acrobot variants are not in Gymnasium. They are driven through
Gymnasium's own CartPole-v1 / Acrobot-v1 `step` code with the discrete lookup replaced by the
continuous value for that one step:
  - CartPole: `step` uses `force = force_mag if action == 1 else -force_mag`, so we set
    `unwrapped.force_mag = clip(a, -1, 1) * 10` and call `step(1)`.
  - Acrobot: `step` uses `torque = AVAIL_TORQUE[action]`, so we set
    `unwrapped.AVAIL_TORQUE = [clip(a, -1, 1)]` and call `step(0)`.
Everything else (integration, wrapping, termination, reward, time limit) is Gymnasium's.
"""
import json
import os
import subprocess
import sys

try:
    import gymnasium as gym
    import numpy as np
except ImportError:  # install into the interpreter running this script (the project venv)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "gymnasium"])
    import gymnasium as gym
    import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def pendulum_policy(rng, state):
    # Random torques beyond the ±2 limit exercise the clipping and the u² cost.
    return rng.uniform(-3.0, 3.0)


def mountain_car_policy(rng, state):
    # Push along the velocity (energy pumping) so episodes reach the goal; |a| > 1 at times
    # tests that the force is clipped while the cost uses the raw action.
    push = 1.0 if state[1] >= 0 else -1.0
    return push * rng.uniform(0.6, 1.3)


def cartpole_policy(rng, state):
    return rng.uniform(-1.5, 1.5)


def acrobot_policy(rng, state):
    # Torque against the first joint's velocity pumps energy in: the goal within ~100 steps.
    push = -1.0 if state[2] >= 0 else 1.0
    return push * rng.uniform(0.5, 1.4) + rng.normal(0.0, 0.3)


def step_continuous(env, env_id, a):
    """One step with the continuous action `a` (a float32 value)."""
    u = env.unwrapped
    if env_id == "CartPole-v1":
        u.force_mag = float(np.clip(a, -1.0, 1.0)) * 10.0
        return env.step(1)
    if env_id == "Acrobot-v1":
        u.AVAIL_TORQUE = [float(np.clip(a, -1.0, 1.0))]
        return env.step(0)
    return env.step(np.array([a], dtype=np.float32))


def record(name, env_id, policy, episodes, seed):
    env = gym.make(env_id)
    rng = np.random.default_rng(seed)
    cols = {k: [] for k in ["episode", "elapsed", "states", "actions", "next_states", "next_obs",
                            "rewards", "terminated", "truncated"]}
    for ep in range(episodes):
        env.reset(seed=seed + ep)
        t = 0
        while True:
            state = np.array(env.unwrapped.state, dtype=np.float64)
            a = np.float32(policy(rng, state))
            obs, reward, terminated, truncated, _ = step_continuous(env, env_id, a)
            cols["episode"].append(ep)
            cols["elapsed"].append(t)
            cols["states"].append(state.tolist())
            cols["actions"].append([float(a)])
            cols["next_states"].append(np.array(env.unwrapped.state, dtype=np.float64).tolist())
            cols["next_obs"].append([float(x) for x in np.asarray(obs, dtype=np.float32)])
            cols["rewards"].append(float(reward))
            cols["terminated"].append(bool(terminated))
            cols["truncated"].append(bool(truncated))
            t += 1
            if terminated or truncated:
                break
    env.close()
    lengths = np.bincount(cols["episode"]).tolist()
    out = {"env": name, "gymnasium_id": env_id, "gymnasium_version": gym.__version__,
           "seed": seed, "episode_lengths": lengths, **cols}
    path = os.path.join(HERE, f"{name}.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    ends = ["term" if te else "trunc" for te, tr in zip(cols["terminated"], cols["truncated"]) if te or tr]
    print(f"{path}: episodes {lengths}, ends {ends}")


if __name__ == "__main__":
    record("Pendulum-v1", "Pendulum-v1", pendulum_policy, 2, 100)  # 2 x 200 steps, both truncated
    record("MountainCarContinuous-v0", "MountainCarContinuous-v0", mountain_car_policy, 3, 200)
    record("CartPoleContinuous", "CartPole-v1", cartpole_policy, 6, 300)
    record("AcrobotContinuous", "Acrobot-v1", acrobot_policy, 3, 400)
