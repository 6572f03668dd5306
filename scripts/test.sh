#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run CTest (unit, cli labels), the
# Python tests with pytest and each fuzz harness briefly. Exits non-zero if any test fails.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" || exit 1
bash "$root/scripts/build.sh" || exit 1
status=0
(cd "$root/build" && ctest --output-on-failure -j "$(nproc)") || status=1
# Each libFuzzer harness for a short, bounded time on its seed corpus (0 skips); before pytest
# so that pytest's summary stays the last line.
seconds="${DIVIML_FUZZ_SECONDS:-10}"
if [ "$seconds" != 0 ]; then
  DIVIML_FUZZ_SEED="${DIVIML_FUZZ_SEED:-1}" bash "$root/scripts/fuzz.sh" "$seconds" || status=1
fi
DIVIML_BIN="$root/build/diviml" /usr/bin/python3 -m pytest -q "$root/tests/python" -p no:cacheprovider
rc=$?
# pytest exit 5 means it collected no test: that is a failure of the suite, not a pass.
[ $rc -eq 0 ] || status=1
exit $status
