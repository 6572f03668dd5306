#!/usr/bin/env bash
# Throughput plans and their latency (docs/results.md, "Throughput plans a service can deploy"):
# per model of the bundled zoo and platform, the latency plan's makespan L (auto), then the
# throughput plan (auto): its period over its proven bound and one input's latency over L; the
# geometric means per platform. With a second build, the same for it side by side. Then, with
# --tradeoff, the best period found within 1, 1.5, 2 and 4 x L and without a limit.
#   bash bench/stream_latency.sh [TIME_LIMIT_S (default 10)] [OTHER_DIVIML] [--tradeoff]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-10}"
other="${2:-}"
tradeoff="${3:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
models="resnet50 googlenet inception_v3 mobilenet_v2 vit_b_16 rwnn_ws_n32_s3"
platforms="cpu-2gpu cluster-3srv"
for p in $platforms; do
  for m in $models; do
    "$exe" plan -g "$root/models/$m.json" -p "$p" --time-limit "$limit" --threads 1 -q -o "$work/$m.$p.lat.json"
    for build in ${other:+"$other"} "$exe"; do
      name="this"
      [ "$build" = "$exe" ] || name="other"
      "$build" plan -g "$root/models/$m.json" -p "$p" --objective throughput --time-limit "$limit" --threads 1 -q \
        -o "$work/$m.$p.$name.json" || true
    done
  done
done
python3 - "$work" "$models" "$platforms" "${other:+other} this" <<'PY'
import json, math, os, sys
work, models, platforms, builds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
gm = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")
print("| platform | model | L (latency plan) us | " + " | ".join(
    f"{b}: period us | {b}: period / bound | {b}: latency us | {b}: latency / L" for b in builds) + " |")
print("|---|---|---|" + "---|---|---|---|" * len(builds))
for p in platforms:
    ratios = {b: ([], []) for b in builds}
    for m in models:
        L = json.load(open(f"{work}/{m}.{p}.lat.json"))["makespan_us"]
        cells = [p, m, f"{L:.1f}"]
        for b in builds:
            f = f"{work}/{m}.{p}.{b}.json"
            if not os.path.exists(f):
                cells += ["no plan", "", "", ""]
                continue
            t = json.load(open(f))
            pb, lr = t["period_us"] / t["lower_bound_us"], t["latency_us"] / L
            ratios[b][0].append(pb)
            ratios[b][1].append(lr)
            cells += [f"{t['period_us']:.1f}", f"{pb:.3f}", f"{t['latency_us']:.1f}", f"{lr:.2f}"]
        print("| " + " | ".join(cells) + " |")
    cells = [p, "**geometric mean**", ""]
    for b in builds:
        cells += ["", f"**{gm(ratios[b][0]):.3f}**", "", f"**{gm(ratios[b][1]):.2f}** (max {max(ratios[b][1]):.2f})"]
    print("| " + " | ".join(cells) + " |")
PY
if [ "$tradeoff" = "--tradeoff" ]; then
  echo
  echo "| platform | model | L us | 1x | 1.5x | 2x | 4x | none |"
  echo "|---|---|---|---|---|---|---|---|"
  for p in $platforms; do
    for m in $models; do
      "$exe" compare -g "$root/models/$m.json" -p "$p" --tradeoff --time-limit "$limit" --threads 1 --json -q \
        >"$work/$m.$p.tradeoff.json" || true
      python3 - "$work/$m.$p.tradeoff.json" "$p" "$m" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
L = t["latency_plan"]["makespan_us"]
cells = []
for q in t["points"]:
    if "period_us" not in q:
        cells.append("none within")
        continue
    cells.append(f"{q['period_us']:.1f} ({q['period_us'] / q['lower_bound_us']:.2f} x bound), latency {q['latency_us'] / L:.2f} L")
print(f"| {sys.argv[2]} | {sys.argv[3]} | {L:.1f} | " + " | ".join(cells) + " |")
PY
    done
  done
fi
