#!/usr/bin/env python3
"""The update time of a recurrent (LSTM) policy, rlhost against rl_games 1.6.5, in one command.

Both programs train configs/pendulum_ppo.yaml (256 Pendulum envs x 32 steps, minibatch 4096, 5
mini-epochs, 2 torch threads, CPU) with the LSTM of --variant (default: Isaac Lab's automate
network, a 256-unit two-layer LSTM before the MLP, seq_length 4) from seed 42 with the same env
draws (rng rlhost), for --epochs epochs. The two runs are the same run bit for bit
(plugins/a2c_continuous/tests/rnn_as_rl_games.rs), so each epoch's update (dataset preparation and
the minibatch updates of truncated BPTT; rl_games' `update_time`, rlhost's
`performance/rl_update_time`) works on the same batch in both. Rounds alternate (rlhost, rl_games,
rlhost, ...); the figure is the median over rounds of each run's median update time of epochs
2..E, and the ratio rl_games / rlhost.

    python3 bench/rnn_update.py [--epochs 6] [--rounds 3] [--json bench/results/rnn_update.json]

Needs `cargo build --release -p rlhost-plugin-a2c-continuous --example rnn_update_time` (run by
the script unless --no-build) and rl_games' venv (bench/setup_rl_games.sh).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV_PYTHON = os.path.expanduser("~/.cache/rlhost/venv-rlgames-1.6.5/bin/python")
AUTOMATE_LSTM = {
    "seq_length": 4,
    "separate": False,
    "rnn": {"name": "lstm", "units": 256, "layers": 2, "before_mlp": True, "concat_input": True, "layer_norm": False},
}


def rl_games_side(variant, epochs):
    """Runs inside rl_games' venv: trains and prints the per-epoch update times as JSON."""
    sys.path.insert(0, HERE)
    import yaml
    import rl_games_pendulum as rgp

    with open(os.path.join(ROOT, "configs", "pendulum_ppo.yaml")) as f:
        cfg = yaml.safe_load(f)
    params = cfg["params"]
    config = params["config"]
    params["seed"] = 42
    params["network"]["separate"] = variant["separate"]
    params["network"]["rnn"] = variant["rnn"]
    config["seq_length"] = variant["seq_length"]
    config["max_epochs"] = epochs
    config["torch_compile"] = False
    config["full_experiment_name"] = "rnn_update"
    config["train_dir"] = os.path.join("/tmp", f"rnn_update_{os.getpid()}")
    env_config = dict(config.get("env_config") or {})
    env_config.update(device="cpu", rng="rlhost")
    config["env_config"] = env_config
    config.pop("player", None)
    rgp.apply_runtime_patches()
    from rl_games.algos_torch import a2c_continuous
    from rl_games.torch_runner import Runner

    A = a2c_continuous.A2CAgent
    times = []
    orig = A.train_epoch

    def train_epoch(self):
        out = orig(self)
        times.append(out[2])  # (step_time, play_time, update_time, total_time, ...)
        return out

    A.train_epoch = train_epoch
    rgp.register_env(config["env_name"])
    runner = Runner()
    runner.load(cfg)
    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # rl_games prints every epoch
    try:
        runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
    finally:
        sys.stdout.flush()
        os.dup2(real_stdout, 1)
    print(json.dumps({"program": "rl_games", "update_time": times, "threads": params.get("torch_threads")}))


def last_json(text):
    return json.loads([l for l in text.splitlines() if l.startswith("{")][-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variant", default=json.dumps(AUTOMATE_LSTM))
    ap.add_argument("--json", default=os.path.join(HERE, "results", "rnn_update.json"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--rl-games-side", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    variant = json.loads(args.variant)
    if args.rl_games_side:
        rl_games_side(variant, args.epochs)
        return
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "rlhost-plugin-a2c-continuous",
                        "--example", "rnn_update_time"], cwd=ROOT, check=True)
    example = os.path.join(ROOT, "target", "release", "examples", "rnn_update_time")
    commands = {
        "rlhost": [example, "--epochs", str(args.epochs), "--variant", args.variant],
        "rl_games": [VENV_PYTHON, os.path.abspath(__file__), "--rl-games-side", "--epochs", str(args.epochs),
                     "--variant", args.variant],
    }
    # The example runs the agent in its own process, without the `rlhost` binary, whose `main`
    # sets the C heap policy (host/src/heap.rs); the same values through glibc's tunables.
    heap = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824"
    envs = {"rlhost": dict(os.environ, GLIBC_TUNABLES=heap), "rl_games": None}
    runs = {"rlhost": [], "rl_games": []}
    for r in range(args.rounds):
        for program in ("rlhost", "rl_games"):
            out = subprocess.run(commands[program], cwd=ROOT, check=True, capture_output=True, text=True,
                                 env=envs[program]).stdout
            times = last_json(out)["update_time"]
            steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
            runs[program].append({"update_time": times, "median_steady": steady})
            print(f"round {r + 1} {program:8s}: median update time of epochs 2..{len(times)} {steady:.3f} s", flush=True)
    med = {p: statistics.median(x["median_steady"] for x in v) for p, v in runs.items()}
    ratio = med["rl_games"] / med["rlhost"]
    print(f"update time per epoch: rlhost {med['rlhost']:.3f} s, rl_games 1.6.5 {med['rl_games']:.3f} s; "
          f"rl_games / rlhost = {ratio:.2f}")
    result = {"variant": variant, "epochs": args.epochs, "rounds": args.rounds, "config": "configs/pendulum_ppo.yaml",
              "median_update_time_s": med, "ratio_rl_games_over_rlhost": ratio, "runs": runs}
    if args.json:
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=1)
        os.replace(tmp, args.json)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
