#!/usr/bin/env bash
# Builds the CLI of another revision for a side-by-side bench (bench/split_core.sh,
# bench/branchy.sh): a detached git worktree of REV at DIR (Release, no tests or benches),
# and prints the path of its diviml. The caller removes the worktree
# (git worktree remove --force DIR).
#   before="$(bash bench/build_rev.sh REV DIR)"
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rev="$1"
dir="$2"
git -C "$root" worktree add --detach "$dir" "$rev" >/dev/null 2>&1
cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DDIVIML_BUILD_TESTS=OFF -DDIVIML_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir/build" -j "$(nproc)" --target diviml_cli >/dev/null
echo "$dir/build/diviml"
