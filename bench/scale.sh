#!/usr/bin/env bash
# Scale (docs/results.md, "Scale"): graphs of 100 to 100k ops, per solver the wall time of the
# whole `diviml plan` process (reading and writing included), its solve_time_s, its peak memory
# (max RSS) and plan / bound, side by side in one run.
#   bash bench/scale.sh [TIME_LIMIT_S (default 60)] [SIZES (default "100 1000 10000 100000")]
#   FAMILIES="random rwnn chain gpt3" (the default: all) runs some of them.
# Families: random DAGs of average degree 3 (gen random, p = 3 / n), randomly wired networks of
# 10 stages of n / 10 nodes (gen rwnn, WS k=4 p=0.75; 4 channels at the first stage and a
# 1024-pixel input, so that the tenth stage still has an image and its weights fit), chains of
# Inception-like modules of width 4 (gen chain, 10 ops a module), all on cpu-2gpu; GPT-3 175B
# split per head (1, 10 and 96 layers; 96: 37,635 ops) on cluster-3srv. One thread per solve.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-60}"
sizes="${2:-100 1000 10000 100000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run_row() {  # family graph platform
  local family="$1" graph="$2" platform="$3" heft=""
  for s in fastest heft split auto; do
    local out="$work/plan.json" tm="$work/time.txt"
    if ! /usr/bin/time -f "%e %M" -o "$tm" "$exe" plan -g "$graph" -p "$platform" -s "$s" --time-limit "$limit" \
      -o "$out" -q 2>"$work/err.txt"; then
      echo "| $family | - | - | $s | error: $(head -c 120 "$work/err.txt") | | | | | |"
      continue
    fi
    python3 - "$family" "$graph" "$s" "$out" "$tm" "$work/heft.txt" <<'PY'
import json, sys
family, graph, solver, out, tm, heft_file = sys.argv[1:]
g = json.load(open(graph))
p = json.load(open(out))
wall, rss_kb = open(tm).read().split()[-2:]
ms, lb = p["makespan_us"], p["lower_bound_us"]
if solver == "heft":
    open(heft_file, "w").write(str(ms))
try:
    heft = float(open(heft_file).read())
    vs = f"{ms / heft:.4f}"
except (OSError, ValueError):
    vs = "-"
ratio = f"{ms / lb:.3f}" if lb > 0 else "-"
print(f"| {family} | {len(g['nodes'])} | {len(g['edges'])} | {solver} | {float(wall):.2f} | {p['solve_time_s']:.2f} "
      f"| {int(rss_kb) / 1024:.0f} | {ms:.1f} | {ratio} | {vs} | {p['status']} |")
PY
  done
  rm -f "$work/heft.txt"
}

families="${FAMILIES:-random rwnn chain gpt3}"
has() { [[ " $families " == *" $1 "* ]]; }
echo "| family | ops | edges | solver | wall s | solve_time_s | max RSS MB | makespan us | plan / bound | / heft | status |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
has random && for n in $sizes; do
  p=$(python3 -c "print(3 / $n)")
  "$exe" gen random --nodes "$n" --edge-prob "$p" --seed 1 -o "$work/random.json" >/dev/null
  run_row "random DAG" "$work/random.json" cpu-2gpu
done
has rwnn && for n in $sizes; do
  "$exe" gen rwnn --nodes $((n / 10)) --stages 10 --channels 4 --resolution 1024 --seed 1 -o "$work/rwnn.json" \
    >/dev/null
  run_row "RWNN" "$work/rwnn.json" cpu-2gpu
done
has chain && for n in $sizes; do
  "$exe" gen chain --modules $((n / 10)) --width 4 --seed 1 -o "$work/chain.json" >/dev/null
  run_row "chain of modules" "$work/chain.json" cpu-2gpu
done
has gpt3 && for layers in 1 10 96; do
  "$exe" gen transformer --layers "$layers" --d-model 12288 --heads 96 --seq 2048 --split-heads \
    -o "$work/gpt3.json" >/dev/null
  run_row "GPT-3 per head" "$work/gpt3.json" cluster-3srv
done
