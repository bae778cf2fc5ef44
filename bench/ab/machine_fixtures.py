#!/usr/bin/env python3
"""rl_games fixtures that hold on this machine: the same-seed tests compare rlhost to rl_games 1.6.5
bit for bit, and libtorch's CPU kernels (oneDNN/MKL GEMMs, LAPACK's QR behind the orthogonal
initialiser) round differently on different CPU kinds and thread counts. The committed fixtures
were made on the machine whose fingerprint `fixtures_machine.txt` holds. On that kind this prints
nothing. On another kind it makes every rl_games fixture afresh from rl_games itself (the venv's
rl-games 1.6.5, else bench/setup_rl_games.sh's), once per fingerprint and fixture inputs, under
~/.cache/rlhost/rl_games-fixtures/<key>/ (written to a temporary folder, renamed when complete), and
prints that folder: scripts/test.sh exports it as RLHOST_RL_GAMES_FIXTURES, which the tests
(`rlhost_sdk::testing::rl_games_fixture`) and the fixture scripts (fixture_out.py) read.

    python3 bench/ab/machine_fixtures.py              # the folder to use, or nothing
    python3 bench/ab/machine_fixtures.py --fingerprint
"""
import argparse
import glob
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COMMITTED = os.path.join(HERE, "fixtures_machine.txt")
# Flags that pick different kernels in oneDNN, MKL and ATen's dispatch.
ISA_FLAGS = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni",
             "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")
# The scripts that write the fixtures, each with its arguments (run with rl_games' python).
SCRIPTS = (
    ("seed_fixture.py",),
    ("lockstep_fixture.py",),
    ("rnn_fixture.py",),
    ("cv_fixture.py",),
    ("cv_fixture.py", "--variant", "rnn"),
    ("cnn_fixture.py",),
    ("camera_fixture.py",),
)
# What the fixtures are made from: a change in any of these makes a new cache entry.
INPUTS = ("bench/ab/*.py", "bench/ab/*.json", "bench/*.py", "configs/*.yaml",
          "model/tests/fixtures/*.json", "plugins/a2c_continuous/tests/fixtures/*.json")


def fingerprint():
    """One line naming what decides libtorch's CPU rounding here."""
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("vendor_id", "cpu family", "model", "flags") and key not in info:
                info[key] = value.strip()
    flags = set(info.get("flags", "").split())
    isa = "+".join(f for f in ISA_FLAGS if f in flags)
    return (f"{platform.machine()} {info.get('vendor_id', '?')} family {info.get('cpu family', '?')} "
            f"model {info.get('model', '?')} cpus {os.cpu_count()} isa {isa} torch 2.13.0 rl-games 1.6.5")


def inputs_digest():
    h = hashlib.sha256()
    for pattern in INPUTS:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            h.update(os.path.relpath(path, ROOT).encode())
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()[:16]


def rl_games_python():
    """This python when it has rl-games 1.6.5 (rlhost's venv pins it), else bench/setup_rl_games.sh's."""
    check = "from importlib.metadata import version; import rl_games, torch; assert version('rl-games') == '1.6.5'"
    if subprocess.run([sys.executable, "-c", check], stderr=subprocess.DEVNULL).returncode == 0:
        return sys.executable
    venv = subprocess.run(["bash", os.path.join(ROOT, "bench", "setup_rl_games.sh")], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    return os.path.join(venv, "bin", "python")


def make(folder):
    """Every fixture of SCRIPTS under `folder` (which must not exist yet), all or nothing."""
    python = rl_games_python()
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".making-", dir=os.path.dirname(folder))
    try:
        env = dict(os.environ, RLHOST_RL_GAMES_FIXTURES=tmp)
        for script, *args in SCRIPTS:
            print(f"machine_fixtures: {script} {' '.join(args)}".rstrip(), file=sys.stderr, flush=True)
            subprocess.run([python, os.path.join(HERE, script), *args], check=True, env=env,
                           stdout=subprocess.DEVNULL)
        with open(os.path.join(tmp, "fingerprint.txt"), "w") as f:
            f.write(fingerprint() + "\n")
        try:
            os.rename(tmp, folder)
        except OSError:
            if not os.path.isdir(folder):  # else a concurrent run made the same fixtures first
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fingerprint", action="store_true", help="print this machine's fingerprint and stop")
    ap.add_argument("--force", action="store_true", help="make the fixtures even on the committed kind")
    args = ap.parse_args()
    here = fingerprint()
    if args.fingerprint:
        print(here)
        return
    with open(COMMITTED) as f:
        committed = f.read().strip()
    if here == committed and not args.force:
        return
    key = hashlib.sha256(f"{here}\n{inputs_digest()}".encode()).hexdigest()[:16]
    cache = os.environ.get("RLHOST_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "rlhost")
    folder = os.path.join(cache, "rl_games-fixtures", key)
    if not os.path.isdir(folder):
        why = "asked to" if here == committed else f"this machine ({here}) is not the committed fixtures' ({committed})"
        print(f"machine_fixtures: {why}; making them from rl_games 1.6.5 into {folder} (a few minutes, once)",
              file=sys.stderr, flush=True)
        make(folder)
    print(folder)


if __name__ == "__main__":
    main()
