#!/usr/bin/env bash
# The exact MILP run long on one model, its best plan and best bound over time (issue 17, "find
# where the gap is"): CBC's own progress lines (integer solutions found, node reports) as CSV.
#   bash bench/milp_long.sh MODEL.json [PLATFORM (default cpu-2gpu)] [SECONDS (default 3600)] > OUT.csv
# Columns: seconds, best plan (us), best bound (us), CBC's event. The last row is the plan
# command's own result (replayed makespan and reported bound).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
graph="$1"
platform="${2:-cpu-2gpu}"
seconds="${3:-3600}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$root/build/diviml" plan -g "$graph" -p "$platform" -s milp --time-limit "$seconds" --threads 1 -v \
  -o "$work/plan.json" >"$work/log.txt" 2>"$work/err.txt" || true
python3 - "$work/log.txt" "$work/plan.json" <<'PY'
import json, re, sys
log, plan = sys.argv[1:]
print("seconds,best_plan_us,best_bound_us,event")
best, bound = None, None
for line in open(log, errors="replace"):
    m = re.search(r"Cbc0012I Integer solution of ([0-9.e+-]+) .*\(([0-9.]+) seconds\)", line)
    if m:
        best = float(m.group(1))
        print(f"{float(m.group(2))},{best},{'' if bound is None else bound},integer solution")
        continue
    m = re.search(r"Cbc0010I After (\d+) nodes, (\d+) on tree, ([0-9.e+-]+) best solution, best possible ([0-9.e+-]+) \(([0-9.]+) seconds\)", line)
    if m:
        best, bound = float(m.group(3)), float(m.group(4))
        print(f"{float(m.group(5))},{best},{bound},after {m.group(1)} nodes ({m.group(2)} on tree)")
        continue
    m = re.search(r"Cbc0013I At root node, .* to ([0-9.e+-]+) in", line)
    if m:
        bound = float(m.group(1))
try:
    p = json.load(open(plan))
    print(f"{p['solve_time_s']},{p['makespan_us']},{p['lower_bound_us']},plan command result ({p['status']})")
except (OSError, ValueError, KeyError):
    print(",,,no plan written")
PY
