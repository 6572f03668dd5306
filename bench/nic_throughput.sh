#!/usr/bin/env bash
# Throughput periods with each device's NIC share between servers (docs/cost-model.md, "Links
# between servers share each device's NIC"; docs/results.md, "Many devices, third round"). Per
# bundled model and platform, side by side in one run of one build:
#   - before: `auto` on the platform with "server_links": "dedicated" (every pair of devices its
#     own link, the model before the rule), its claimed period, and the period that plan has
#     when replayed with shared NICs (what a run would see: `validate` on the shared platform);
#   - after: `auto` on the platform as bundled (shared NICs): its period, bound and lanes.
#   bash bench/nic_throughput.sh [LIMIT (default 10)] [PLATFORMS (default "cluster-3srv six-srv")] [MODEL...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="${DIVIML:-$root/build/diviml}"
limit="${1:-10}"
platforms="${2:-cluster-3srv six-srv}"
shift $(( $# > 2 ? 2 : $# ))
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  for f in "$root"/models/*.json; do models+=("$(basename "$f" .json)"); done
fi
py=python3
field() { $py -c "import json,sys; p=json.load(open(sys.argv[1])); print(p.get(sys.argv[2]) or 0)" "$@"; }
for p in $platforms; do
  $py -c "import json,sys; p=json.load(open(sys.argv[1])); p['server_links']='dedicated'; p['name']+='-dedicated'; json.dump(p, open(sys.argv[2], 'w'))" \
    "$root/platforms/$p.json" "$work/dedicated.json"
  echo
  echo "### $p ($limit s, one thread)"
  echo
  echo "| model | before: claimed period us | before: replayed with shared NICs us | claimed / replayed | after: period us | bound us | period / bound | lanes | after / before replayed |"
  echo "|---|---|---|---|---|---|---|---|---|"
  ratios=() gains=()
  for m in "${models[@]}"; do
    g="$root/models/$m.json"
    "$exe" plan -g "$g" -p "$work/dedicated.json" --objective throughput --time-limit "$limit" --threads 1 -q \
      -o "$work/before.json" 2>/dev/null || { echo "| $m | failed |"; continue; }
    claimed=$(field "$work/before.json" period_us)
    # The validator replays the plan on the shared platform and names the period it finds.
    seen=$({ "$exe" validate -g "$g" -p "$root/platforms/$p.json" --objective throughput "$work/before.json" 2>&1 || true; } |
      $py -c "import re,sys; t=sys.stdin.read(); m=re.search(r'differs from the plan.s steady state ([0-9.e+]+)', t); print(m.group(1) if m else sys.argv[1])" "$claimed")
    "$exe" plan -g "$g" -p "$p" --objective throughput --time-limit "$limit" --threads 1 -q \
      -o "$work/after.json" 2>/dev/null || { echo "| $m | $claimed | $seen | | failed |"; continue; }
    per=$(field "$work/after.json" period_us); lb=$(field "$work/after.json" lower_bound_us)
    lanes=$(field "$work/after.json" lanes)
    read -r row r gn <<<"$($py -c "
import sys
c, s, p, b = (float(x) for x in sys.argv[1:5])
print(f'{c:.1f}|{s:.1f}|{c / s:.3f}|{p:.1f}|{b:.1f}|{p / b:.3f}', f'{p / b:.4f}', f'{p / s:.4f}')" "$claimed" "$seen" "$per" "$lb")"
    echo "| $m | ${row//|/ | } | $lanes | $gn |"
    ratios+=("$r") gains+=("$gn")
  done
  $py -c "
import math, sys
a = [float(x) for x in sys.argv[2:]]
n = len(a) // 2
gm = lambda v: math.exp(sum(map(math.log, v)) / len(v)) if v else float('nan')
print(f'\n{sys.argv[1]}: geometric mean of period / bound {gm(a[:n]):.3f}, of after / before replayed {gm(a[n:]):.3f} ({n} models)')" \
    "$p" "${ratios[@]}" "${gains[@]}"
done
