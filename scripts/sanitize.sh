#!/usr/bin/env bash
# Builds everything with AddressSanitizer and UndefinedBehaviorSanitizer (any finding aborts)
# into build-san/ and runs the whole suite against it under CTest (pytest included, with that
# build's binary; its log in build-san/pytest.log).
#   bash scripts/sanitize.sh
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-san"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIVIML_SANITIZE=address,undefined \
  -DDIVIML_BUILD_BENCH=OFF >/dev/null || exit 1
cmake --build "$build" -j "$(nproc)" >/dev/null || exit 1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
status=0
(cd "$build" && ctest --output-on-failure -j "$(nproc)") || status=1
[ -s "$build/pytest.log" ] && echo "pytest (CTest python.pytest): $(tail -n 1 "$build/pytest.log")"
exit $status
