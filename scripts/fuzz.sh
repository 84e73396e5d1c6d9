#!/usr/bin/env bash
# Builds candor's libFuzzer targets with clang (AddressSanitizer + UndefinedBehaviorSanitizer)
# in their own build tree and runs each one for a bounded time over its checked-in corpus,
# after replaying every kept crash reproducer (tests/fuzz/regressions/<target>/). New inputs
# found during the run go to a scratch directory, not into the repository.
#
#   CANDOR_FUZZ_SECONDS   run time per target (default 25)
#   CANDOR_FUZZ_BUILD_DIR build tree (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${CANDOR_FUZZ_SECONDS:-25}
BUILD=${CANDOR_FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${CANDOR_JOBS:-2}
FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCANDOR_FUZZ=ON -DCANDOR_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_C_FLAGS="$FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target jsonl_fuzzer prom_text_fuzzer validate_fuzzer

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for target in jsonl prom_text validate; do
  bin="$BUILD/tests/fuzz/${target}_fuzzer"
  mapfile -t regressions < <(find "tests/fuzz/regressions/$target" -type f ! -name '.*' | sort)
  if [ ${#regressions[@]} -gt 0 ]; then
    echo "fuzz: $target: replaying ${#regressions[@]} kept reproducer(s)"
    "$bin" -runs=1 "${regressions[@]}" || status=1
  fi
  scratch=$(mktemp -d)
  echo "fuzz: $target: ${SECONDS_PER_TARGET}s over tests/fuzz/corpus/$target"
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$scratch/" \
      "$scratch" "tests/fuzz/corpus/$target" 2>"$scratch/log"; then
    tail -40 "$scratch/log" >&2
    echo "fuzz: $target found a crash; reproducer in $scratch (keep it under" \
      "tests/fuzz/regressions/$target/ once fixed)" >&2
    status=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "$scratch/log" | tail -2
  fi
done
exit $status
