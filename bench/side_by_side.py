#!/usr/bin/env python3
"""Side-by-side benchmark: rlhost vs rl_games 1.6.5, same config, same machine (Pendulum-v1 or gym:<id>).

    python3 bench/side_by_side.py                 # seeds 42 43 44, 300 epochs each
    python3 bench/side_by_side.py --quick         # 30 epochs, a fast check of the whole pipeline
    python3 bench/side_by_side.py --seeds 42 --epochs 100
    python3 bench/side_by_side.py --config configs/pendulum_central_value_ppo.yaml --env-rng rlhost
    python3 bench/side_by_side.py --env-rng rlhost --arithmetic rl_games   # the very same run as rl_games
    python3 bench/side_by_side.py --config configs/halfcheetah_gym_ppo.yaml --seeds 5 --epochs 123 \
        --threshold 3000 --tail 128 --json bench/results/halfcheetah_side_by_side.json

rl_games runs bench/rl_games_pendulum.py for Pendulum-v1 configs and bench/rl_games_gym.py for
`env_name: gym:<id>` configs (Gymnasium's vector env with rlhost's `gym:` semantics).

1. Set-up for both: scripts/setup.sh (rlhost release build + plugins) and
   bench/setup_rl_games.sh (venv with torch 2.13.0 + rl-games 1.6.5); both idempotent.
2. For each seed, alternately: rlhost, then rl_games (rlhost 42, rl_games 42, rlhost 43, ...),
   so slow machine phases hit both. Both train configs/pendulum_ppo.yaml as is (256 envs x 32
   steps, staggered starts, CPU, 2 torch threads); rl_games with torch_compile off.
   Before each run it waits (up to --max-wait s) until other processes keep less than
   --max-busy cores busy (from /proc/stat); after it, the CPU the rest of the machine used during
   the run is computed (busy CPU minus the run's own rusage) and a run disturbed by more than
   --max-foreign cores is repeated (up to --retries times; every attempt is in the JSON).
3. From each run: the per-epoch console lines (timestamped as they arrive) and the run's
   summaries/episodes.csv (rlhost's own, and bench/torch_pendulum.py's for rl_games, same format).

Measures, identical for both programs:
  * wall FPS        = frames / wall time of the whole process (start-up included);
  * train FPS       = frames of epochs 2..E / time from the epoch-1 line to the epoch-E line
                      (steady state: no process start-up, imports or first-epoch warm-up);
  * own fps total   = mean of the program's per-epoch "fps total" values (rl_games' meter:
                      frames / (rollout + update time) of each epoch);
  * frames to threshold = first frame at which the mean return of the last 100 finished episodes
                      that are not a first (partial, staggered-start) episode is >= --threshold
                      (default -200)
                      (evaluated once per frame value, after all episodes of that frame; a full
                      window of 100 is required);
  * final return    = that same window's mean at the end of training (and, less noisy, the mean
                      of the last --tail (1000) such episodes: about the last 25 Pendulum epochs).
A table per seed is printed and all numbers are written to a JSON file (--json).
"""
import argparse
import csv
import datetime
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

import_time = time.time()
BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
CONFIG = os.path.join(ROOT, "configs", "pendulum_ppo.yaml")
FPS_LINE = re.compile(r"fps total:\s*([0-9.]+)\s+epoch:\s*(\d+)")
WINDOW = 100
# Set from --threshold and --tail in main().
THRESHOLD = -200.0
TAIL = 1000


def sh(cmd, **kw):
    print(f"$ {' '.join(cmd)}", flush=True)
    return subprocess.run(cmd, check=True, **kw)


def setup(skip):
    if skip:
        venv = os.path.join(os.environ.get("RLHOST_CACHE", os.path.expanduser("~/.cache/rlhost")), "venv-rlgames-1.6.5")
        return os.path.join(venv, "bin", "python")
    sh([os.path.join(ROOT, "scripts", "setup.sh")])
    out = sh([os.path.join(BENCH, "setup_rl_games.sh")], stdout=subprocess.PIPE, text=True).stdout
    venv = out.strip().splitlines()[-1]
    return os.path.join(venv, "bin", "python")


def batch_frames(config_path):
    """Frames per epoch (num_actors x horizon_length) read from the YAML without a yaml module."""
    text = open(config_path).read()
    get = lambda key: int(re.search(rf"^\s*{key}:\s*(\d+)", text, re.M).group(1))
    return get("num_actors") * get("horizon_length")


def rl_games_command(python, config_path, seed, epochs, experiment, env_rng):
    """The rl_games run for a config: bench/rl_games_gym.py for gym:<id> envs, else the Pendulum runner."""
    gym = re.search(r"^\s*env_name:\s*['\"]?gym:", open(config_path).read(), re.M)
    common = ["--config", config_path, "--seed", str(seed), "--epochs", str(epochs), "--experiment", experiment,
              "--train-dir", "runs"]
    if gym:
        return [python, os.path.join(BENCH, "rl_games_gym.py")] + common
    return [python, os.path.join(BENCH, "rl_games_pendulum.py")] + common + ["--env-rng", env_rng]


def cpu_busy_seconds():
    """CPU seconds spent busy by the whole machine so far (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def busy_cores(interval=3.0):
    """How many cores the machine keeps busy, measured over `interval` seconds."""
    b0, t0 = cpu_busy_seconds(), time.perf_counter()
    time.sleep(interval)
    return (cpu_busy_seconds() - b0) / (time.perf_counter() - t0)


def wait_for_quiet(max_busy, max_wait):
    """Waits (at most max_wait s) until other processes keep fewer than max_busy cores busy."""
    start = time.time()
    busy = busy_cores()
    while busy > max_busy and time.time() - start < max_wait:
        print(f"  machine busy ({busy:.2f} cores in use, load {os.getloadavg()[0]:.2f}): waiting ...", flush=True)
        time.sleep(10)
        busy = busy_cores()
    return busy


def run_program(name, cmd, cwd, log_path, env=None):
    """Runs one training process; returns its epoch lines (t, epoch, fps_total), wall time and the
    CPU the rest of the machine used meanwhile (in cores: busy CPU minus the run's own CPU)."""
    child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = cpu_busy_seconds()
    t0 = time.perf_counter()
    lines = []
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env, bufsize=1)
        for line in proc.stdout:
            now = time.perf_counter()
            log.write(line)
            m = FPS_LINE.search(line)
            if m:
                lines.append((now - t0, int(m.group(2)), float(m.group(1))))
        rc = proc.wait()
    wall = time.perf_counter() - t0
    child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_cpu = (child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)
    foreign = max(0.0, cpu_busy_seconds() - busy0 - own_cpu) / wall
    if rc != 0:
        tail = open(log_path).read()[-3000:]
        raise RuntimeError(f"{name} exited with {rc}; log {log_path}:\n{tail}")
    return lines, wall, own_cpu / wall, foreign


def episode_metrics(csv_path):
    """Frames to a mean return >= THRESHOLD and the final mean, over the last 100 non-first episodes."""
    window = []
    tail = []  # the last TAIL non-first episodes: a less noisy final figure than the 100-episode window
    reached = None
    finished = first = 0
    current_frame = None

    def check(frame):
        nonlocal reached
        if reached is None and len(window) == WINDOW and sum(window) / WINDOW >= THRESHOLD:
            reached = frame

    with open(csv_path) as f:
        for row in csv.DictReader(f):
            frame = int(row["frame"])
            if current_frame is not None and frame != current_frame:
                check(current_frame)
            current_frame = frame
            finished += 1
            if row["first_episode"] == "1":
                first += 1
                continue
            window.append(float(row["return"]))
            tail.append(window[-1])
            if len(window) > WINDOW:
                window.pop(0)
            if len(tail) > TAIL:
                tail.pop(0)
    if current_frame is not None:
        check(current_frame)
    final = sum(window) / len(window) if window else float("nan")
    return {"frames_to_threshold": reached, "final_mean_return": final,
            f"final_mean_return_last{TAIL}": sum(tail) / len(tail) if tail else float("nan"), "episodes": finished,
            "first_episodes": first, "final_window": len(window)}


def measure(name, cmd, cwd, run_dir, log_path, frames_per_epoch, epochs, quiet, env=None):
    """One run; repeated (up to quiet.retries times) when other processes took more than
    quiet.max_foreign cores during it. Every attempt is kept in the result."""
    attempts = []
    for attempt in range(quiet.retries + 1):
        busy = wait_for_quiet(quiet.max_busy, quiet.max_wait)
        if os.path.exists(run_dir):
            shutil.rmtree(run_dir)
        lines, wall, own_cores, foreign = run_program(name, cmd, cwd, log_path, env)
        attempts.append({"wall_s": wall, "foreign_cores": round(foreign, 3), "busy_before": round(busy, 3)})
        print(f"    {name}: {wall:.1f} s, own CPU {own_cores:.2f} cores, other processes {foreign:.2f} cores", flush=True)
        if foreign <= quiet.max_foreign:
            break
        if attempt < quiet.retries:
            print(f"    {name}: the machine was busy during the run ({foreign:.2f} cores): running it again", flush=True)
    if len(lines) != epochs:
        raise RuntimeError(f"{name}: expected {epochs} epoch lines, got {len(lines)} (log {log_path})")
    frames = frames_per_epoch * epochs
    (t1, _, _), (te, _, _) = lines[0], lines[-1]
    result = {
        "program": name,
        "command": cmd,
        "busy_cores_before": round(busy, 3),
        "foreign_cores_during": round(foreign, 3),
        "noisy": foreign > quiet.max_foreign,
        "attempts": attempts,
        "own_cpu_cores": round(own_cores, 3),
        "epochs": epochs,
        "frames": frames,
        "wall_s": wall,
        "wall_fps": frames / wall,
        "train_s": te - t1,
        "train_fps": frames_per_epoch * (epochs - 1) / (te - t1) if epochs > 1 else float("nan"),
        "own_fps_total_mean": statistics.fmean(v for _, _, v in lines),
        "own_fps_total_median": statistics.median(v for _, _, v in lines),
        "run_dir": run_dir,
        "log": log_path,
    }
    result.update(episode_metrics(os.path.join(run_dir, "summaries", "episodes.csv")))
    return result


def fmt_frames(f):
    return "not reached" if f is None else f"{f:,}"


def print_seed_table(seed, a, b):
    ratio = lambda x, y: f"{x / y:.2f}x" if y else "-"
    rows = [
        ("wall FPS (frames / process wall time)", f"{a['wall_fps']:,.0f}", f"{b['wall_fps']:,.0f}", ratio(a["wall_fps"], b["wall_fps"])),
        ("train FPS (epochs 2..E, steady)", f"{a['train_fps']:,.0f}", f"{b['train_fps']:,.0f}", ratio(a["train_fps"], b["train_fps"])),
        ("own 'fps total' mean", f"{a['own_fps_total_mean']:,.0f}", f"{b['own_fps_total_mean']:,.0f}", ratio(a["own_fps_total_mean"], b["own_fps_total_mean"])),
        ("wall time (s)", f"{a['wall_s']:.1f}", f"{b['wall_s']:.1f}", ""),
        (f"frames to mean return >= {THRESHOLD:g}", fmt_frames(a["frames_to_threshold"]),
         fmt_frames(b["frames_to_threshold"]), ""),
        ("final mean return (last 100)", f"{a['final_mean_return']:.1f}", f"{b['final_mean_return']:.1f}", ""),
        (f"final mean return (last {TAIL})", f"{a[f'final_mean_return_last{TAIL}']:.1f}",
         f"{b[f'final_mean_return_last{TAIL}']:.1f}", ""),
        ("episodes finished", f"{a['episodes']:,}", f"{b['episodes']:,}", ""),
    ]
    w = max(len(r[0]) for r in rows)
    noisy = [p["program"] for p in (a, b) if p["noisy"]]
    print(f"\nseed {seed} ({a['epochs']} epochs, {a['frames']:,} frames; other processes used "
          f"{a['foreign_cores_during']:.2f} / {b['foreign_cores_during']:.2f} cores during the runs"
          + (f"; NOISY: {', '.join(noisy)}" if noisy else "") + ")")
    print(f"  {'':{w}}  {'rlhost':>12}  {'rl_games':>12}  {'rlhost/rl_games':>15}")
    for r in rows:
        print(f"  {r[0]:{w}}  {r[1]:>12}  {r[2]:>12}  {r[3]:>15}")


def summary(results):
    by = lambda prog, key: [r[prog][key] for r in results]
    out = {}
    for key in ("wall_fps", "train_fps", "own_fps_total_mean", "final_mean_return", f"final_mean_return_last{TAIL}"):
        a, b = by("rlhost", key), by("rl_games", key)
        out[key] = {"rlhost_mean": statistics.fmean(a), "rl_games_mean": statistics.fmean(b)}
        if "fps" in key:
            out[key]["ratio_of_means"] = out[key]["rlhost_mean"] / out[key]["rl_games_mean"]
    for prog in ("rlhost", "rl_games"):
        out.setdefault("frames_to_threshold", {})[prog] = by(prog, "frames_to_threshold")
    return out


def main():
    global THRESHOLD, TAIL
    ap = argparse.ArgumentParser(description="rlhost vs rl_games 1.6.5 side by side (Pendulum-v1 or gym:<id>)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    ap.add_argument("--config", default=CONFIG,
                    help="the YAML both programs train (default configs/pendulum_ppo.yaml; "
                         "configs/pendulum_central_value_ppo.yaml adds states and a central value)")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="30 epochs (overrides --epochs)")
    ap.add_argument("--work-dir", default=None,
                    help="where the run folders and logs go (default /tmp/rlhost-side-by-side, "
                         "/tmp/rlhost-side-by-side-quick with --quick)")
    ap.add_argument("--json", default=None, help="results file (default bench/results/side_by_side[_quick].json)")
    ap.add_argument("--skip-setup", action="store_true", help="do not run the two set-up scripts")
    ap.add_argument("--env-rng", choices=("torch", "rlhost"), default="torch",
                    help="rl_games env randomness: torch.Generator (default) or rlhost's counter-based draws, "
                         "which give rl_games the same initial states and staggered offsets as rlhost per seed")
    ap.add_argument("--max-busy", type=float, default=0.3,
                    help="before each run, wait while other processes keep more than this many cores busy")
    ap.add_argument("--max-wait", type=float, default=180, help="longest wait for a quiet machine per run, seconds")
    ap.add_argument("--max-foreign", type=float, default=0.25,
                    help="run again when other processes used more than this many cores during a run")
    ap.add_argument("--retries", type=int, default=2, help="how many times a noisy run is repeated")
    ap.add_argument("--arithmetic", choices=("fast", "rl_games"), default="fast",
                    help="rlhost's params.config.arithmetic: its fused kernels (fast, the default) or rl_games' ops "
                         "to the bit (rl_games; with --env-rng rlhost both programs then compute the same run)")
    ap.add_argument("--threshold", type=float, default=THRESHOLD, help="the return whose frames-to is measured")
    ap.add_argument("--tail", type=int, default=TAIL, help="episodes in the less noisy final-return mean")
    args = ap.parse_args()
    THRESHOLD, TAIL = args.threshold, args.tail
    args.config = os.path.abspath(args.config)
    epochs = 30 if args.quick else args.epochs
    json_path = args.json or os.path.join(BENCH, "results", f"side_by_side{'_quick' if args.quick else ''}.json")

    rlg_python = setup(args.skip_setup)
    rlhost_bin = os.path.join(ROOT, "target", "release", "rlhost")
    frames_per_epoch = batch_frames(args.config)
    work = os.path.abspath(args.work_dir or ("/tmp/rlhost-side-by-side" + ("-quick" if args.quick else "")))
    os.makedirs(work, exist_ok=True)
    py_env = dict(os.environ, PYTHONUNBUFFERED="1")

    results = []
    for seed in args.seeds:
        print(f"\n== seed {seed}", flush=True)
        pair = {"seed": seed}
        name = f"rlhost_{seed}"
        print(f"  rlhost   seed {seed} ...", flush=True)
        pair["rlhost"] = measure(
            "rlhost",
            [rlhost_bin, "train", "--plugin-dir", os.path.join(ROOT, "plugins"), "--config", args.config,
             "--seed", str(seed), "--max-iterations", str(epochs), "--experiment", name,
             f"params.config.arithmetic={args.arithmetic}"],
            work, os.path.join(work, "runs", name), os.path.join(work, f"{name}.log"), frames_per_epoch, epochs, args)
        name = f"rl_games_{seed}"
        print(f"  rl_games seed {seed} ...", flush=True)
        pair["rl_games"] = measure(
            "rl_games",
            rl_games_command(rlg_python, args.config, seed, epochs, name, args.env_rng),
            work, os.path.join(work, "runs", name), os.path.join(work, f"{name}.log"), frames_per_epoch, epochs,
            args, env=py_env)
        print_seed_table(seed, pair["rlhost"], pair["rl_games"])
        results.append(pair)

    summ = summary(results)
    print("\nall seeds: train FPS rlhost {rlhost_mean:,.0f} vs rl_games {rl_games_mean:,.0f} "
          "({ratio_of_means:.2f}x); own fps total {o[rlhost_mean]:,.0f} vs {o[rl_games_mean]:,.0f} ({o[ratio_of_means]:.2f}x)"
          .format(**summ["train_fps"], o=summ["own_fps_total_mean"]))
    print("frames to {:g}: rlhost {}  rl_games {}".format(
        THRESHOLD,
        " / ".join(fmt_frames(f) for f in summ["frames_to_threshold"]["rlhost"]),
        " / ".join(fmt_frames(f) for f in summ["frames_to_threshold"]["rl_games"])))

    doc = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"host": platform.node(), "platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "config": os.path.relpath(args.config, ROOT),
        "rl_games_env_rng": args.env_rng,
        "rlhost_arithmetic": args.arithmetic,
        "epochs": epochs,
        "frames_per_epoch": frames_per_epoch,
        "definitions": {
            "wall_fps": "frames / wall time of the whole process",
            "train_fps": "frames of epochs 2..E / time between the epoch-1 and epoch-E console lines",
            "own_fps_total_mean": "mean of the program's per-epoch 'fps total'",
            "frames_to_threshold": f"first frame with mean of the last {WINDOW} finished non-first episodes >= {THRESHOLD}",
            "final_mean_return": f"mean of the last {WINDOW} finished non-first episodes at the end",
            f"final_mean_return_last{TAIL}": f"mean of the last {TAIL} finished non-first episodes at the end",
        },
        "runs": results,
        "summary": summ,
    }
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=2)
    print(f"\nresults: {json_path}\nrun folders and logs: {work}")


if __name__ == "__main__":
    main()
