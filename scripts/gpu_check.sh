#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: runs every CUDA path of rlhost once and a 4096-env benchmark side
# by side with rl_games 1.6.5, then prints a verdict (one line per check, then PASS or FAIL).
#
#   scripts/gpu_check.sh [--epochs N] [--device cuda:K]   # 40 epochs per program in the benchmark, cuda:0
#   scripts/gpu_check.sh --epochs 2 --device cpu            # a dry run of the script itself, on the CPU
#
# Set-up first (scripts/setup.sh and bench/setup_rl_games.sh, both idempotent and cached). After
# that the checks take about 5 minutes: the CUDA-branch tests (RLHOST_REQUIRE_CUDA=1 turns their
# "skipped: no CUDA" into a failure; a2c_continuous' tests/mixed_precision.rs trains and resumes in
# mixed precision), training, resume (also with mixed_precision), play and export on cuda:0, the
# Python torch env on cuda:0, and the benchmark. Logs: /tmp/rlhost-gpu-check/. Exit status 0 only if all pass.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EPOCHS=40
DEVICE=cuda:0
while [ $# -gt 0 ]; do
  case $1 in
    --epochs) EPOCHS=${2:?--epochs needs a number}; shift 2 ;;
    --device) DEVICE=${2:?--device needs a device}; shift 2 ;;
    *) echo "gpu_check: unknown argument $1 (expected --epochs N, --device DEV)"; exit 2 ;;
  esac
done
LOGS=/tmp/rlhost-gpu-check
rm -rf "$LOGS" && mkdir -p "$LOGS"

"$ROOT/scripts/setup.sh" >"$LOGS/setup.log" 2>&1 || { echo "gpu_check: scripts/setup.sh failed (log $LOGS/setup.log)"; exit 1; }
export LIBTORCH_USE_PYTORCH=1 PYO3_PYTHON="$ROOT/.venv/bin/python" PATH="$ROOT/.venv/bin:$PATH"
cd "$ROOT"
if [ "$DEVICE" = cpu ]; then
  GPU="the CPU (dry run)"
else
  export RLHOST_REQUIRE_CUDA=1
  if ! python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: torch in .venv sees no CUDA device (nvidia-smi: $(nvidia-smi -L 2>&1 | head -1)); nothing to check"
    exit 2
  fi
  GPU=$(python -c 'import torch; print(torch.cuda.get_device_name(0))')
fi
RESULTS=()
FAILED=0

check() {  # check NAME COMMAND...: runs it, logs to $LOGS/NAME.log, records ok/FAIL with the time
  local name=$1 start=$SECONDS
  shift
  if "$@" >"$LOGS/$name.log" 2>&1; then
    RESULTS+=("ok    $name ($((SECONDS - start)) s)")
  else
    RESULTS+=("FAIL  $name ($((SECONDS - start)) s, log $LOGS/$name.log)")
    FAILED=1
  fi
}

RUNS=$LOGS/runs
train() { target/release/rlhost train --plugin-dir plugins --device "$DEVICE" "$@"; }
newest() { ls -t "$RUNS/$1"/nn/*.safetensors 2>/dev/null | head -1; }  # the run's newest checkpoint

check cuda-tests cargo test --release -p rlhost-torch-shim -p rlhost-plugin-ppo-player -p rlhost-plugin-classic-control \
  -p rlhost-python-env -p rlhost-plugin-a2c-continuous
check train-pendulum train --config configs/pendulum_ppo.yaml --max-iterations 20 --experiment cuda_pendulum \
  params.config.train_dir="$RUNS"
check resume-pendulum train --config configs/pendulum_ppo.yaml --max-iterations 25 --experiment cuda_pendulum_resumed \
  --checkpoint "$(newest cuda_pendulum)" params.config.train_dir="$RUNS"
check train-rl-games-arithmetic train --config configs/pendulum_ppo.yaml --max-iterations 5 --experiment cuda_exact \
  params.config.arithmetic=rl_games params.config.train_dir="$RUNS"
# mixed_precision (bf16 autocast + GradScaler; the critic under float16 autocast), then a resume that
# restores the scaler (scaler.scale, scaler._growth_tracker in the checkpoint).
check train-mixed-precision train --config configs/pendulum_central_value_ppo.yaml --max-iterations 10 \
  --experiment cuda_mixed params.config.mixed_precision=true params.config.central_value_config.mixed_precision=true \
  params.config.train_dir="$RUNS"
check resume-mixed-precision train --config configs/pendulum_central_value_ppo.yaml --max-iterations 15 \
  --experiment cuda_mixed_resumed --checkpoint "$(newest cuda_mixed)" params.config.mixed_precision=true \
  params.config.central_value_config.mixed_precision=true params.config.train_dir="$RUNS"
check train-central-value train --config configs/pendulum_central_value_ppo.yaml --max-iterations 10 \
  --experiment cuda_cv params.config.train_dir="$RUNS"
check play-pendulum target/release/rlhost play --plugin-dir plugins --device "$DEVICE" --config configs/pendulum_ppo.yaml \
  --checkpoint "$(newest cuda_pendulum)" --games 8
check export-pendulum target/release/rlhost export --plugin-dir plugins --device "$DEVICE" --config configs/pendulum_ppo.yaml \
  --checkpoint "$(newest cuda_pendulum)" --output "$LOGS/pendulum.onnx" --force
check python-torch-env train --config tests/python/isaac_style_ppo.yaml --max-iterations 5 --experiment cuda_py \
  params.config.train_dir="$RUNS"

# Two ranks on NCCL (one GPU each) when there are two GPUs; with one, the shim's one-rank NCCL test
# in cuda-tests is the NCCL check (NCCL refuses two ranks on one GPU).
if [ "$(python -c 'import torch; print(torch.cuda.device_count())')" -ge 2 ] && [ "$DEVICE" != cpu ]; then
  check multi-gpu-nccl torchrun --no-python --nproc_per_node=2 target/release/rlhost train --plugin-dir plugins \
    --config configs/pendulum_ppo.yaml --max-iterations 10 --experiment cuda_ddp params.config.multi_gpu=True \
    params.config.multi_gpu_check_sync=True params.config.train_dir="$RUNS"
fi

# 4096 Pendulum envs on the device, the same YAML for both programs.
python - "$LOGS/pendulum_4096.yaml" "$DEVICE" <<'PY'
import sys, yaml
cfg = yaml.safe_load(open("configs/pendulum_ppo.yaml"))
c = cfg["params"]["config"]
c.update(num_actors=4096, horizon_length=16, minibatch_size=16384, device=sys.argv[2])
yaml.safe_dump(cfg, open(sys.argv[1], "w"))
PY
check bench-4096-vs-rl-games python bench/side_by_side.py --config "$LOGS/pendulum_4096.yaml" --seeds 42 \
  --epochs "$EPOCHS" --skip-setup --max-busy 99 --retries 0 --max-foreign 99 --json "$LOGS/bench.json" \
  --work-dir "$LOGS/bench"

echo "rlhost GPU check on $GPU ($(git rev-parse --short HEAD)):"
printf '  %s\n' "${RESULTS[@]}"
if [ -f "$LOGS/bench.json" ]; then
  python - "$LOGS/bench.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
t = s["train_fps"]
print(f"  4096 envs: train FPS rlhost {t['rlhost_mean']:,.0f} vs rl_games 1.6.5 {t['rl_games_mean']:,.0f} "
      f"({t['ratio_of_means']:.2f}x); final return {s['final_mean_return']['rlhost_mean']:.1f} vs "
      f"{s['final_mean_return']['rl_games_mean']:.1f}")
PY
fi
if [ "$FAILED" = 0 ]; then echo "verdict: PASS"; else echo "verdict: FAIL"; fi
exit "$FAILED"
