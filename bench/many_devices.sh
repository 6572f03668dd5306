#!/usr/bin/env bash
# Plans and bounds on many devices (issue 43; docs/results.md, "Many devices"): per bundled
# model, on cluster-3srv (9 devices) and six-srv (29), `auto` with one thread and LIMIT seconds
# for latency (makespan / lower bound) and throughput (period / lower bound), and the
# contiguous-split DP (`stages`, PipeDream/Tarnawski) where it runs (at most 10 devices).
#   bash bench/many_devices.sh [LIMIT (default 10)] [PLATFORMS (default "cluster-3srv six-srv")] [MODEL...]
# MODEL: a bundled model's name, `zoo` (every bundled model, the default), `rwnn-set` (the RWNN
# set of bench/branchy.sh: WS with N in {16, 32} nodes per stage, S in {1, 2, 4} stages, seeds
# 1-2, generated here) or one of its graphs (`rwnn-ws_N32_S4_s1`).
# Prints a markdown table per platform and, under it, the geometric means of plan/bound.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-10}"
platforms="${2:-cluster-3srv six-srv}"
shift $(( $# > 2 ? 2 : $# ))
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(zoo)
models=()
for m in "${names[@]}"; do
  case "$m" in
    zoo) for f in "$root"/models/*.json; do models+=("$(basename "$f" .json)"); done ;;
    rwnn-set) for st in 1 2 4; do for n in 16 32; do for s in 1 2; do models+=("rwnn-ws_N${n}_S${st}_s${s}"); done; done; done ;;
    *) models+=("$m") ;;
  esac
done
graph_of() {  # the graph file of a model name (an RWNN of the set is generated once)
  if [[ "$1" =~ ^rwnn-ws_N([0-9]+)_S([0-9]+)_s([0-9]+)$ ]]; then
    [ -f "$work/$1.json" ] || "$exe" gen rwnn --nodes "${BASH_REMATCH[1]}" --stages "${BASH_REMATCH[2]}" \
      --seed "${BASH_REMATCH[3]}" -o "$work/$1.json" >/dev/null
    echo "$work/$1.json"
  else
    echo "$root/models/$1.json"
  fi
}
field() { python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(p.get(sys.argv[2]) or 0)" "$@"; }
for p in $platforms; do
  echo
  echo "### $p ($limit s, one thread)"
  echo
  echo "| model | ops | latency plan us | bound us | plan/bound | throughput period us | bound us | period/bound | stages period us | period/stages |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  lat_ratios=() thr_ratios=()
  for m in "${models[@]}"; do
    g="$(graph_of "$m")"
    ops=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['nodes']))" "$g")
    "$exe" plan -g "$g" -p "$p" --time-limit "$limit" --threads 1 -q -o "$work/lat.json" 2>/dev/null || { echo "| $m | $ops | failed |"; continue; }
    "$exe" plan -g "$g" -p "$p" --objective throughput --time-limit "$limit" --threads 1 -q -o "$work/thr.json" 2>/dev/null || { echo "| $m | $ops | | | | failed |"; continue; }
    ms=$(field "$work/lat.json" makespan_us); lb=$(field "$work/lat.json" lower_bound_us)
    per=$(field "$work/thr.json" period_us); plb=$(field "$work/thr.json" lower_bound_us)
    st="-" rs="-"
    if "$exe" plan -g "$g" -p "$p" --objective throughput -s stages --time-limit "$limit" --threads 1 -q -o "$work/st.json" 2>/dev/null; then
      st=$(field "$work/st.json" period_us)
      rs=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.3f}')" "$per" "$st")
      st=$(python3 -c "import sys; print(f'{float(sys.argv[1]):.1f}')" "$st")
    fi
    read -r lr tr <<<"$(python3 -c "import sys; a=[float(x) for x in sys.argv[1:]]; print(f'{a[0]/a[1]:.3f} {a[2]/a[3]:.3f}')" "$ms" "$lb" "$per" "$plb")"
    lat_ratios+=("$lr") thr_ratios+=("$tr")
    printf '| %s | %s | %.1f | %.1f | %s | %.1f | %.1f | %s | %s | %s |\n' "$m" "$ops" "$ms" "$lb" "$lr" "$per" "$plb" "$tr" "$st" "$rs"
  done
  python3 -c "
import math, sys
def gm(xs): return math.exp(sum(math.log(float(x)) for x in xs) / len(xs)) if xs else float('nan')
n = int(sys.argv[1]); lat, thr = sys.argv[2:2 + n], sys.argv[2 + n:]
print(f'\nGeometric mean over {n} models: latency plan/bound {gm(lat):.3f}, throughput period/bound {gm(thr):.3f}')
" "${#lat_ratios[@]}" "${lat_ratios[@]}" "${thr_ratios[@]}"
done
