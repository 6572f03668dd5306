#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang-14, with AddressSanitizer and UndefinedBehaviorSanitizer)
# into build-fuzz/ and runs each on its seed corpus in tests/fuzz/corpus/<harness>/ for a bounded
# time. New inputs go to a scratch folder, never into the committed corpus; a crash leaves its
# input in build-fuzz/findings/ and fails the script.
#   bash scripts/fuzz.sh [SECONDS_PER_HARNESS (default 20)] [HARNESS ...]
# DIVIML_FUZZ_SEED fixes libFuzzer's random seed (default 0: a new one each run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-20}"
shift || true
harnesses=("$@")
((${#harnesses[@]})) || harnesses=(fuzz_graph fuzz_platform fuzz_plan fuzz_onnx fuzz_solve fuzz_serve)
build="$root/build-fuzz"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DDIVIML_FUZZ=ON -DDIVIML_SANITIZE=address,undefined -DDIVIML_BUILD_TESTS=OFF -DDIVIML_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${harnesses[@]}" >/dev/null
mkdir -p "$build/findings"
status=0
for h in "${harnesses[@]}"; do
  scratch="$build/scratch/$h"
  mkdir -p "$scratch"
  # CBC children are forked by fuzz_solve; their exits are not findings.
  if ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$build/tests/fuzz/$h" -max_total_time="$seconds" -seed="${DIVIML_FUZZ_SEED:-0}" -timeout=60 -rss_limit_mb=4096 \
      -artifact_prefix="$build/findings/$h-" -print_final_stats=1 "$scratch" "$root/tests/fuzz/corpus/$h" \
      >"$build/$h.log" 2>&1; then
    echo "fuzz: $h: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$build/$h.log" | grep -o '[0-9]*$') runs in ${seconds} s, no finding"
  else
    echo "fuzz: $h: FINDING (log $build/$h.log, input in $build/findings/)"
    tail -n 30 "$build/$h.log"
    status=1
  fi
done
exit $status
