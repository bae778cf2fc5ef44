"""Writes plugins/mujoco/reference/<task>.npz: 1000-step trajectories of Gymnasium's own v5 tasks.

Run in the project venv (gymnasium 1.4.0, mujoco 3.17.0):
    .venv/bin/python bench/mujoco/make_reference.py

Each task is made with `gym.make` (so with its TimeLimit of 1000 steps), reset with seed 0, and
stepped 1000 times with float32 actions drawn uniformly from the action space by a seeded numpy
generator; an episode that ends is reset and the trajectory goes on. Recorded, per step: the
action, reward, terminated and truncated flags, and the qpos/qvel after the step; the
observation every `OBS_EVERY[task]` steps (to keep each file well under 1 MB); and for every
episode its first step and initial qpos/qvel (the plugin's reset noise draws differ from
numpy's, so the test starts each episode from these), plus the first episode's reset
observation. `plugins/mujoco/tests/gymnasium_agreement.rs` replays them.
"""

import os
import sys

import gymnasium as gym
import mujoco
import numpy as np

STEPS = 1000
SEED = 0
OBS_EVERY = {"HalfCheetah-v5": 1, "Ant-v5": 2, "Hopper-v5": 1, "Walker2d-v5": 1, "Humanoid-v5": 25}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "plugins", "mujoco", "reference")


def record(name: str, obs_every: int) -> dict:
    env = gym.make(name)
    data = env.unwrapped.data
    rng = np.random.default_rng(SEED)
    low, high = env.action_space.low, env.action_space.high
    obs, _ = env.reset(seed=SEED)
    rows = {k: [] for k in ("actions", "rewards", "terminated", "truncated", "qpos", "qvel", "obs_steps", "obs")}
    starts = {"start_steps": [0], "start_qpos": [data.qpos.copy()], "start_qvel": [data.qvel.copy()]}
    reset_obs = obs.copy()
    for t in range(STEPS):
        action = rng.uniform(low, high).astype(np.float32)
        obs, reward, terminated, truncated, _ = env.step(action)
        rows["actions"].append(action)
        rows["rewards"].append(float(reward))
        rows["terminated"].append(int(terminated))
        rows["truncated"].append(int(truncated))
        rows["qpos"].append(data.qpos.copy())
        rows["qvel"].append(data.qvel.copy())
        if t % obs_every == 0 and not (terminated or truncated):
            rows["obs_steps"].append(t)
            rows["obs"].append(obs.copy())
        if (terminated or truncated) and t + 1 < STEPS:
            env.reset()
            starts["start_steps"].append(t + 1)
            starts["start_qpos"].append(data.qpos.copy())
            starts["start_qvel"].append(data.qvel.copy())
    env.close()
    out = {k: np.asarray(v) for k, v in {**rows, **starts}.items()}
    out["actions"] = out["actions"].astype(np.float32)
    for k in ("terminated", "truncated", "obs_steps", "start_steps"):
        out[k] = out[k].astype(np.int64)
    out["reset_obs"] = reset_obs.astype(np.float64)
    return out


def main() -> None:
    assert gym.__version__ == "1.4.0" and mujoco.__version__ == "3.17.0", (gym.__version__, mujoco.__version__)
    os.makedirs(OUT, exist_ok=True)
    names = sys.argv[1:] or list(OBS_EVERY)
    for name in names:
        out = record(name, OBS_EVERY[name])
        path = os.path.join(OUT, f"{name}.npz")
        tmp = path + ".tmp.npz"
        np.savez_compressed(tmp, **out)
        os.replace(tmp, path)
        episodes = len(out["start_steps"])
        print(f"{name}: {episodes} episodes, {int(out['truncated'].sum())} time-outs, {os.path.getsize(path) // 1024} KiB")


if __name__ == "__main__":
    main()
