#!/usr/bin/env python3
"""2 ranks x 1 thread against 1 rank x 2 threads (and 1 rank x 1 thread) on the Pendulum config,
in one command.

Both train 256 envs in total with the same frames per epoch and the same averaged-gradient
batch: one process with 256 envs, minibatches of 4096 and torch_threads 2; two processes
(`params.config.multi_gpu=True`, c10d on Gloo, spawned with torchrun's variables) with 128 envs,
minibatches of 2048 and torch_threads 1 each; and, to tell the threads' effect from the
processes', one process with 256 envs and torch_threads 1. Runs alternate; each is `rlhost bench` (its epoch
split from the agent's phase times, rank 0's for two ranks). Prints the figures of every run,
the median ratios and the gradient all-reduce's share of an update, and writes them as JSON.

    python3 bench/multi_process.py [--epochs 30] [--repeats 3] [--json bench/results/multi_process.json]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RLHOST = os.path.join(ROOT, "target", "release", "rlhost")
CONFIG = os.path.join(ROOT, "configs", "pendulum_ppo.yaml")
PLUGINS = ["librlhost_a2c_continuous.so", "librlhost_classic_control.so"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_cmd(plugins, epochs, json_path, overrides):
    return [RLHOST, "bench", "--plugin-dir", plugins, "--config", CONFIG, "--epochs", str(epochs),
            "--env-sizes", "256", "--env-steps", "10", "--json", json_path, *overrides]


def run(work, plugins, epochs, world_size, threads):
    """One `rlhost bench` run on `world_size` ranks; rank 0's training figures."""
    if world_size == 1:
        overrides = [f"params.torch_threads={threads}", "params.config.num_actors=256",
                     "params.config.minibatch_size=4096"]
    else:
        overrides = ["params.torch_threads=1", "params.config.num_actors=128", "params.config.minibatch_size=2048",
                     "params.config.multi_gpu=True"]
    port = free_port()
    procs = []
    for rank in range(world_size):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                   RLHOST_PLUGIN_CACHE=os.path.join(work, f"cache{rank}.json"))
        env.pop("RLHOST_PLUGIN_PATH", None)
        out = os.path.join(work, f"rank{rank}.json")
        procs.append((subprocess.Popen(bench_cmd(plugins, epochs, out, overrides), cwd=work, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True), out))
    for p, _ in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            sys.exit(f"rlhost bench failed ({world_size} ranks): {err.strip().splitlines()[-1] if err.strip() else p.returncode}")
    with open(procs[0][1]) as f:
        t = json.load(f)["training"]
    frames = t["frames_per_epoch"] * world_size
    allreduce = t.get("grad_all_reduce_s") or 0.0
    return {
        "ranks": world_size,
        "threads": threads,
        "epoch_s": t["epoch_s"],
        "fps_total": frames / t["epoch_s"],
        "update_s": t["update_s"],
        "rollout_s": t["env_step_s"] + t["inference_s"] + (t.get("gae_s") or 0.0),
        "grad_all_reduce_s": allreduce,
        "all_reduce_share_of_update": allreduce / t["update_s"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "multi_process.json"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rlhost-multi-process-")
    plugins = os.path.join(work, "plugins")
    os.makedirs(plugins)
    for lib in PLUGINS:
        shutil.copy(os.path.join(ROOT, "target", "release", lib), plugins)
    runs = []
    for i in range(args.repeats):
        for world_size, threads in ((1, 2), (2, 1), (1, 1)):
            r = run(work, plugins, args.epochs, world_size, threads)
            r["repeat"] = i
            runs.append(r)
            print(f"repeat {i} {world_size} rank(s) x {threads} thread(s): {r['fps_total']:.0f} fps, epoch {r['epoch_s']:.4f} s, "
                  f"rollout {r['rollout_s']:.4f} s, update {r['update_s']:.4f} s, "
                  f"all-reduce {r['grad_all_reduce_s']:.4f} s ({100 * r['all_reduce_share_of_update']:.1f}% of the update)")
    shutil.rmtree(work, ignore_errors=True)
    one = [r for r in runs if r["ranks"] == 1 and r["threads"] == 2]
    single = [r for r in runs if r["ranks"] == 1 and r["threads"] == 1]
    two = [r for r in runs if r["ranks"] == 2]
    ratio = lambda key, base=one: statistics.median(b[key] / a[key] for a, b in zip(base, two))
    summary = {
        "fps_ratio_2x1_over_1x2": ratio("fps_total"),
        "rollout_time_ratio": ratio("rollout_s"),
        "update_time_ratio": ratio("update_s"),
        "fps_ratio_2x1_over_1x1": ratio("fps_total", single),
        "fps_ratio_1x2_over_1x1": statistics.median(a["fps_total"] / b["fps_total"] for a, b in zip(one, single)),
        "all_reduce_share_of_update_2_ranks": statistics.median(r["all_reduce_share_of_update"] for r in two),
    }
    print(f"median over {args.repeats} alternating pairs, 2 ranks x 1 thread / 1 rank x 2 threads: "
          f"fps {summary['fps_ratio_2x1_over_1x2']:.2f}x, rollout time {summary['rollout_time_ratio']:.2f}x, "
          f"update time {summary['update_time_ratio']:.2f}x; 2x1 / 1x1 fps {summary['fps_ratio_2x1_over_1x1']:.2f}x, "
          f"1x2 / 1x1 fps {summary['fps_ratio_1x2_over_1x1']:.2f}x; gradient all-reduce "
          f"{100 * summary['all_reduce_share_of_update_2_ranks']:.1f}% of a 2-rank update")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"epochs": args.epochs, "repeats": args.repeats, "runs": runs, "summary": summary}, f, indent=2)


if __name__ == "__main__":
    main()
