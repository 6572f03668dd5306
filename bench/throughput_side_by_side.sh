#!/usr/bin/env bash
# Throughput plans of two builds side by side: per bundled model and platform, `auto` (LIMIT s,
# one thread) of the binary OLD and of this build's, run at the same time (one per core, so both
# see the same machine), with the new plan's bound; Markdown tables and geometric means.
#   OLD=/path/to/old/diviml bash bench/throughput_side_by_side.sh [LIMIT (10)] [PLATFORMS ("six-srv cluster-3srv")]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
old="${OLD:?OLD=path of the diviml binary to compare against}"
new="${DIVIML:-$root/build/diviml}"
limit="${1:-10}"
platforms="${2:-six-srv cluster-3srv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for p in $platforms; do
  echo
  echo "### $p ($limit s, one thread)"
  echo
  echo "| model | before: period us | after: period us | bound us | before / bound | after / bound | after / before |"
  echo "|---|---|---|---|---|---|---|"
  for f in "$root"/models/*.json; do
    m="$(basename "$f" .json)"
    "$old" plan -g "$f" -p "$p" --objective throughput --time-limit "$limit" --threads 1 -q -o "$work/old.json" &
    "$new" plan -g "$f" -p "$p" --objective throughput --time-limit "$limit" --threads 1 -q -o "$work/new.json"
    wait
    python3 - "$m" "$work/old.json" "$work/new.json" >>"$work/$p.rows" <<'PY'
import json, sys
o, n = (json.load(open(x)) for x in sys.argv[2:4])
print(sys.argv[1], o["period_us"], n["period_us"], n["lower_bound_us"])
PY
    tail -n 1 "$work/$p.rows" | python3 -c "
import sys; m, o, n, b = sys.stdin.read().split(); o, n, b = float(o), float(n), float(b)
print(f'| {m} | {o:.1f} | {n:.1f} | {b:.1f} | {o / b:.3f} | {n / b:.3f} | {n / o:.3f} |')"
  done
  python3 - "$work/$p.rows" "$p" <<'PY'
import math, sys
rows = [l.split() for l in open(sys.argv[1])]
g = lambda i, j: math.exp(sum(math.log(float(r[i]) / float(r[j])) for r in rows) / len(rows))
print(f"\n{sys.argv[2]}: geometric mean of period / bound {g(1, 3):.3f} before, {g(2, 3):.3f} after; "
      f"after / before {g(2, 1):.3f} ({len(rows)} models)")
PY
done
