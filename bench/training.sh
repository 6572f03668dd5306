#!/usr/bin/env bash
# The training comparison of docs/results.md ("Training"): the partitioners of the field
# (metis, comm-greedy) against DiviML's solvers on one training step of ResNet-50, a BERT-base
# encoder, GPT-2 small and an RWNN, for latency (one synchronous step) and period (a pipeline
# of steps), side by side in one run; then runtime rebalancing under drift.
#   bash bench/training.sh [LIMIT_S] [PLATFORM ...]   (defaults: 20 s, cpu-2gpu cluster-3srv)
# Graphs: models/training/ (bash bench/export_training.sh makes them). Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-20}
shift || true
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=(cpu-2gpu cluster-3srv)
bin=build/diviml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
read -r -a models <<<"${MODELS:-resnet50 bert_base gpt2 rwnn}"
field() { python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print('%.1f %.2f' % (p[sys.argv[2]], p['solve_time_s']))" "$1" "$2"; }
for pf in "${platforms[@]}"; do
  echo "### $pf (limit $limit s per run)"
  echo
  echo "| model | solver | step latency (us) | time (s) | period (us) | time (s) |"
  echo "| --- | --- | ---: | ---: | ---: | ---: |"
  for m in "${models[@]}"; do
    g=models/training/$m.train.json
    for s in fastest heft comm-greedy metis split auto balance; do
      lat="-"; lt="-"; per="-"; pt="-"
      if [ "$s" != balance ] && $bin plan -g "$g" -p "$pf" -s "$s" --time-limit "$limit" -q -o "$tmp/l.json" 2>"$tmp/err"; then
        read -r lat lt < <(field "$tmp/l.json" makespan_us)
      fi
      if [ "$s" != heft ] && $bin plan -g "$g" -p "$pf" -s "$s" --objective throughput --time-limit "$limit" -q -o "$tmp/t.json" 2>"$tmp/err"; then
        read -r per pt < <(field "$tmp/t.json" period_us)
      fi
      echo "| $m | $s | $lat | $lt | $per | $pt |"
    done
  done
  echo
done
# Rebalancing: auto's throughput plan on cpu-2gpu, one GPU slowed, or noisy costs.
echo "### Rebalancing on cpu-2gpu (auto's throughput plan; re-plan: auto, $limit s)"
echo
echo "| model | drift | planned | as planned, true costs | rebalanced | moves | re-planned |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
for m in "${models[@]}"; do
  g=models/training/$m.train.json
  $bin plan -g "$g" -p cpu-2gpu --objective throughput --time-limit "$limit" -q -o "$tmp/p.json"
  for drift in "--slow gpu0=1.1" "--slow gpu0=1.25" "--slow gpu0=1.5" "--noise 0.2 --seed 1"; do
    # shellcheck disable=SC2086
    $bin rebalance -g "$g" -p cpu-2gpu "$tmp/p.json" $drift --time-limit "$limit" 2>/dev/null >"$tmp/r.txt"
    python3 - "$m" "$drift" "$tmp/r.txt" <<'PY'
import re, sys
m, drift, path = sys.argv[1:]
rows = [l.rstrip("\n") for l in open(path)][1:]
val = [float(l.split()[-1]) if l.split()[-1] != "-" else float("nan") for l in rows]
moves = re.search(r"\((\d+) moves", rows[2]).group(1)
print(f"| {m} | {drift} | {val[0]:.1f} | {val[1]:.1f} | {val[2]:.1f} | {moves} | {val[3]:.1f} |")
PY
  done
done
