#!/usr/bin/env bash
# Plans and bounds on many devices (issue 43; docs/results.md, "Many devices"): per bundled
# model, on cluster-3srv (9 devices) and six-srv (29), `auto` with one thread and LIMIT seconds
# for latency (makespan / lower bound) and throughput (period / lower bound), and the
# contiguous-split DP (`stages`, PipeDream/Tarnawski) where it runs (at most 10 devices).
#   bash bench/many_devices.sh [LIMIT (default 10)] [PLATFORMS (default "cluster-3srv six-srv")] [MODEL...]
# Prints a markdown table per platform and, under it, the geometric means of plan/bound.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-10}"
platforms="${2:-cluster-3srv six-srv}"
shift $(( $# > 2 ? 2 : $# ))
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  for f in "$root"/models/*.json; do models+=("$(basename "$f" .json)"); done
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
field() { /usr/bin/python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(p.get(sys.argv[2]) or 0)" "$@"; }
for p in $platforms; do
  echo
  echo "### $p ($limit s, one thread)"
  echo
  echo "| model | ops | latency plan us | bound us | plan/bound | throughput period us | bound us | period/bound | stages period us | period/stages |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  lat_ratios=() thr_ratios=()
  for m in "${models[@]}"; do
    g="$root/models/$m.json"
    ops=$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['nodes']))" "$g")
    "$exe" plan -g "$g" -p "$p" --time-limit "$limit" --threads 1 -q -o "$work/lat.json" 2>/dev/null || { echo "| $m | $ops | failed |"; continue; }
    "$exe" plan -g "$g" -p "$p" --objective throughput --time-limit "$limit" --threads 1 -q -o "$work/thr.json" 2>/dev/null || { echo "| $m | $ops | | | | failed |"; continue; }
    ms=$(field "$work/lat.json" makespan_us); lb=$(field "$work/lat.json" lower_bound_us)
    per=$(field "$work/thr.json" period_us); plb=$(field "$work/thr.json" lower_bound_us)
    st="-" rs="-"
    if "$exe" plan -g "$g" -p "$p" --objective throughput -s stages --time-limit "$limit" --threads 1 -q -o "$work/st.json" 2>/dev/null; then
      st=$(field "$work/st.json" period_us)
      rs=$(/usr/bin/python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.3f}')" "$per" "$st")
      st=$(/usr/bin/python3 -c "import sys; print(f'{float(sys.argv[1]):.1f}')" "$st")
    fi
    read -r lr tr <<<"$(/usr/bin/python3 -c "import sys; a=[float(x) for x in sys.argv[1:]]; print(f'{a[0]/a[1]:.3f} {a[2]/a[3]:.3f}')" "$ms" "$lb" "$per" "$plb")"
    lat_ratios+=("$lr") thr_ratios+=("$tr")
    printf '| %s | %s | %.1f | %.1f | %s | %.1f | %.1f | %s | %s | %s |\n' "$m" "$ops" "$ms" "$lb" "$lr" "$per" "$plb" "$tr" "$st" "$rs"
  done
  /usr/bin/python3 -c "
import math, sys
def gm(xs): return math.exp(sum(math.log(float(x)) for x in xs) / len(xs)) if xs else float('nan')
n = int(sys.argv[1]); lat, thr = sys.argv[2:2 + n], sys.argv[2 + n:]
print(f'\nGeometric mean over {n} models: latency plan/bound {gm(lat):.3f}, throughput period/bound {gm(thr):.3f}')
" "${#lat_ratios[@]}" "${lat_ratios[@]}" "${thr_ratios[@]}"
done
