#!/usr/bin/env bash
# Applies .clang-format to every C++ file of the project, or with --check lists the files that
# are not formatted and fails (CTest's format.check).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tool="$(command -v clang-format-14 || command -v clang-format || true)"
[ -n "$tool" ] || { echo "format: clang-format-14 is not installed (scripts/setup.sh installs it)"; exit 1; }
mapfile -t files < <(find include src tools tests bench python -path tests/fuzz/corpus -prune -o \
                       \( -name '*.cpp' -o -name '*.hpp' \) -print | sort)
if [ "${1:-}" = "--check" ]; then
  "$tool" --dry-run --Werror "${files[@]}"
  echo "format: ${#files[@]} files formatted"
else
  "$tool" -i "${files[@]}"
fi
