#!/usr/bin/env bash
# Configures and builds DiviML into build/: every target (library, CLI, Python package, tests,
# benchmarks), or only the targets named.
#   bash scripts/build.sh [TARGET ...]      (scripts/run.sh names the CLI and the Python package)
# Warnings are errors in every target (DIVIML_WERROR=ON, the default here): the main job and the
# test command configure alike, so the tests reuse the main job's objects instead of rebuilding
# them. DIVIML_WERROR=OFF for a compiler other than Debian 12's, whose warnings we have not seen.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DDIVIML_WERROR="${DIVIML_WERROR:-ON}" >/dev/null
if (($#)); then
  cmake --build "$root/build" -j "$(nproc)" --target "$@"
else
  cmake --build "$root/build" -j "$(nproc)"
fi
