#!/usr/bin/env python3
"""Learning on a MuJoCo task over several seeds: rlhost (plugins/mujoco) against rl_games 1.6.5 + envpool.

    python3 bench/mujoco_learning.py --task HalfCheetah-v5 --epochs 184 --seeds 1 2

For each seed the two programs train at the same time, one torch thread each (the machine's two
cores shared, so the comparison is of returns per frame, not of speed), on the same rl_games
hyperparameters as `bench/mujoco_train.py`: rlhost `configs/<stem>_mujoco_ppo.yaml`, rl_games its
installed `<stem>_envpool.yaml`, both with `params.seed` and the env seed set to the seed.
Returns are TensorBoard's `rewards/step` (the mean return of the last finished episodes, which
both programs write), read at fixed frame marks; the JSON (`--json`, default
bench/results/<stem>_learning.json) keeps every series. Needs bench/setup_rl_games.sh's venv.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from mujoco_train import STEMS  # noqa: E402

RL_GAMES = r"""
import os, sys, yaml, torch
import rl_games
from rl_games.torch_runner import Runner
stem, task, epochs, train_dir, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
torch.set_num_threads(1)
cfg = yaml.safe_load(open(os.path.join(os.path.dirname(rl_games.__file__), "configs", "mujoco", f"{stem}_envpool.yaml")))
cfg["params"]["seed"] = seed
c = cfg["params"]["config"]
c["env_config"].update(env_name=task, seed=seed)
c.update(device="cpu", max_epochs=epochs, torch_compile=False, train_dir=train_dir, full_experiment_name="run")
c["player"] = {"render": False}
runner = Runner()
runner.load(cfg)
runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
"""

READ_TB = r"""
import glob, json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(glob.glob(sys.argv[1] + "/**/events.out.tfevents*", recursive=True)[0], size_guidance={"scalars": 0})
acc.Reload()
tag = "rewards/step"
print(json.dumps([(e.step, e.value) for e in acc.Scalars(tag)] if tag in acc.Tags()["scalars"] else []))
"""


def rlhost_command(task: str, epochs: int, seed: int, plugins: str) -> list[str]:
    config = os.path.join(ROOT, "configs", f"{STEMS[task]}_mujoco_ppo.yaml")
    return [os.path.join(ROOT, "target", "release", "rlhost"), "train", "--plugin-dir", plugins, "--config", config,
            "--seed", str(seed), "--max-iterations", str(epochs), "--experiment", "run",
            "params.torch_threads=1", f"params.config.env_config.seed={seed}"]


def frames_per_epoch(task: str) -> int:
    """num_actors x horizon_length of rlhost's config for the task (rl_games' envpool YAML's)."""
    import yaml  # noqa: PLC0415  (the set-up's pinned PyYAML)

    config = yaml.safe_load(open(os.path.join(ROOT, "configs", f"{STEMS[task]}_mujoco_ppo.yaml")))["params"]["config"]
    return config["num_actors"] * config["horizon_length"]


def at_marks(series: list[tuple[int, float]], marks: list[int]) -> dict[str, float | None]:
    """The last logged value at or before each frame mark."""
    out = {}
    for m in marks:
        before = [v for s, v in series if s <= m]
        out[str(m)] = round(before[-1], 1) if before else None
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="HalfCheetah-v5", choices=list(STEMS))
    p.add_argument("--epochs", type=int, default=184, help="HalfCheetah: 184 epochs of 64 x 256 frames = 3.01M frames")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--json", default=None)
    a = p.parse_args()
    json_path = a.json or os.path.join(HERE, "results", f"{STEMS[a.task]}_learning.json")
    venv = subprocess.run(["bash", os.path.join(HERE, "setup_rl_games.sh")], check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]
    python = os.path.join(venv, "bin", "python")
    frames = a.epochs * frames_per_epoch(a.task)
    marks = [frames * k // 4 for k in range(1, 5)]
    runs = []
    for seed in a.seeds:
        with tempfile.TemporaryDirectory(prefix="mujoco-learning-") as work:
            plugins = os.path.join(work, "plugins")
            os.makedirs(plugins)
            for lib in ("librlhost_a2c_continuous.so", "librlhost_mujoco.so"):
                shutil.copy(os.path.join(ROOT, "target", "release", lib), plugins)
            started = time.monotonic()
            procs = {
                "rlhost": subprocess.Popen(rlhost_command(a.task, a.epochs, seed, plugins), cwd=work,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True),
                "rl_games": subprocess.Popen([python, "-c", RL_GAMES, STEMS[a.task], a.task, str(a.epochs),
                                              os.path.join(work, "rl_games"), str(seed)], cwd=work,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True),
            }
            record = {"seed": seed}
            for name, proc in procs.items():
                _, err = proc.communicate()
                if proc.returncode != 0:
                    sys.exit(f"{name} seed {seed} failed ({proc.returncode}): {err.strip().splitlines()[-1:]}")
                folder = os.path.join(work, "runs" if name == "rlhost" else "rl_games")
                series = json.loads(subprocess.run([python, "-c", READ_TB, folder], check=True, capture_output=True,
                                                   text=True).stdout)
                record[name] = {"wall_s": round(time.monotonic() - started, 1), "at_frames": at_marks(series, marks),
                                "best": round(max(v for _, v in series), 1) if series else None, "series": series}
                print(f"{a.task} seed {seed} {name}: return at {', '.join(f'{int(m) / 1e6:.2f}M' for m in marks)} frames = "
                      f"{list(record[name]['at_frames'].values())}, best {record[name]['best']}", flush=True)
            runs.append(record)
    final = {name: [r[name]["at_frames"][str(marks[-1])] for r in runs] for name in ("rlhost", "rl_games")}
    for name, values in final.items():
        known = [v for v in values if v is not None]
        print(f"{name}: return at {marks[-1]:,} frames per seed {values}, mean {statistics.mean(known):.1f}")
    result = {"command": " ".join(["bench/mujoco_learning.py", *sys.argv[1:]]),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "task": a.task, "epochs": a.epochs,
              "frame_marks": marks, "runs": runs}
    with open(json_path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(json_path + ".tmp", json_path)
    print(f"wrote {json_path}")


if __name__ == "__main__":
    main()
