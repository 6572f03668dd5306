#!/usr/bin/env bash
# Latency plans and bounds of GPT-3 175B where memory decides (issue 43; docs/results.md, "Many
# devices"): the prefill of a 2,048-token prompt (per layer, and one branch per attention head)
# and one decode step over a 2,048-token cache, on six-srv and cluster-3srv, `auto` with
# LIMIT seconds (default 60) and the default threads: makespan, lower bound, gap, solve time.
#   bash bench/memory_bounds.sh [LIMIT]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-60}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gpt3=(--layers 96 --d-model 12288 --heads 96 --vocab 50257 --bytes-per-value 2)
"$exe" gen transformer "${gpt3[@]}" --seq 2048 -o "$work/prefill.json" >/dev/null
"$exe" gen transformer "${gpt3[@]}" --seq 2048 --split-heads -o "$work/prefill-per-head.json" >/dev/null
"$exe" gen transformer "${gpt3[@]}" --seq 1 --context 2048 -o "$work/decode.json" >/dev/null
field() { python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(p.get(sys.argv[2]) or 0)" "$@"; }
echo "| graph | ops | platform | makespan ms | bound ms | gap | solve s |"
echo "|---|---|---|---|---|---|---|"
for g in prefill prefill-per-head decode; do
  ops=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['nodes']))" "$work/$g.json")
  for p in six-srv cluster-3srv; do
    if ! "$exe" plan -g "$work/$g.json" -p "$p" --time-limit "$limit" -q -o "$work/plan.json" 2>"$work/err"; then
      echo "| $g | $ops | $p | no plan: $(head -c 160 "$work/err" | tr '\n|' ' /') | | | |"
      continue
    fi
    python3 -c "
import json, sys
p = json.load(open(sys.argv[1]))
m, b = p['makespan_us'], p['lower_bound_us']
print(f'| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {m / 1e3:.1f} | {b / 1e3:.1f} | {100 * (m - b) / m:.1f}% | {p[\"solve_time_s\"]:.1f} |')
" "$work/plan.json" "$g" "$ops" "$p"
  done
done
