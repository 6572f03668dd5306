#!/usr/bin/env bash
# The whole test suite: install what is missing, build with warnings as errors, run CTest (every
# label: unit, slow, cli, format and the Python tests under python.pytest), then each fuzz harness
# briefly. Exits non-zero if any test fails. The quick run for development is
#   (cd build && ctest -LE slow)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" || exit 1
# The same configuration as the main job's (scripts/build.sh): what it built is reused.
DIVIML_WERROR=ON bash "$root/scripts/build.sh" || exit 1
status=0
rm -f "$root/build/pytest.log"
(cd "$root/build" && ctest --output-on-failure -j "$(nproc)") || status=1
# Each libFuzzer harness for a short, bounded time on its seed corpus (0 skips).
seconds="${DIVIML_FUZZ_SECONDS:-10}"
if [ "$seconds" != 0 ]; then
  DIVIML_FUZZ_SEED="${DIVIML_FUZZ_SEED:-1}" bash "$root/scripts/fuzz.sh" "$seconds" || status=1
fi
# pytest ran inside CTest (python.pytest); its own summary line, last:
if [ -s "$root/build/pytest.log" ]; then
  echo "pytest (CTest python.pytest): $(tail -n 1 "$root/build/pytest.log")"
else
  echo "pytest (CTest python.pytest): no log, the Python tests did not run"
  status=1
fi
exit $status
