#!/usr/bin/env bash
# Exact branch and bound against the exact MILP on random graphs (docs/results.md):
#   bash bench/bnb_vs_milp.sh [time limit s, default 20]
# Prints a markdown table: per instance, each solver's status, makespan and seconds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-20}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "| instance | bnb | bnb s | milp | milp s |"
echo "|---|---|---|---|---|"
for n in 10 15 20 25 30; do
  for seed in 1 2; do
    g="$work/r$n-$seed.json"
    "$exe" gen random --nodes "$n" --edge-prob 0.15 --seed "$seed" -o "$g" >/dev/null
    row="| random N$n p0.15 s$seed"
    for s in bnb milp; do
      line="$("$exe" plan -g "$g" -s "$s" --time-limit "$limit" -o "$work/p.json" | grep -E "^$s ")"
      row="$row | $(echo "$line" | awk '{print $2, $3}') | $(echo "$line" | awk '{print $NF}')"
    done
    echo "$row |"
  done
done
