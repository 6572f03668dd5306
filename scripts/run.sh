#!/usr/bin/env bash
# The main job: install what is missing, build the CLI and the Python package, plan the bundled
# default model on the bundled default platform, print the comparison table, and write a plan, a
# Gantt chart and an HTML report to out/.
#   bash scripts/run.sh [GRAPH.json] [PLATFORM]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
# Only what this job runs: the CLI, and the Python package beside it (tests and benchmarks are
# the test command's; it reuses these objects).
bash "$root/scripts/build.sh" --main-job >/dev/null
graph="${1:-$root/models/googlenet.json}"
platform="${2:-cpu-2gpu}"
mkdir -p "$root/out"
echo
# bnb (exact search for small graphs) is left out: on a model it only runs to the limit.
"$root/build/diviml" compare --graph "$graph" --platform "$platform" --solvers auto,fastest,heft,milp,split \
  --time-limit 10 --threads "$(nproc)"
echo
"$root/build/diviml" plan --graph "$graph" --platform "$platform" --quiet --threads "$(nproc)" \
  -o "$root/out/plan.json" --gantt "$root/out/plan.svg" --html "$root/out/plan.html"
echo "default solver's plan written to out/plan.json, Gantt chart to out/plan.svg, report to out/plan.html"
