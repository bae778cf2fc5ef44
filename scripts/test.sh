#!/usr/bin/env bash
# Runs every test: set-up (idempotent), then the whole workspace's tests in release mode.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh"
export LIBTORCH_USE_PYTORCH=1
export PYO3_PYTHON="$ROOT/.venv/bin/python"
export PATH="$ROOT/.venv/bin:$PATH"
cd "$ROOT"
# The same-seed tests are bit-exact against rl_games; on a CPU kind other than the committed
# fixtures' one, rl_games makes them afresh here (once per kind, cached).
FIXTURES=$(python3 "$ROOT/bench/ab/machine_fixtures.py")
if [ -n "$FIXTURES" ]; then
  export RLHOST_RL_GAMES_FIXTURES="$FIXTURES"
  echo "test: rl_games fixtures of this CPU kind: $FIXTURES" >&2
fi
cargo test --release --workspace "$@"
