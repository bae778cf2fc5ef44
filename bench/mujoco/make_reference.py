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

import json
import os
import sys

import gymnasium as gym
import mujoco
import numpy as np

STEPS = 1000
SEED = 0
OBS_EVERY = {"HalfCheetah-v5": 1, "Ant-v5": 2, "Hopper-v5": 1, "Walker2d-v5": 1, "Humanoid-v5": 25}
# Non-default keyword arguments, checked the same way: file stem -> (task, kwargs); the plugin
# reads the same kwargs as `env_config` (listed for the test in reference/variants.json).
VARIANTS = {
    "Ant-v5-kwargs": ("Ant-v5", {
        "frame_skip": 4, "forward_reward_weight": 1.5, "ctrl_cost_weight": 0.3, "contact_cost_weight": 1e-3,
        "healthy_reward": 0.5, "main_body": "torso", "healthy_z_range": [0.3, 0.9],
        "contact_force_range": [-0.5, 0.5], "reset_noise_scale": 0.05,
        "exclude_current_positions_from_observation": False, "include_cfrc_ext_in_observation": False,
        "max_episode_steps": 300,
    }),
    "Hopper-v5-kwargs": ("Hopper-v5", {
        "terminate_when_unhealthy": False, "healthy_state_range": [-50.0, 50.0], "healthy_z_range": [0.5, 2.0],
        "healthy_angle_range": [-0.5, 0.5], "ctrl_cost_weight": 0.01, "max_episode_steps": 250,
    }),
    "Humanoid-v5-kwargs": ("Humanoid-v5", {
        "include_cinert_in_observation": False, "include_cvel_in_observation": False,
        "include_qfrc_actuator_in_observation": False, "contact_cost_range": [0.0, 5.0],
        "contact_cost_weight": 1e-6, "healthy_z_range": [0.8, 2.5], "healthy_reward": 2.0,
    }),
}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "plugins", "mujoco", "reference")


def record(name: str, obs_every: int, kwargs: dict | None = None) -> dict:
    kwargs = dict(kwargs or {})
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    env = gym.make(name, **kwargs)
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
    # MuJoCo's default warning handler appends to MUJOCO_LOG.TXT in the working directory.
    mujoco.set_mju_user_warning(lambda message: print(f"MuJoCo warning: {message}", file=sys.stderr))
    os.makedirs(OUT, exist_ok=True)
    jobs = {name: (name, {}) for name in OBS_EVERY} | VARIANTS
    for stem in sys.argv[1:] or list(jobs):
        name, kwargs = jobs[stem]
        out = record(name, OBS_EVERY[name], kwargs)
        path = os.path.join(OUT, f"{stem}.npz")
        tmp = path + ".tmp.npz"
        np.savez_compressed(tmp, **out)
        os.replace(tmp, path)
        episodes = len(out["start_steps"])
        print(f"{stem}: {episodes} episodes, {int(out['truncated'].sum())} time-outs, {os.path.getsize(path) // 1024} KiB")
    variants = {stem: {"env": name, "env_config": kwargs} for stem, (name, kwargs) in VARIANTS.items()}
    with open(os.path.join(OUT, "variants.json.tmp"), "w") as f:
        json.dump(variants, f, indent=1)
        f.write("\n")
    os.replace(os.path.join(OUT, "variants.json.tmp"), os.path.join(OUT, "variants.json"))


if __name__ == "__main__":
    main()
