#!/usr/bin/env bash
# How well every solver keeps --time-limit (docs/results.md, "Time limits"): the wall time of
# the whole `plan` command (reading and writing files included) against the limit, on graphs
# the solvers cannot finish, on the default platform and on a 64-device one.
#   bash bench/time_limits.sh [LIMITS (default "1 3 10")] [OBJECTIVES (default "latency throughput")]
# Prints a markdown table: per graph, platform and limit, each solver's solve_time_s (from the
# plan: everything between reading the files and writing the plan, the span the limit promises)
# with its overrun in percent of the limit, and the wall time of the whole command; then the
# same for the throughput objective's solvers (`stages` runs on at most 10 devices).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limits="${1:-1 3 10}"
objectives="${2:-latency throughput}"
solvers=(auto split milp bnb heft)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$exe" gen random --nodes 300 --edge-prob 0.02 --seed 3 -o "$work/random300.json" >/dev/null
"$exe" gen rwnn --nodes 32 --stages 3 --seed 1 -o "$work/rwnn32x3.json" >/dev/null
# table OBJECTIVE SOLVER...: one markdown table, per graph, platform and limit.
table() {
  local objective="$1"
  shift
  local header="| graph | platform | limit s |" rule="|---|---|---|" s p pf g limit row t0 t1 solve
  local prefix=""
  [ "$objective" = latency ] || prefix="$objective "
  for s in "$@"; do header="$header $prefix$s: solve s (over), wall s |"; rule="$rule---|"; done
  echo "$header"
  echo "$rule"
  for g in random300 rwnn32x3; do
    for p in cpu-2gpu wide64; do
      pf="$p"
      [ "$p" = wide64 ] && pf="$root/tests/data/wide64.platform.json"
      for limit in $limits; do
        row="| $g | $p | $limit |"
        for s in "$@"; do
          # stages' DP is exponential in the devices: it refuses more than 10.
          if [ "$s" = stages ] && [ "$p" = wide64 ]; then row="$row n/a (64 devices) |"; continue; fi
          t0=$(date +%s.%N)
          "$exe" plan -g "$work/$g.json" -p "$pf" -s "$s" --objective "$objective" --time-limit "$limit" -q \
            -o "$work/p.json"
          t1=$(date +%s.%N)
          solve=$(grep -o '"solve_time_s": [0-9.e+-]*' "$work/p.json" | awk '{print $2}')
          row="$row $(awk -v a="$t0" -v b="$t1" -v l="$limit" -v s="$solve" 'BEGIN { o = (s - l) / l * 100; printf "%.2f (%+.0f%%), %.2f", s, o, b - a }') |"
        done
        echo "$row"
      done
    done
  done
}
if [[ " $objectives " == *" latency "* ]]; then
  table latency "${solvers[@]}"
fi
if [[ " $objectives " == *" throughput "* ]]; then
  echo
  table throughput auto replicas stages balance split milp
fi
