#!/usr/bin/env bash
# `split` before and after the solving core (docs/results.md, "Solving core"): the same graphs
# planned by two builds, side by side in one run, alternating per repetition so that machine
# noise hits both alike.
#   bash bench/split_core.sh [BEFORE_REV (default 1718e5e, main before the core)] [REPS (default 3)]
# Builds BEFORE_REV in a temporary git worktree (Release), uses build/diviml as "after".
# Prints a markdown table: per graph, split's makespan before and after (they must agree: the
# core changed how sub-problems are solved, not what), the median solve_time_s of each, and
# the ratio. Graphs: the bundled torchvision models and the RWNN set of bench_split (WS, N in
# {8, 16, 32}, S in {1, 2, 4}, seeds 1-2) on the default platform, --threads 1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rev="${1:-1718e5e}"
reps="${2:-3}"
after="$root/build/diviml"
work="$(mktemp -d)"
trap 'git -C "$root" worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
before="$(bash "$root/bench/build_rev.sh" "$rev" "$work/before")"
mkdir -p "$work/g"
for f in "$root"/models/*.json; do
  case "$(basename "$f")" in gpt2_*|rwnn_*) continue ;; esac  # torchvision models only
  cp "$f" "$work/g/"
done
for st in 1 2 4; do for n in 8 16 32; do for s in 1 2; do
  "$after" gen rwnn --nodes "$n" --stages "$st" --seed "$s" -o "$work/g/rwnn-ws_N${n}_S${st}_s${s}.json" >/dev/null
done; done; done
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| graph | ops | split us before | split us after | same plan | solve s before | solve s after | before / after |"
echo "|---|---|---|---|---|---|---|---|"
tb=0; ta=0
for g in "$work"/g/*.json; do
  name="$(basename "$g" .json)"
  bt=(); at=()
  for ((r = 0; r < reps; r++)); do
    "$before" plan -g "$g" -s split --threads 1 -q -o "$work/b.json"
    "$after" plan -g "$g" -s split --threads 1 -q -o "$work/a.json"
    bt+=("$(field "$work/b.json" solve_time_s)"); at+=("$(field "$work/a.json" solve_time_s)")
  done
  bm="$(field "$work/b.json" makespan_us)"; am="$(field "$work/a.json" makespan_us)"
  same=no; cmp -s <(python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(p['placements'])" "$work/b.json") \
                  <(python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(p['placements'])" "$work/a.json") && same=yes
  ops="$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['nodes']))" "$g")"
  b="$(median "${bt[@]}")"; a="$(median "${at[@]}")"
  tb="$(awk -v x="$tb" -v y="$b" 'BEGIN {print x + y}')"; ta="$(awk -v x="$ta" -v y="$a" 'BEGIN {print x + y}')"
  printf '| %s | %s | %.1f | %.1f | %s | %.3f | %.3f | %.2fx |\n' "$name" "$ops" "$bm" "$am" "$same" "$b" "$a" \
    "$(awk -v x="$b" -v y="$a" 'BEGIN {print (y > 0 ? x / y : 0)}')"
done
printf '| **total** | | | | | %.2f | %.2f | %.2fx |\n' "$tb" "$ta" "$(awk -v x="$tb" -v y="$ta" 'BEGIN {print x / y}')"
