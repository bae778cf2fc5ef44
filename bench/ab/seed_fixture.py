#!/usr/bin/env python3
"""Writes the same-seed fixture of plugins/a2c_continuous/tests/same_seed_as_rl_games.rs: rl_games
1.6.5's initial weights and its state after epochs 1 and 2 on configs/pendulum_ppo.yaml (seed 42, env
rng rlhost, i.e. the same Pendulum start states as rlhost's), taken from dump_rlgames.py's dumps.

    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/ab/seed_fixture.py
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from fixture_out import out_path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, os.path.join(HERE, "dump_rlgames.py"), "--seed", "42", "--out", tmp,
             "--epochs-to-dump", "1,2", "--env-rng", "rlhost"],
            check=True, stdout=subprocess.DEVNULL,
        )
        keep = {}
        for epoch in (1, 2):
            d = np.load(os.path.join(tmp, f"ep{epoch}.npz"))
            for k in d.files:
                if epoch == 1 and k.startswith("pre.a2c_network."):
                    keep["init." + k[len("pre."):]] = d[k]
                elif k.startswith("post.") and not k.startswith("post_"):
                    keep[f"epoch{epoch}." + k[len("post."):]] = d[k]
        out = out_path("plugins/a2c_continuous/tests/fixtures/rl_games_1.6.5_pendulum_seed42.npz")
        np.savez(out, **keep)
    print(f"wrote {out} ({len(keep)} arrays)")


if __name__ == "__main__":
    main()
