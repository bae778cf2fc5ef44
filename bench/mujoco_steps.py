"""Env steps/s of the MuJoCo tasks at N envs: rlhost's plugin vs envpool vs Gymnasium's vector
env, and the limit (the physics alone: `mj_step` x frame_skip on the same states), in one command.

    .venv/bin/python bench/mujoco_steps.py                      # Ant-v5 and HalfCheetah-v5, N = 64, 1 thread
    .venv/bin/python bench/mujoco_steps.py --tasks Humanoid-v5 --threads 2 --rounds 5

Every contender steps N environments of the same Gymnasium v5 task with actions drawn uniformly
from the action space, episodes ending and auto-resetting as they do, on the same number of
threads (`--threads`; Gymnasium's `sync` vector env always uses one). The plugin and the limit
come from `plugins/mujoco/examples/steps.rs` (built here with cargo if missing), which times the
plugin's step and, on twin simulations kept in lock-step, only their `mj_step` calls.
Gymnasium and envpool run in their own processes. The contenders alternate in short rounds
(`--rounds`, `--seconds`); the medians of the rates and of the per-round ratios are reported, so a burst of outside load on a shared
machine hits all alike; only the ratios are meaningful across machines. Writes
bench/results/mujoco_steps.json (`--json` to change); `--report FILE` prints a saved file's table.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS_BIN = os.path.join(ROOT, "target", "release", "examples", "steps")

PYTHON_BENCH = r"""
import json, sys, time
import numpy as np
kind, task, n, threads, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
if kind == "gymnasium":
    import gymnasium as gym, mujoco
    mujoco.set_mju_user_warning(lambda message: print(f"MuJoCo warning: {message}", file=sys.stderr))
    envs = gym.make_vec(task, num_envs=n, vectorization_mode="sync")
else:
    import envpool
    envs = envpool.make_gymnasium(task, num_envs=n, batch_size=n, num_threads=threads, seed=0)
envs.reset(seed=0)
rng = np.random.default_rng(99)
low, high = envs.single_action_space.low, envs.single_action_space.high
batches = [rng.uniform(low, high, size=(n, low.shape[0])).astype(np.float32) for _ in range(16)]
for t in range(10):
    envs.step(batches[t % 16])
start, t = time.perf_counter(), 0
while t < 20 or time.perf_counter() - start < seconds:
    envs.step(batches[t % 16])
    t += 1
print(json.dumps({"steps_per_s": t * n / (time.perf_counter() - start)}))
"""


def run_json(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def ensure_steps_binary() -> None:
    if not os.path.exists(STEPS_BIN):
        subprocess.run(
            ["cargo", "build", "--release", "-p", "rlhost-plugin-mujoco", "--example", "steps"], cwd=ROOT, check=True
        )


def has_envpool() -> bool:
    return subprocess.run([sys.executable, "-c", "import envpool"], capture_output=True).returncode == 0


def round_ratios(rates: dict) -> dict:
    """Per-round ratios of rlhost's rate to each other contender's, and their medians: the
    contenders of one round ran back to back, so their ratio is steadier than a ratio of medians."""
    out = {}
    for other in ("envpool", "gymnasium", "limit"):
        if rates.get(other):
            ratios = [r / o for r, o in zip(rates["rlhost"], rates[other])]
            out[other] = {"per_round": ratios, "median": statistics.median(ratios)}
    return out


def print_table(results: dict, envs: int, threads: int, rounds: int) -> None:
    print()
    print(f"env steps/s, N = {envs}, {threads} thread(s): medians of {rounds} alternating rounds;")
    print("ratios: medians of the per-round ratios")
    print("| task | rlhost plugin | envpool 1.2.5 | Gymnasium sync | limit (mj_step only) | rlhost / envpool | rlhost / Gymnasium | rlhost / limit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for task, res in results.items():
        m, q = res["median_steps_per_s"], round_ratios(res["rounds"])
        cell = lambda v, f: f.format(v) if v is not None else "-"
        print(
            f"| {task} | {m['rlhost']:.0f} | {cell(m.get('envpool'), '{:.0f}')} | {m['gymnasium']:.0f} | {m['limit']:.0f} | "
            f"{cell(q.get('envpool', {}).get('median'), '{:.2f}')} | {q['gymnasium']['median']:.2f} | {q['limit']['median']:.2f} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=["Ant-v5", "HalfCheetah-v5"])
    p.add_argument("--envs", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "mujoco_steps.json"))
    p.add_argument("--report", metavar="JSON", help="only print the table of a results file written earlier")
    a = p.parse_args()
    if a.report:
        with open(a.report) as f:
            saved = json.load(f)
        print_table(saved["results"], saved["envs"], saved["threads"], saved["rounds"])
        return
    ensure_steps_binary()
    envpool_ok = has_envpool()
    if not envpool_ok:
        print("envpool is not installed: its column is left out", file=sys.stderr)
    results = {}
    for task in a.tasks:
        rates = {"rlhost": [], "limit": [], "gymnasium": [], "envpool": []}
        common = [task, str(a.envs), str(a.threads), str(a.seconds)]
        for r in range(a.rounds):
            plugin = run_json([STEPS_BIN, *common])
            rates["rlhost"].append(plugin["plugin_steps_per_s"])
            rates["limit"].append(plugin["raw_steps_per_s"])
            rates["gymnasium"].append(run_json([sys.executable, "-c", PYTHON_BENCH, "gymnasium", *common])["steps_per_s"])
            if envpool_ok:
                rates["envpool"].append(run_json([sys.executable, "-c", PYTHON_BENCH, "envpool", *common])["steps_per_s"])
            print(f"{task} round {r + 1}/{a.rounds}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in rates.items() if v), flush=True)
        med = {k: statistics.median(v) for k, v in rates.items() if v}
        results[task] = {"median_steps_per_s": med, "rounds": rates, "rlhost_ratios": round_ratios(rates)}
    print_table(results, a.envs, a.threads, a.rounds)
    record = {
        "command": " ".join(["bench/mujoco_steps.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "envs": a.envs,
        "threads": a.threads,
        "rounds": a.rounds,
        "seconds_per_measurement": a.seconds,
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "results": results,
    }
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    tmp = a.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.json)
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
