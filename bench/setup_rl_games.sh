#!/usr/bin/env bash
# Idempotent set-up for the rl_games side of the benchmark: a venv cached under ~/.cache/rlhost with
# torch==2.13.0 and rl-games==1.6.5 (plus its own PyPI requirements: gymnasium, tensorboard,
# tensorboardX, pyyaml, psutil, setproctitle, watchdog), and gymnasium==1.4.0 with mujoco==3.17.0,
# the versions rlhost's venv has, so `gym:<id>` configs (bench/rl_games_gym.py) step the same envs,
# and envpool==1.2.5 for bench/mujoco_train.py (rl_games' `envpool` env). A second run only checks and finishes in
# about a second. rl-games itself is not patched on disk: the few run-time fixes it needs are
# monkeypatches in bench/rl_games_pendulum.py.
set -euo pipefail
TORCH_VERSION=2.13.0
RL_GAMES_VERSION=1.6.5
GYMNASIUM_VERSION=1.4.0
MUJOCO_VERSION=3.17.0
ENVPOOL_VERSION=1.2.5
IMAGEIO_VERSION=2.38.2  # gymnasium.envs.mujoco imports it; the version scripts/python-requirements.txt pins
CACHE=${RLHOST_CACHE:-$HOME/.cache/rlhost}
VENV=$CACHE/venv-rlgames-$RL_GAMES_VERSION

has_all() {
  "$VENV/bin/python" - "$TORCH_VERSION" "$RL_GAMES_VERSION" "$GYMNASIUM_VERSION" "$MUJOCO_VERSION" "$ENVPOOL_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
import torch, yaml, gymnasium, mujoco, imageio, tensorboardX  # noqa: F401  (import check)
ok = (torch.__version__.split("+")[0] == sys.argv[1] and version("rl-games") == sys.argv[2]
      and gymnasium.__version__ == sys.argv[3] and mujoco.__version__ == sys.argv[4]
      and version("envpool") == sys.argv[5])
sys.exit(0 if ok else 1)
PY
}

if ! has_all; then
  echo "setup_rl_games: installing torch==$TORCH_VERSION, rl-games==$RL_GAMES_VERSION, gymnasium==$GYMNASIUM_VERSION and mujoco==$MUJOCO_VERSION into $VENV" >&2
  mkdir -p "$CACHE"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    torch=="$TORCH_VERSION" rl-games=="$RL_GAMES_VERSION" "gymnasium[classic-control]==$GYMNASIUM_VERSION" \
    mujoco=="$MUJOCO_VERSION" imageio=="$IMAGEIO_VERSION" envpool=="$ENVPOOL_VERSION" pyyaml tensorboard tensorboardX
  has_all || { echo "setup_rl_games: the install into $VENV did not pass its check" >&2; exit 1; }
fi
echo "$VENV"
