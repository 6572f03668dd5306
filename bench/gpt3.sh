#!/usr/bin/env bash
# GPT-3 175B on six heterogeneous servers (docs/results.md, "GPT-3 175B on six servers"):
# prefill of a 2048-token prompt and one decode step over its KV cache, planned on
# platforms/six-srv.json by every latency solver side by side in one run, with the lower bound,
# the gap, the solve time (wall, max RSS) and each device's peak memory against its capacity;
# beside them the hand-written pipeline (`uniform`). Then decode tokens/s (the throughput
# objective, `balance`). Also counts the plan's transfers between servers that overlap in time
# on one server's NICs (the fair-share link model is exact when they do; docs/platforms.md).
#   bash bench/gpt3.sh [TIME_LIMIT_S (default 60)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="$root/build/diviml"
limit="${1:-60}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gpt3="--layers 96 --d-model 12288 --heads 96 --vocab 50257 --bytes-per-value 2"
# shellcheck disable=SC2086
"$exe" gen transformer $gpt3 --seq 2048 -o "$work/prefill.json" >/dev/null
# shellcheck disable=SC2086
"$exe" gen transformer $gpt3 --seq 1 --context 2048 -o "$work/decode.json" >/dev/null
pf="$root/platforms/six-srv.json"
echo "| graph | solver | makespan ms | bound ms | gap | solve s | wall s | max RSS MB | devices used | fullest device | inter-server transfers (overlapping on a NIC) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for g in prefill decode; do
  for s in uniform m-topo m-etf m-sct heft split auto; do
    out="$work/$g.$s.plan.json"
    if ! /usr/bin/time -f "%e %M" -o "$work/time" "$exe" plan -g "$work/$g.json" -p "$pf" --solver "$s" \
        --time-limit "$limit" -o "$out" -q 2>"$work/err"; then
      echo "| $g | $s | no plan: $(head -c 160 "$work/err" | tr '\n|' ' /') | | | | | | | | |"
      continue
    fi
    python3 - "$out" "$pf" "$g" "$s" "$(cat "$work/time")" <<'PY'
import json, sys
plan_file, pf_file, graph, solver, timing = sys.argv[1:]
wall, rss_kb = timing.split()
plan, pf = json.load(open(plan_file)), json.load(open(pf_file))
server = {d["name"]: d.get("server", "") for d in pf["devices"]}
cap = {d["name"]: d.get("memory_bytes") for d in pf["devices"]}
used = sorted({p["device"] for p in plan["placements"]})
fullest = max((plan["peak_memory_bytes"][d] / cap[d], d) for d in used if cap[d])
# Copies between servers: one per (producer, destination device); overlapping pairs that
# leave from or arrive at the same server share its NICs.
copies = {}
for t in plan["transfers"]:
    if server[t["from"]] != server[t["to"]]:
        copies[(t["src"], t["to"])] = (t["start_us"], t["end_us"], server[t["from"]], server[t["to"]])
c = list(copies.values())
overlap = sum(1 for i in range(len(c)) for j in range(i + 1, len(c))
              if min(c[i][1], c[j][1]) > max(c[i][0], c[j][0]) and {c[i][2], c[i][3]} & {c[j][2], c[j][3]})
ms = plan["makespan_us"] / 1e3
bound = plan["lower_bound_us"] / 1e3
print(f"| {graph} | {solver} | {ms:.1f} | {bound:.1f} | {100 * (1 - bound / ms):.1f}% | {plan['solve_time_s']:.1f} | "
      f"{float(wall):.1f} | {int(rss_kb) / 1024:.0f} | {len(used)} | {fullest[1]} {100 * fullest[0]:.0f}% | "
      f"{len(c)} ({overlap}) |")
PY
  done
done
echo
echo "Decode as a stream of independent requests (--objective throughput --solver balance):"
/usr/bin/time -f "%e %M" -o "$work/time" "$exe" plan -g "$work/decode.json" -p "$pf" --objective throughput \
  --solver balance --time-limit "$limit" -o "$work/decode.tp.json" -q
python3 - "$work/decode.tp.json" "$(cat "$work/time")" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
wall, rss = sys.argv[2].split()
print(f"period {plan['period_us'] / 1e3:.2f} ms = {1e6 / plan['period_us']:.1f} tokens/s over {plan['lanes']} request "
      f"lane(s) (bound {plan['lower_bound_us'] / 1e3:.2f} ms); latency of one token in the stream "
      f"{plan['latency_us'] / 1e3:.1f} ms; solve {plan['solve_time_s']:.1f} s, wall {float(wall):.1f} s, "
      f"max RSS {int(rss) / 1024:.0f} MB")
PY
