"""Runs every rl_games agent config Isaac Lab released (2.3.2 and 3.0.0) through rlhost, as it is.

The configs come from the `isaaclab` wheels on PyPI (pinned below by version and sha256), which
ship the whole `isaaclab_tasks` tree; they are downloaded once with `pip download --no-deps` into
~/.cache/rlhost/isaaclab_wheels/ and their `agents/rl_games_*.yaml` files extracted to
~/.cache/rlhost/isaaclab_configs/<release>/. A 3.0.0 file byte-identical to a 2.3.2 one is run
once (51 distinct files).

Each config file is copied unchanged into its own run folder and trained with
`target/release/rlhost train` for a few epochs on the CPU, then its checkpoint is played with
`rlhost play --games 1`. Only what a 2-core CPU run needs is overridden on the command line:

- `env_name`: a built-in env with the observation groups the config reads (`CartPoleCamera`'s
  uint8 images for a `network.cnn`, `CartPoleContinuous` otherwise) and `env_config.states=true`
  when there is a `central_value_config` (the privileged `states` group its critic reads);
  `env_config.channels_first=true` for a cnn with `permute_input: False` (Isaac Lab 3.0's camera
  task emits (C, H, W) images);
- `--device cpu`, `--num-envs` (16; 4 on the camera env, which renders on the CPU, and 4 when
  `seq_length` is over 64: factory's and forge's 128-step sequences through 1024-unit LSTMs),
  `--max-iterations`;
- `horizon_length` when it is over 64 steps (kept a multiple of `seq_length`);
- `minibatch_size` and `central_value_config.minibatch_size` only where they do not divide the
  smaller batch (then half the batch).

Network and algorithm keys are never touched. Prints one table row per config (markdown), writes
the rows as JSON, and exits 1 if any config did not both train and play.

Usage: .venv/bin/python bench/isaaclab_configs.py [--only SUBSTRING] [--epochs 2] [--num-envs 16]
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/rlhost")

# The released wheels: (release, pip requirement, wheel file, sha256, pip's target python and platform).
# Each wheel only installs on its own python, so pip is told which one to fetch for.
WHEELS = [
    (
        "2.3.2",
        "isaaclab==2.3.2.post1",
        "isaaclab-2.3.2.post1-cp311-none-manylinux_2_35_x86_64.whl",
        "53f085b5c8377697d52cb404fb6ca0902771983f790f0839a13709a67cea1919",
        ["--python-version", "3.11", "--platform", "manylinux_2_35_x86_64"],
    ),
    (
        "3.0.0",
        "isaaclab==3.0.0",
        "isaaclab-3.0.0-py3-none-any.whl",
        "625f752c7dd912eb8efade85daeb7a8119d620266852380d17d8f9e701b80bca",
        ["--python-version", "3.12", "--platform", "manylinux_2_35_x86_64"],
    ),
]
AGENT_CONFIG = re.compile(r"^(?:.*/)?isaaclab_tasks/(.+/agents/rl_games_[^/]*\.yaml)$")
MAX_HORIZON = 64
TRAIN_TIMEOUT_S = 600
PLAY_TIMEOUT_S = 120


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_path(requirement, filename, expected_sha, pip_target):
    """The cached wheel, downloaded with pip first if absent; its sha256 must match the pin."""
    folder = os.path.join(CACHE, "isaaclab_wheels")
    path = os.path.join(folder, filename)
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", *pip_target]
        subprocess.run(command + [requirement, "-d", folder], check=True, stdout=subprocess.DEVNULL)
    actual = sha256(path)
    if actual != expected_sha:
        sys.exit(f"error: {path}: sha256 {actual}, expected {expected_sha} (delete it to download again)")
    return path


def released_configs():
    """(release, path under isaaclab_tasks/, bytes, identical later paths) for each distinct file."""
    by_digest = {}
    for release, requirement, filename, expected_sha, pip_target in WHEELS:
        wheel = wheel_path(requirement, filename, expected_sha, pip_target)
        out_dir = os.path.join(CACHE, "isaaclab_configs", release)
        with zipfile.ZipFile(wheel) as archive:
            for member in sorted(archive.namelist()):
                match = AGENT_CONFIG.search(member)
                if not match:
                    continue
                relative, data = match.group(1), archive.read(member)
                target = os.path.join(out_dir, relative)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(data)
                digest = hashlib.sha256(data).hexdigest()
                if digest in by_digest:
                    by_digest[digest]["same_as"].append(f"{release}:{relative}")
                else:
                    by_digest[digest] = {"release": release, "path": relative, "data": data, "same_as": []}
    return list(by_digest.values())


def round_down_to_multiple(value, step):
    return max(step, value // step * step)


def plan(params, args):
    """The env, the number of envs and the KEY=VALUE overrides a short CPU run of this config needs."""
    config, network = params["config"], params["network"]
    overrides = []
    env = "CartPoleCamera" if "cnn" in network else "CartPoleContinuous"
    num_envs = args.camera_envs if env == "CartPoleCamera" else args.num_envs
    if int(config.get("seq_length", 4)) > MAX_HORIZON:
        # Factory/forge: 128-step sequences through 1024-unit LSTMs, minutes per epoch on a CPU.
        num_envs = args.long_sequence_envs
    overrides.append(f"params.config.env_name={env}")
    if "central_value_config" in config:
        overrides.append("params.config.env_config.states=true")
    if "cnn" in network and not network["cnn"].get("permute_input", True):
        # Isaac Lab 3.0's camera task hands (C, H, W) images to configs that do not permute.
        overrides.append("params.config.env_config.channels_first=true")
    seq_length = int(config.get("seq_length", 4))
    released_horizon = int(config["horizon_length"])
    horizon = released_horizon
    if horizon > MAX_HORIZON:
        horizon = round_down_to_multiple(MAX_HORIZON, seq_length) if seq_length <= MAX_HORIZON else seq_length
    if horizon != released_horizon:
        overrides.append(f"params.config.horizon_length={horizon}")
    batch = num_envs * horizon
    for key, block in [("minibatch_size", config), ("central_value_config.minibatch_size", config.get("central_value_config"))]:
        if block is None or "minibatch_size" not in block:
            continue
        minibatch = int(block["minibatch_size"])
        if minibatch > batch or batch % minibatch:
            overrides.append(f"params.config.{key}={batch // 2}")
    return env, num_envs, overrides


def one_line(text, limit=300):
    """`text` up to an escaped newline (a panic's debug text carries its backtrace so), shortened."""
    text = text.split("\\n")[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_error(stderr, stdout, code):
    for line in stderr.splitlines():
        if line.startswith("error:"):
            return one_line(line)
    if code == 0:
        return ""
    lines = [line for line in (stderr + stdout).splitlines() if line.strip()]
    return one_line(lines[-1]) if lines else f"exit status {code}"


def warnings(stderr):
    keys = re.findall(r"unknown key '([^']+)'", stderr)
    others = [line for line in stderr.splitlines() if line.startswith("warning:") and "unknown key" not in line]
    return sorted(set(keys)) + others


def run(command, cwd, timeout):
    started = time.time()
    try:
        out = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        code, stdout, stderr = out.returncode, out.stdout, out.stderr
    except subprocess.TimeoutExpired as e:
        code = None
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = (e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")) + f"\nerror: timed out after {timeout} s"
    with open(os.path.join(cwd, f"{command[1]}.log"), "w") as f:
        f.write(f"$ {' '.join(command)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n")
    return code, stdout, stderr, time.time() - started


def newest_checkpoint(run_dir):
    nn = os.path.join(run_dir, "runs", "run", "nn")
    if not os.path.isdir(nn):
        return None
    files = [os.path.join(nn, name) for name in os.listdir(nn)]
    return max(files, key=os.path.getmtime) if files else None


def run_config(entry, args, index):
    params = yaml.safe_load(entry["data"])["params"]
    env, num_envs, overrides = plan(params, args)
    name = entry["path"].removesuffix(".yaml").replace("/", "_")
    run_dir = os.path.join(args.work_dir, f"{index:02d}_{entry['release']}_{name}")
    shutil.rmtree(run_dir, ignore_errors=True)  # a run folder of an earlier call would be refused
    os.makedirs(run_dir)
    with open(os.path.join(run_dir, "config.yaml"), "wb") as f:
        f.write(entry["data"])
    common = ["--plugin-dir", args.plugin_dir, "--config", "config.yaml", "--device", "cpu"]
    train = [args.rlhost, "train", *common, "--experiment", "run", "--num-envs", str(num_envs)]
    train += ["--max-iterations", str(args.epochs), *overrides]
    code, stdout, stderr, train_s = run(train, run_dir, TRAIN_TIMEOUT_S)
    trained = code == 0 and f"epoch: {args.epochs}/{args.epochs} " in stdout
    row = {
        "release": entry["release"],
        "config": entry["path"],
        "same_as": entry["same_as"],
        "env": env,
        "num_envs": num_envs,
        "overrides": overrides,
        "trained": trained,
        "played": False,
        "error": first_error(stderr, stdout, code),
        "warnings": warnings(stderr),
        "train_s": round(train_s, 1),
        "play_s": None,
    }
    checkpoint = newest_checkpoint(run_dir)
    if trained and checkpoint:
        play = [args.rlhost, "play", *common, "--checkpoint", checkpoint, "--games", "1", "--num-envs", "2", *overrides]
        code, stdout, stderr, play_s = run(play, run_dir, PLAY_TIMEOUT_S)
        row["played"] = code == 0 and "av reward:" in stdout
        row["error"] = row["error"] or first_error(stderr, stdout, code)
        row["warnings"] += [w for w in warnings(stderr) if w not in row["warnings"]]
        row["play_s"] = round(play_s, 1)
    elif trained:
        row["error"] = f"no checkpoint in {run_dir}/runs/run/nn"
    return row


def markdown(rows, epochs):
    yes = {True: "yes", False: "**no**"}

    def overrides(row):
        keys = [f"num_actors={row['num_envs']}"] + [o.removeprefix("params.config.") for o in row["overrides"]]
        return ", ".join(keys)

    lines = [
        f"| # | release | config (under isaaclab_tasks/) | env | overrides (and `--device cpu --max-iterations {epochs}`) | trained | played | first error | warnings |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, row in enumerate(rows, 1):
        name = row["config"] + "".join(f"<br>= {s}" for s in row["same_as"])
        error = row["error"].replace("|", "\\|")
        lines.append(
            f"| {i} | {row['release']} | {name} | {row['env']} | {overrides(row)} | {yes[row['trained']]} | "
            f"{yes[row['played']]} | {error} | {', '.join(row['warnings']).replace('|', '/')} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rlhost", default=os.path.join(ROOT, "target", "release", "rlhost"))
    parser.add_argument("--plugin-dir", default=os.path.join(ROOT, "plugins"))
    parser.add_argument("--work-dir", default="/tmp/rlhost-isaaclab-configs")
    parser.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "isaaclab_configs.json"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--camera-envs", type=int, default=4, help="envs for CartPoleCamera (it renders on the CPU)")
    parser.add_argument("--long-sequence-envs", type=int, default=4, help=f"envs when seq_length > {MAX_HORIZON}")
    parser.add_argument("--only", help="run only the configs whose path contains this")
    args = parser.parse_args()
    if args.num_envs % 2 or args.camera_envs % 2:
        sys.exit("error: --num-envs and --camera-envs must be even (the minibatch override is half the batch)")
    if not os.path.exists(args.rlhost):
        sys.exit(f"error: {args.rlhost} is missing: build with `cargo build --release --workspace` (scripts/setup.sh)")
    entries = released_configs()
    if args.only:
        entries = [e for e in entries if args.only in e["path"]]
    started = time.time()
    rows = []
    for index, entry in enumerate(entries, 1):
        row = run_config(entry, args, index)
        rows.append(row)
        status = "ok" if row["trained"] and row["played"] else "FAILED"
        print(f"[{index}/{len(entries)}] {status} {row['release']} {row['config']} ({row['train_s']} s) {row['error']}", flush=True)
    elapsed = time.time() - started
    passed = sum(row["trained"] and row["played"] for row in rows)
    print()
    print(markdown(rows, args.epochs))
    print(f"\n{passed} of {len(rows)} configs trained and played; {len(rows) - passed} failed ({elapsed:.0f} s)")
    if args.json and not args.only:
        with open(args.json, "w") as f:
            json.dump({"seconds": round(elapsed), "passed": passed, "rows": rows}, f, indent=1)
            f.write("\n")
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
