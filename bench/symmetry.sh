#!/usr/bin/env bash
# Symmetry between identical devices (docs/results.md, "Symmetry"): per graph, platform and
# exact solver, the plan, bound and solve time with each --symmetry ordering, side by side in
# one run. Platforms with identical devices: cluster-3srv (three pairs of twin GPUs), six-srv
# (classes of 4, 4, 4, 4, 8 and 4 GPUs).
#   bash bench/symmetry.sh [TIME_LIMIT_S (default 20)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-20}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for s in 1 2; do
  "$exe" gen random --nodes 20 --seed "$s" -o "$work/random20_s$s.json" >/dev/null
  "$exe" gen rwnn --nodes 10 --stages 1 --seed "$s" -o "$work/rwnn_n10_s$s.json" >/dev/null
done
cp "$root/models/googlenet.json" "$root/models/inception_v3.json" "$work/"
echo "| graph | platform | solver | none: ms, plan, status | inputs | ops | busy |"
echo "|---|---|---|---|---|---|---|"
run() {  # graph platform solver
  local row="| $(basename "$1" .json) | $2 | $3 |"
  for sym in none inputs ops busy; do
    if "$exe" plan -g "$1" -p "$2" --solver "$3" --symmetry "$sym" --time-limit "$limit" -o "$work/p.json" -q \
        2>"$work/err"; then
      row+=" $(python3 -c "
import json, sys
p = json.load(open(sys.argv[1]))
print(f\"{1e3 * p['solve_time_s']:.0f} ms, {p['makespan_us']:.1f} us, {p['status']} |\")" "$work/p.json")"
    else
      row+=" $(head -c 80 "$work/err" | tr '\n|' ' /') |"
    fi
  done
  echo "$row"
}
# The exact solvers on graphs they can finish, on cluster-3srv (9 devices); split on the
# branchy models, on both platforms (six-srv: 29 devices, 841 boundary pairs per module).
for g in "$work"/random20_s*.json "$work"/rwnn_n10_s*.json; do
  for s in milp bnb; do run "$g" cluster-3srv "$s"; done
done
for p in cluster-3srv "$root/platforms/six-srv.json"; do
  for g in "$work"/googlenet.json "$work"/inception_v3.json; do
    run "$g" "$p" split | sed "s|$root/platforms/six-srv.json|six-srv|"
  done
done
