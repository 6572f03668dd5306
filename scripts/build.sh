#!/usr/bin/env bash
# Configures and builds DiviML (library, CLI, tests, benchmarks) into build/.
# DIVIML_WERROR=ON turns compiler warnings into errors in every target (the test command sets it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DDIVIML_WERROR="${DIVIML_WERROR:-OFF}" >/dev/null
cmake --build "$root/build" -j "$(nproc)"
