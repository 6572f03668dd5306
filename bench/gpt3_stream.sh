#!/usr/bin/env bash
# GPT-3 175B as a stream on six servers (docs/results.md, "GPT-3 175B as a stream"): the prefill
# of a batch of 8 prompts of 2048 tokens and one decode step of a batch of 8 over a 2048-token KV
# cache, planned with `--objective throughput` by `auto` on platforms/six-srv.json. Per plan: the
# period and tokens/s, the bound, one input's latency, the devices whose steady state (every
# input in flight) exceeds their memory, by this build's sweep, and the fullest device.
#   bash bench/gpt3_stream.sh [TIME_LIMIT_S (default 60)] [OTHER_DIVIML (a second build, side by side)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-60}"
other="${2:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gpt3="--layers 96 --d-model 12288 --heads 96 --vocab 50257 --bytes-per-value 2"
# shellcheck disable=SC2086
"$exe" gen transformer $gpt3 --seq 2048 --batch 8 -o "$work/prefill.json" >/dev/null
# shellcheck disable=SC2086
"$exe" gen transformer $gpt3 --seq 1 --batch 8 --context 2048 -o "$work/decode.json" >/dev/null
pf="$root/platforms/six-srv.json"
echo "| build | graph | period ms | tokens/s | bound ms | latency ms | lanes | devices over memory | fullest device | solve s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for build in ${other:+"$other"} "$exe"; do
  name="this"
  [ "$build" = "$exe" ] || name="other"
  for g in prefill decode; do
    out="$work/$g.$name.plan.json"
    if ! "$build" plan -g "$work/$g.json" -p "$pf" --objective throughput --time-limit "$limit" -o "$out" -q \
        2>"$work/err"; then
      echo "| $name | $g | no plan: $(head -c 200 "$work/err" | tr '\n|' ' /') | | | | | | | |"
      continue
    fi
    # This build's validator holds the steady state to memory: it names the first device over.
    "$exe" validate -g "$work/$g.json" -p "$pf" "$out" >"$work/valid" 2>&1 || true
    python3 - "$out" "$pf" "$g" "$name" "$work/valid" <<'PY'
import json, sys
plan_file, pf_file, graph, name, valid = sys.argv[1:]
plan, pf = json.load(open(plan_file)), json.load(open(pf_file))
cap = {d["name"]: d.get("memory_bytes") for d in pf["devices"]}
peak = plan.get("peak_memory_bytes", {})
over = sorted(d for d, b in peak.items() if cap.get(d) and b > cap[d] * (1 + 1e-6))
fullest = max((b / cap[d], d) for d, b in peak.items() if cap.get(d))
tokens = 8 * (2048 if graph == "prefill" else 1)  # tokens per input (a batch of 8)
verdict = open(valid).read().strip()
print(f"| {name} | {graph} | {plan['period_us'] / 1e3:.1f} | {tokens * 1e6 / plan['period_us']:.0f} | "
      f"{plan['lower_bound_us'] / 1e3:.1f} | {plan['latency_us'] / 1e3:.1f} | {plan['lanes']} | "
      f"{len(over)}{' (' + ', '.join(over[:4]) + (', ...' if len(over) > 4 else '') + ')' if over else ''} | "
      f"{fullest[1]} {100 * fullest[0]:.0f}% | {plan['solve_time_s']:.1f} |")
if "valid plan" not in verdict:
    print(f"<!-- {name} {graph}: {verdict[:300]} -->")
PY
  done
done
