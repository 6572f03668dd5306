#!/usr/bin/env bash
# LLM serving (docs/results.md, "LLM serving on heterogeneous servers"): `diviml serve` against
# its three baselines and its bound, prompt 2048 / output 256, TTFT 5 s, for GPT-3 175B and
# LLaMA-2-70B on six-srv and LLaMA-2-70B on helix-24, at TPOT 50, 100 and 200 ms. One row per
# run: tokens/s of ours and of every baseline (same run, same cost model), ours over the best
# baseline, the bound and the gap to it, the batch, the mode, the stages (TP x layers), solve time.
#   bash bench/serve.sh [TIME_LIMIT_S (default 20)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-20}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "| model | platform | TPOT ms | ours tokens/s | homogeneous | uniform-pipeline | helix-like | ours / best baseline | bound | gap | batch | mode | TTFT / TPOT ms | stages (pipeline: TP x layers @ kind) | solve s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for run in "gpt3-175b six-srv" "llama2-70b six-srv" "llama2-70b helix-24"; do
  read -r model platform <<<"$run"
  for tpot in 50 100 200; do
    out="$work/s.json"
    rc=0
    "$exe" serve --preset "$model" -p "$platform" --prompt 2048 --output 256 --ttft-ms 5000 --tpot-ms "$tpot" \
      --time-limit "$limit" -o "$out" -q 2>"$work/err" || rc=$?
    if [ "$rc" != 0 ]; then
      echo "| $model | $(basename "$platform" .json) | $tpot | exit $rc: $(head -c 240 "$work/err" | tr '\n|' ' /') | | | | | | | | | | | |"
      continue
    fi
    python3 - "$out" "$model" "$(basename "$platform" .json)" "$tpot" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
base = {b["name"]: b["tokens_per_s"] for b in d["baselines"]}
best = max(base.values())
cell = lambda v: f"{v:.1f}" if v > 0 else "none meets the SLOs"
stages = "; ".join(f"p{i} {p['role'][0]}: " + " + ".join(f"{s['tp']}x{s['layers'][1] - s['layers'][0] + 1}@{s['kind'][4:]}"
                                                        for s in p["stages"]) for i, p in enumerate(d["pipelines"]))
ratio = f"{d['tokens_per_s'] / best:.2f}x" if best > 0 else "no baseline meets the SLOs"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {d['tokens_per_s']:.1f} | {cell(base['homogeneous'])} | "
      f"{cell(base['uniform-pipeline'])} | {cell(base['helix-like'])} | {ratio} | {d['bound_tokens_per_s']:.1f} | "
      f"{100 * d['gap']:.1f}% | {d['batch']} | {d['mode']} | {d['ttft_ms']:.0f} / {d['tpot_ms']:.1f} | {stages} | "
      f"{d['solve_time_s']:.1f} |")
PY
  done
done
