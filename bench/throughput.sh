#!/usr/bin/env bash
# Throughput plans (docs/results.md, "Throughput"): per graph and platform, the period of each
# throughput solver side by side in one run, the proven bound on the period, and the throughput
# over the whole model on the fastest device and over the data-parallel baseline.
#   bash bench/throughput.sh [PLATFORMS (default "cpu-2gpu cluster-3srv")] [TIME_LIMIT_S (default 10)]
# Graphs: the bundled models (torchvision, GPT-2 shapes, RWNN) and the RWNN set of bench_split
# with 32 nodes per stage.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
platforms="${1:-cpu-2gpu cluster-3srv}"
limit="${2:-10}"  # seconds per solver
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/g"
cp "$root"/models/*.json "$work/g/"
for st in 1 2 4; do for s in 1 2; do
  "$exe" gen rwnn --nodes 32 --stages "$st" --seed "$s" -o "$work/g/rwnn-ws_N32_S${st}_s${s}.json" >/dev/null
done; done
echo "| graph | ops | platform | bound us | fastest us | replicas us | stages us | balance us | split us | auto us | auto lanes | period / bound | x fastest | x replicas | auto s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for p in $platforms; do
  for g in "$work"/g/*.json; do
    name="$(basename "$g" .json)"
    rm -rf "$work/out"; mkdir -p "$work/out"
    "$exe" compare -g "$g" -p "$p" --objective throughput --solvers fastest,replicas,stages,balance,split,auto \
      --time-limit "$limit" --out-dir "$work/out" >/dev/null || true
    python3 - "$work/out" "$name" "$p" "$g" <<'PY'
import json, os, sys
out, name, platform, graph = sys.argv[1:]
ops = len(json.load(open(graph))["nodes"])
plans = {}
for f in os.listdir(out):
    if f.endswith(".plan.json"):
        plans[f[:-len(".plan.json")].rsplit(".", 1)[1]] = json.load(open(os.path.join(out, f)))
def period(s):
    return plans[s]["period_us"] if s in plans else None
def cell(x):
    return "-" if x is None else f"{x:.1f}"
a = plans.get("auto")
bound = max((p["lower_bound_us"] for p in plans.values()), default=0)
ratio = lambda x, y: "-" if x is None or y is None or y == 0 else f"{x / y:.2f}"
print(f"| {name} | {ops} | {platform} | {bound:.1f} | {cell(period('fastest'))} | {cell(period('replicas'))} | "
      f"{cell(period('stages'))} | {cell(period('balance'))} | {cell(period('split'))} | {cell(period('auto'))} | {a['lanes'] if a else '-'} | "
      f"{ratio(period('auto'), bound)} | {ratio(period('fastest'), period('auto'))}x | "
      f"{ratio(period('replicas'), period('auto'))}x | {a['solve_time_s']:.2f} |" if a else f"| {name} | {ops} | {platform} | no plan |")
PY
  done
done
