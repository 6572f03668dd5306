#!/usr/bin/env bash
# Configures and builds DiviML into build/: every target (library, CLI, Python package, tests,
# benchmarks), only the targets named, or with --main-job only what scripts/run.sh runs (the CLI,
# and the Python package where pybind11 was found).
#   bash scripts/build.sh [--main-job | TARGET ...]
# Warnings are errors in every target (DIVIML_WERROR=ON, the default here): the main job and the
# test command configure alike, so the tests reuse the main job's objects instead of rebuilding
# them. DIVIML_WERROR=OFF for a compiler other than Debian 12's, whose warnings we have not seen.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DDIVIML_WERROR="${DIVIML_WERROR:-ON}" >/dev/null
targets=("$@")
if [ "${1:-}" = "--main-job" ]; then
  targets=(diviml_cli)
  available="$(cmake --build "$root/build" --target help)"  # read whole: grep -q would break the pipe
  if [[ "$available" == *diviml_python_files* ]]; then
    targets+=(diviml_python diviml_python_files)
  fi
  echo "build: ${targets[*]} (a few minutes on 2 cores the first time)" >&2
fi
if ((${#targets[@]})); then
  cmake --build "$root/build" -j "$(nproc)" --target "${targets[@]}"
else
  cmake --build "$root/build" -j "$(nproc)"
fi
