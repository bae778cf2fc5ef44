"""The Python environment plugin's bridge cost, in one command (run with the project venv).

1. An Isaac Lab-style torch env (tests/python/isaac_style_env.py) at N envs: steps/s of a
   plain Python loop calling `env.step(actions)` vs steps/s through rlhost's plugin
   (`rlhost bench`, which steps it through the plugin API: DLPack in and out, the checked
   copies into rlhost's buffers, extras read every step).
2. Gymnasium's HalfCheetah-v5 at 64 envs: Gymnasium's own sync vector env in a Python loop vs
   `gym:HalfCheetah-v5` through the plugin.

Each pair runs back to back, alternating, `--repeats` times; the table gives the median of
each and their ratio. Usage: .venv/bin/python bench/python_env.py [--repeats 3] [--steps 200]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))


def python_loop_torch(n, steps, threads):
    import torch

    import isaac_style_env

    torch.set_num_threads(threads)  # as rlhost runs it: the config's params.torch_threads
    torch.manual_seed(0)
    env = isaac_style_env.make(num_envs=n, device="cpu", seed=0)
    env.reset()
    actions = torch.rand(n, 2) * 2 - 1
    start = time.perf_counter()
    for _ in range(steps):
        env.step(actions)
    return n * steps / (time.perf_counter() - start)


def python_loop_gym(env_id, n, steps):
    import gymnasium as gym
    import numpy as np

    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync",
                       vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (n,) + env.single_action_space.shape).astype(np.float32)
    start = time.perf_counter()
    for _ in range(steps):
        env.step(actions)
    rate = n * steps / (time.perf_counter() - start)
    env.close()
    return rate


def torch_threads(config):
    import yaml

    with open(config) as f:
        return int(yaml.safe_load(f)["params"].get("torch_threads", 1))


def through_plugin(config, n, steps, extra=()):
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "bench.json")
        cmd = [os.path.join(ROOT, "target/release/rlhost"), "bench", "--plugin-dir", os.path.join(ROOT, "plugins"),
               "--config", config, "--epochs", "0", "--env-sizes", str(n), "--env-steps", str(steps), "--json", out,
               *extra]
        subprocess.run(cmd, check=True, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            report = json.load(f)
    row = report["env"][0]
    return row["api_steps_per_s"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--json", default=os.path.join(ROOT, "bench/results/python_env.json"))
    args = parser.parse_args()
    torch_config = os.path.join(ROOT, "tests/python/isaac_style_ppo.yaml")
    cheetah_config = os.path.join(ROOT, "configs/halfcheetah_gym_ppo.yaml")
    pairs = {
        f"torch env, N={args.num_envs}": (lambda: python_loop_torch(args.num_envs, args.steps, torch_threads(torch_config)),
                                          lambda: through_plugin(torch_config, args.num_envs, args.steps)),
        "gym:HalfCheetah-v5, N=64": (lambda: python_loop_gym("HalfCheetah-v5", 64, args.steps),
                                     lambda: through_plugin(cheetah_config, 64, args.steps)),
    }
    results = {}
    print(f"{'case':28} {'Python loop':>14} {'rlhost plugin':>14} {'plugin/loop':>12}")
    for name, (loop, plugin) in pairs.items():
        loops, plugins = [], []
        for _ in range(args.repeats):
            loops.append(loop())
            plugins.append(plugin())
        a, b = statistics.median(loops), statistics.median(plugins)
        results[name] = {"python_loop_steps_per_s": loops, "plugin_steps_per_s": plugins, "ratio": b / a}
        print(f"{name:28} {a:14,.0f} {b:14,.0f} {b / a:12.3f}")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
