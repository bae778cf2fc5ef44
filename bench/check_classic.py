#!/usr/bin/env python3
"""Checks the torch twins (bench/torch_classic.py, bench/torch_pendulum.py) against rlhost's own
classic-control envs, step for step and bit for bit.

For each env and each `env_config` below, rlhost's plugin (through its plugin API, the
`trajectory` example of plugins/classic_control) runs a free trajectory with wild actions
(noise plus a push along a velocity: every clamp is exercised, goals are reached) and writes every step's actions, observations (after the
same-step auto-reset), privileged states, rewards and terminated/truncated flags; the twin, with
`rng: rlhost` and the same seed, replays the actions through rl_games' IVecEnv interface and
must give the same numbers exactly (max |diff| 0, identical flags), including `dones =
terminated | truncated` and `infos['time_outs'] = truncated`.

    export LIBTORCH_USE_PYTORCH=1 PATH=/work/main/.venv/bin:$PATH   # to build the example
    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/check_classic.py [--steps 600] [--envs 64]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import torch_classic  # noqa: E402

ENVS = ["Pendulum-v1", "CartPoleContinuous", "AcrobotContinuous", "MountainCarContinuous-v0"]
# The defaults, staggered starts with the privileged states, and a short limit (time-outs that
# coincide with terminations, and many resets).
ENV_CONFIGS = [{}, {"init_at_random_ep_len": True, "states": True}, {"max_episode_steps": 7, "states": True},
               {"max_episode_steps": 40}]
failures = []


def rlhost_trajectory(env, n, steps, seed, config, out):
    """Runs the plugin's `trajectory` example (built on first use) and loads its .npz."""
    exe = os.path.join(ROOT, "target", "release", "examples", "trajectory")
    if not os.path.exists(exe):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "rlhost-plugin-classic-control",
                        "--example", "trajectory"], cwd=ROOT, check=True)
    subprocess.run([exe, env, str(n), str(steps), str(seed), out, json.dumps(config)], check=True)
    return dict(np.load(out))


def twin_trajectory(env, n, seed, config, actions):
    """The twin's trajectory under the same actions (rl_games' IVecEnv calls)."""
    kwargs = {k: v for k, v in config.items()}
    vec = torch_classic.env_class(env)(env, n, seed=seed, rng="rlhost", **kwargs)
    first = vec.reset()
    obs0, states0 = (first["obs"], first["states"]) if vec.states else (first, None)
    rec = {"obs": [], "states": [], "rewards": [], "terminated": [], "truncated": [], "dones": []}
    for a in torch.from_numpy(actions):
        obs, reward, dones, infos = vec.step(a)
        if vec.states:
            rec["states"].append(obs["states"])
            obs = obs["obs"]
        rec["obs"].append(obs)
        rec["rewards"].append(reward)
        rec["truncated"].append(infos["time_outs"].to(torch.uint8))
        rec["dones"].append(dones)
    out = {k: torch.stack(v).numpy() for k, v in rec.items() if v}
    out["obs0"] = obs0.numpy()
    if states0 is not None:
        out["states0"] = states0.numpy()
    return out


def compare(label, rlhost, twin):
    ok = True
    worst = {}
    for key in ("obs0", "obs", "rewards", "states0", "states", "truncated"):
        if key not in rlhost:
            continue
        a, b = rlhost[key], twin[key]
        same_dtype = a.dtype == b.dtype
        diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.shape == b.shape else np.inf
        worst[key] = diff
        ok &= same_dtype and diff == 0.0
    done_rlhost = (rlhost["terminated"] | rlhost["truncated"]).astype(np.uint8)
    ok &= bool(np.array_equal(done_rlhost, twin["dones"]))
    terms, truncs = int(rlhost["terminated"].sum()), int(rlhost["truncated"].sum())
    both = int((rlhost["terminated"] & rlhost["truncated"]).sum())
    print(f"  {'ok  ' if ok else 'FAIL'} {label}: {terms} terminations, {truncs} time-outs ({both} both); "
          + ", ".join(f"{k} {v:.3g}" for k, v in worst.items()))
    if not ok:
        failures.append(label)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--envs", type=int, default=64)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    print(f"rlhost's env (plugin API) against its torch twin, {args.envs} envs x {args.steps} steps, "
          f"seed {args.seed}: max |diff| per output")
    with tempfile.TemporaryDirectory() as tmp:
        for env in ENVS:
            for i, config in enumerate(ENV_CONFIGS):
                path = os.path.join(tmp, f"{env}_{i}.npz")
                rlhost = rlhost_trajectory(env, args.envs, args.steps, args.seed, config, path)
                twin = twin_trajectory(env, args.envs, args.seed, config, rlhost["actions"])
                compare(f"{env} {json.dumps(config)}", rlhost, twin)
    print("all checks passed" if not failures else f"FAILED: {', '.join(failures)}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
