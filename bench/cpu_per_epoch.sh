#!/bin/bash
# CPU seconds (user + sys, all threads) and minor page faults per training epoch at one torch
# thread, for rlhost binaries and rl_games 1.6.5 on one config: each program trains E1 and then E2
# epochs and the figures are (E2 run - E1 run) / (E2 - E1), so start-up cancels. One thread keeps
# OpenMP's spin-waiting out of the CPU time, which makes the figure usable on a loaded machine.
#
#   bench/cpu_per_epoch.sh [CONFIG]      # env: E1=4 E2=12 ROUNDS=2 BEFORE=/path/to/old/rlhost
#
# Programs (PROGS, in this order per round): before (BEFORE's binary), after (target/release/rlhost),
# after_exact (the same with params.config.arithmetic=rl_games), rl_games. Each rlhost binary gets
# its own plugin scan cache, so no run re-probes the plugins (a cache written by another build is
# ignored). Prints one line per program: CPU s/epoch and page faults/epoch per round.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=${WORK:-/tmp/rlhost-cpu-per-epoch}
mkdir -p "$WORK"
CFG=$WORK/config_1thread.yaml
sed -E 's/torch_threads: [0-9]+/torch_threads: 1/' "${1:-configs/pendulum_isaaclab_sized_ppo.yaml}" > "$CFG"
E1=${E1:-4}; E2=${E2:-12}; ROUNDS=${ROUNDS:-2}
PROGS=${PROGS:-"before after after_exact rl_games"}
PY=${RL_GAMES_PYTHON:-$HOME/.cache/rlhost/venv-rlgames-1.6.5/bin/python}
measure() { # program epochs -> "user sys minflt" (runs in a subshell: the name must be unique by itself)
  local exp="cpe_$$_${1}_${2}_$(date +%s%N)" bin="target/release/rlhost" extra=()
  case $1 in
    before) bin=${BEFORE:?BEFORE=/path/to/the/old/rlhost} ;;
    after_exact) extra=(params.config.arithmetic=rl_games) ;;
  esac
  local out=$WORK/$exp.time
  if [ "$1" = rl_games ]; then
    /usr/bin/time -o "$out" -f "%U %S %R" "$PY" bench/rl_games_pendulum.py --config "$CFG" --seed 42 \
      --experiment "$exp" --epochs "$2" --train-dir "$WORK/runs" > "$WORK/$exp.log" 2>&1
  else
    RLHOST_PLUGIN_CACHE=$WORK/scan_$1.json /usr/bin/time -o "$out" -f "%U %S %R" "$bin" train \
      --plugin-dir plugins --config "$CFG" --max-iterations "$2" --experiment "$exp" "${extra[@]}" \
      > "$WORK/$exp.log" 2>&1
  fi
  tail -1 "$out"
}
for p in $PROGS; do [ "$p" = rl_games ] || measure "$p" 1 > /dev/null; done  # fill the scan caches
for r in $(seq "$ROUNDS"); do
  for p in $PROGS; do
    read -r u1 s1 f1 < <(measure "$p" "$E1")
    read -r u2 s2 f2 < <(measure "$p" "$E2")
    awk -v p="$p" -v r="$r" -v d=$((E2 - E1)) -v u1="$u1" -v s1="$s1" -v f1="$f1" -v u2="$u2" -v s2="$s2" -v f2="$f2" \
      'BEGIN { printf "round %d %-12s %.3f CPU s/epoch (sys %.3f)  %8.0f page faults/epoch\n", r, p, (u2+s2-u1-s1)/d, (s2-s1)/d, (f2-f1)/d }'
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
