#!/usr/bin/env bash
# Runs every test: set-up (idempotent), then the whole workspace's tests in release mode.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh"
export LIBTORCH_USE_PYTORCH=1
export PYO3_PYTHON="$ROOT/.venv/bin/python"
export PATH="$ROOT/.venv/bin:$PATH"
cd "$ROOT"
cargo test --release --workspace "$@"
