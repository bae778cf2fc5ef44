"""Training FPS on a MuJoCo task: rlhost (plugins/mujoco + a2c_continuous) against rl_games 1.6.5
with envpool 1.2.5, on the same rl_games config (`configs/mujoco/<task>_envpool.yaml`), in one
command, run alternately.

    python3 bench/mujoco_train.py                    # Ant-v5, 10 epochs, 2 runs each
    python3 bench/mujoco_train.py --task HalfCheetah-v5 --epochs 6 --runs 3

rlhost trains `configs/<stem>_mujoco_ppo.yaml` (rl_games 1.6.5's hyperparameters, see README);
rl_games trains its own installed `<stem>_envpool.yaml` through `rl_games.torch_runner.Runner`
with only run-time settings changed: `env_config.env_name` (the v5 task instead of v4),
`device: cpu`, `max_epochs`, `torch_compile: False` (rlhost has no compiler). Both print
rl_games' per-epoch `fps step` / `fps total` line; the table gives, per program, the median over
epochs 2..E of all runs. This measures speed only: E epochs are far too few to compare returns.
Needs bench/setup_rl_games.sh's venv with `envpool==1.2.5` (installed by it) and a release build
with `target/release/librlhost_mujoco.so`. Writes bench/results/mujoco_train.json.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEMS = {"Ant-v5": "ant", "HalfCheetah-v5": "halfcheetah", "Hopper-v5": "hopper", "Walker2d-v5": "walker2d", "Humanoid-v5": "humanoid"}
FPS = re.compile(r"fps step: (\d+(?:\.\d+)?).*fps total: (\d+(?:\.\d+)?)")

RL_GAMES = r"""
import os, sys, yaml
import rl_games
from rl_games.torch_runner import Runner
stem, task, epochs, train_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
path = os.path.join(os.path.dirname(rl_games.__file__), "configs", "mujoco", f"{stem}_envpool.yaml")
cfg = yaml.safe_load(open(path))
c = cfg["params"]["config"]
c["env_config"]["env_name"] = task
c.update(device="cpu", max_epochs=epochs, torch_compile=False, train_dir=train_dir, full_experiment_name="run")
c["player"] = {"render": False}
runner = Runner()
runner.load(cfg)
runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
"""


def fps_lines(text: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in FPS.findall(text)]


def run_rlhost(task: str, epochs: int, work: str, overrides: list[str]) -> list[tuple[float, float]]:
    plugins = os.path.join(work, "plugins")
    os.makedirs(plugins, exist_ok=True)
    for lib in ("librlhost_a2c_continuous.so", "librlhost_mujoco.so"):
        shutil.copy(os.path.join(ROOT, "target", "release", lib), plugins)
    config = os.path.join(ROOT, "configs", f"{STEMS[task]}_mujoco_ppo.yaml")
    cmd = [os.path.join(ROOT, "target", "release", "rlhost"), "train", "--plugin-dir", plugins, "--config", config,
           "--max-iterations", str(epochs), "--experiment", "run", *overrides]
    out = subprocess.run(cmd, cwd=work, check=True, capture_output=True, text=True).stdout
    return fps_lines(out)


def run_rl_games(python: str, task: str, epochs: int, work: str) -> list[tuple[float, float]]:
    out = subprocess.run([python, "-c", RL_GAMES, STEMS[task], task, str(epochs), os.path.join(work, "runs")],
                         cwd=work, check=True, capture_output=True, text=True).stdout
    return fps_lines(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="Ant-v5", choices=list(STEMS))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override for rlhost, e.g. params.config.env_config.num_threads=1")
    p.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "mujoco_train.json"))
    a = p.parse_args()
    venv = subprocess.run(["bash", os.path.join(ROOT, "bench", "setup_rl_games.sh")], check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]
    python = os.path.join(venv, "bin", "python")
    per_run = {"rlhost": [], "rl_games": []}
    for r in range(a.runs):
        for name in ("rlhost", "rl_games"):
            with tempfile.TemporaryDirectory(prefix=f"mujoco-train-{name}-") as work:
                lines = run_rlhost(a.task, a.epochs, work, a.override) if name == "rlhost" else run_rl_games(python, a.task, a.epochs, work)
            if len(lines) < a.epochs:
                sys.exit(f"{name}: expected {a.epochs} fps lines, got {len(lines)}")
            per_run[name].append(lines)
            total = statistics.median(t for _, t in lines[1:])
            print(f"{a.task} run {r + 1}/{a.runs} {name}: fps total {total:.0f} (median of epochs 2..{a.epochs})", flush=True)
    med = {k: {"fps_step": statistics.median(s for run in v for s, _ in run[1:]),
               "fps_total": statistics.median(t for run in v for _, t in run[1:])} for k, v in per_run.items()}
    print()
    print(f"| {a.task}, {a.epochs} epochs x {a.runs} runs | fps step | fps total |")
    print("|---|---:|---:|")
    for k, m in med.items():
        print(f"| {k} | {m['fps_step']:.0f} | {m['fps_total']:.0f} |")
    print(f"| rlhost / rl_games | {med['rlhost']['fps_step'] / med['rl_games']['fps_step']:.2f} | "
          f"{med['rlhost']['fps_total'] / med['rl_games']['fps_total']:.2f} |")
    record = {"command": " ".join(["bench/mujoco_train.py", *sys.argv[1:]]), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "task": a.task, "epochs": a.epochs, "runs": a.runs, "load_average_at_end": os.getloadavg(),
              "median_epochs_2_on": med, "per_run_fps_step_total": per_run}
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json + ".tmp", "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    os.replace(a.json + ".tmp", a.json)
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
