#!/usr/bin/env bash
# Where the gap is (issue 17): each model's modules solved exactly, long. Module splitting is
# exact on a latency plan (every path passes a split node, so the plan's makespan is the sum of
# its modules' and the DP over boundary devices is exact), so when every pinned module solve is
# proven the stitched plan is the whole graph's optimum, and when some are not, the DP over the
# module bounds (each the MILP's own bound on that module and boundary pair) still bounds it.
# Rising per-solve limits give best plan and best bound over time; the default `split` and
# `auto` runs give the plan and bound that users see. Their distance to the exact result says
# how much of the default gap is the plan, how much the bound.
#   bash bench/gap.sh [LIMITS (default "1 10 60")] [MODELS...] > docs/gap/exact_modules.md
# Each pinned solve is the branch and bound (bnb.hpp) with that many seconds and no other
# budget: proven, or its best plan and the bound of its bisection (pinned.cpp).
# MODELS default: GoogLeNet, Inception-v3, the bundled RWNN (WS, 32 x 3), and an RWNN of two
# 16-node stages (gen rwnn --nodes 16 --stages 2 --seed 1). One thread, cpu-2gpu, roofline.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${DIVIML:-$root/build/diviml}"
limits="${1:-1 10 60}"
shift || true
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  "$bin" gen rwnn --nodes 16 --stages 2 --seed 1 -o "$work/rwnn_ws_n16_s2.json" >/dev/null
  models=("$root/models/googlenet.json" "$root/models/inception_v3.json" "$root/models/rwnn_ws_n32_s3.json"
    "$work/rwnn_ws_n16_s2.json")
fi
row() {  # model label plan.json
  python3 - "$@" <<'PY'
import json, sys
name, label, path = sys.argv[1:]
p = json.load(open(path))
mods = p.get("modules") or []
proven = sum(1 for m in mods if m.get("proven"))
print(f"| {name} | {label} | {p['status']} | {p['makespan_us']:.1f} | {p['lower_bound_us']:.1f} | "
      f"{p['makespan_us'] / p['lower_bound_us']:.3f} | {p['solve_time_s']:.2f} | {proven} of {len(mods)} |")
PY
}
echo "| model | run | status | plan us | bound us | plan / bound | solve s | modules proven |"
echo "|---|---|---|---|---|---|---|---|"
for g in "${models[@]}"; do
  name="$(basename "$g" .json)"
  for s in split auto; do
    "$bin" plan -g "$g" -p cpu-2gpu -s "$s" --threads 1 -q -o "$work/p.json"
    row "$name" "$s (defaults)" "$work/p.json"
  done
  for l in $limits; do
    "$bin" plan -g "$g" -p cpu-2gpu -s split --threads 1 -q --exact-module-nodes 64 --module-time-limit "$l" \
      --module-bnb 1000000000 --module-milp 0 --time-limit 1000000 -o "$work/p.json"
    row "$name" "split, every module exact, $l s per pinned solve" "$work/p.json"
  done
done
