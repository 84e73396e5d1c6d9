#!/usr/bin/env bash
# Installs dependencies, builds candor once with AddressSanitizer + UndefinedBehaviorSanitizer,
# and runs every test. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/check-style.sh

BUILD=${CANDOR_TEST_BUILD_DIR:-build-asan}
JOBS=${CANDOR_JOBS:-$(nproc)}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCANDOR_SANITIZE=address,undefined -DCANDOR_BUILD_BENCH=ON
cmake --build "$BUILD" -j "$JOBS"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" "$@"

# libFuzzer targets (clang, separate build tree): kept reproducers, then a bounded run each.
scripts/fuzz.sh
