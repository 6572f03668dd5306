#!/usr/bin/env bash
# Runs the Python tests (CTest's python.pytest) and keeps their output in LOG as well.
#   DIVIML_BIN=build/diviml PYTHONPATH=build/python [PYTHON=/usr/bin/python3] bash tests/python/run_pytest.sh LOG
# pytest exit 5 (no test collected) is a failure, not a pass.
set -uo pipefail
log="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"${PYTHON:-python3}" -m pytest -q "$here" -p no:cacheprovider 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
