#!/usr/bin/env bash
# Idempotent set-up for rlhost: PyTorch 2.13.0 (libtorch) and the pinned packages of
# scripts/python-requirements.txt in a venv cached under ~/.cache/rlhost,
# a release build of the whole workspace, and the built plugins linked into plugins/lib.
# A second run only checks and finishes in seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TORCH_VERSION=2.13.0
CACHE=${RLHOST_CACHE:-$HOME/.cache/rlhost}
VENV=$CACHE/venv-torch-$TORCH_VERSION

has_torch() {
  "$VENV/bin/python" - "$TORCH_VERSION" <<'PY' 2>/dev/null
import sys, torch
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] else 1)
PY
}

if ! has_torch; then
  echo "setup: installing torch==$TORCH_VERSION into $VENV (about 5 GB, once per machine)" >&2
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check torch=="$TORCH_VERSION"
  has_torch || { echo "setup: torch $TORCH_VERSION did not install into $VENV" >&2; exit 1; }
fi
# The pinned Python packages beside torch (Gymnasium, MuJoCo, maturin, onnxruntime).
REQUIREMENTS=$ROOT/scripts/python-requirements.txt
has_requirements() {
  "$VENV/bin/python" - "$REQUIREMENTS" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
wanted = [l.split("#")[0].strip() for l in open(sys.argv[1])]
try:
    ok = all(version(n) == v for n, v in (w.split("==") for w in wanted if w))
except PackageNotFoundError:
    ok = False
sys.exit(0 if ok else 1)
PY
}
if ! has_requirements; then
  echo "setup: installing the pinned Python packages of $REQUIREMENTS into $VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  has_requirements || { echo "setup: $REQUIREMENTS did not install into $VENV" >&2; exit 1; }
fi
ln -sfn "$VENV" "$ROOT/.venv"

export LIBTORCH_USE_PYTORCH=1
# pyo3 (the Python env plugin) builds against, and embeds, the venv's interpreter.
export PYO3_PYTHON="$ROOT/.venv/bin/python"
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
cargo build --release --workspace --quiet

# Discovery scans plugins/ and plugins/lib/: link the freshly built plugin libraries there.
mkdir -p plugins/lib
for lib in rlhost_classic_control rlhost_a2c_continuous rlhost_ppo_player rlhost_python_env_plugin rlhost_mujoco; do
  ln -sfn "$ROOT/target/release/lib$lib.so" "plugins/lib/lib$lib.so"
done

# The `rlhost` Python module (python/rlhost), importable from the venv: the built extension
# linked into the package folder and a .pth naming the folder (what `maturin develop` would do,
# without building twice).
ln -sfn "$ROOT/target/release/lib_rlhost.so" "$ROOT/python/rlhost/_rlhost.so"
SITE=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
[ "$(cat "$SITE/rlhost-dev.pth" 2>/dev/null)" = "$ROOT/python" ] || echo "$ROOT/python" > "$SITE/rlhost-dev.pth"

