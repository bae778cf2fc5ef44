#!/usr/bin/env python3
"""Train FPS of one or more rlhost binaries and of rl_games 1.6.5 on one config, alternating rounds.

    python3 bench/train_fps_ab.py --config configs/pendulum_isaaclab_sized_ppo.yaml --epochs 12 \
        --rounds 3 --rlhost before=/tmp/rlhost-before --rlhost after=target/release/rlhost

Each round runs every program once, in the order given (the rlhost binaries, then rl_games), so
a loaded machine slows all of them alike; the figures are per-program medians over the rounds of
the train FPS (frames of epochs 2..E / time between the epoch-1 and epoch-E console lines, as
side_by_side.py measures it) and the ratios to rl_games. `--env KEY=VALUE` (repeatable) sets an
environment variable for one program (`--env before:GLIBC_TUNABLES=...`), `--override NAME:KEY=VALUE`
a config override for one rlhost program (`--override exact:params.config.arithmetic=rl_games`;
the same binary may be listed under two names). Prints the load
(`/proc/loadavg`) before and after and the cores other processes used during each run; writes
`--json` (default bench/results/train_fps_ab.json). The plugins are those of `plugins/`.
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import side_by_side as sbs  # noqa: E402  (run_program, rl_games_command, batch_frames)

VENV_PYTHON = os.path.expanduser("~/.cache/rlhost/venv-rlgames-1.6.5/bin/python")


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "pendulum_isaaclab_sized_ppo.yaml"))
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rlhost", action="append", default=[], metavar="NAME=BINARY",
                    help="an rlhost binary to time (repeatable; default rlhost=target/release/rlhost)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME:KEY=VALUE")
    ap.add_argument("--override", action="append", default=[], metavar="NAME:KEY=VALUE",
                    help="a config override for one rlhost program, e.g. exact:params.config.arithmetic=rl_games")
    ap.add_argument("--work-dir", default="/tmp/rlhost-train-fps-ab")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "train_fps_ab.json"))
    return ap.parse_args()


def main():
    args = parse_args()
    config = os.path.abspath(args.config)
    rlhosts = [tuple(s.split("=", 1)) for s in args.rlhost] or [("rlhost", os.path.join(ROOT, "target/release/rlhost"))]
    overrides = {}
    for spec in args.override:
        name, kv = spec.split(":", 1)
        overrides.setdefault(name, []).append(kv)
    envs = {}
    for spec in args.env:
        name, kv = spec.split(":", 1)
        key, value = kv.split("=", 1)
        envs.setdefault(name, {})[key] = value
    os.makedirs(args.work_dir, exist_ok=True)
    frames_per_epoch = sbs.batch_frames(config)
    runs = {name: [] for name, _ in rlhosts}
    runs["rl_games"] = []
    load_before = loadavg()
    for r in range(args.rounds):
        for name, binary in rlhosts + [("rl_games", None)]:
            experiment = f"{name}_{r}_{os.getpid()}"
            if binary is None:
                cmd = sbs.rl_games_command(VENV_PYTHON, config, args.seed, args.epochs, experiment, "torch")
            else:
                cmd = [os.path.abspath(binary), "train", "--plugin-dir", os.path.join(ROOT, "plugins"), "--config",
                       config, "--seed", str(args.seed), "--max-iterations", str(args.epochs), "--experiment",
                       experiment] + overrides.get(name, [])
            env = dict(os.environ, **envs.get(name, {}))
            log = os.path.join(args.work_dir, experiment + ".log")
            lines, wall, own, foreign = sbs.run_program(name, cmd, args.work_dir, log, env=env)
            (t1, _, _), (te, _, _) = lines[0], lines[-1]
            fps = frames_per_epoch * (len(lines) - 1) / (te - t1)
            runs[name].append({"train_fps": fps, "foreign_cores": round(foreign, 2), "own_cores": round(own, 2)})
            print(f"round {r + 1} {name:>10}: train FPS {fps:8,.0f}  (other processes {foreign:.2f} cores)", flush=True)
    load_after = loadavg()
    summary = {name: statistics.median(x["train_fps"] for x in v) for name, v in runs.items()}
    print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)}")
    for name, fps in summary.items():
        print(f"{name:>10}: median train FPS {fps:8,.0f}  {fps / summary['rl_games']:.2f}x rl_games")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"config": os.path.relpath(config, ROOT), "epochs": args.epochs, "rounds": args.rounds,
                   "load_before": load_before, "load_after": load_after, "overrides": overrides,
                   "env": envs, "runs": runs, "median_train_fps": summary}, f, indent=1)


if __name__ == "__main__":
    main()
