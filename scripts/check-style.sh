#!/usr/bin/env bash
# Style and architecture checks run by CI: clang-format, include direction between
# components (DESIGN §2), and the rule that only common/clock.cc reads clocks or sleeps.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
mapfile -t files < <(git ls-files '*.h' '*.cc' | grep -v '^third_party/')

# 1. clang-format (Google base, 100 columns; see .clang-format).
if [ ${#files[@]} -gt 0 ]; then
  if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/candor-format.txt; then
    echo "clang-format: these files need formatting (run clang-format -i):" >&2
    grep -oE '^[^:]+\.(h|cc)' /tmp/candor-format.txt | sort -u >&2
    fail=1
  fi
fi

# 2. Include direction. For each component, the repository folders its files may include.
declare -A allowed=(
  [common]="common"
  [store]="common store"
  [detectors]="common detectors"
  [collector]="common store detectors collector"
  [exporters]="common store exporters"
  [sim]="common sim"
  [cuda-profiler]="common cuda-profiler"
)
for comp in "${!allowed[@]}"; do
  [ -d "$comp" ] || continue
  pattern=$(printf '%s|' ${allowed[$comp]})
  pattern="^(${pattern%|})/"
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    case "$inc" in
      */*) ;;
      *) continue ;;  # Same-folder generated or local header.
    esac
    top=${inc%%/*}
    # The rule is about libraries: tests may link any component and the test support library.
    if [[ "$file" == *_test.cc ]]; then continue; fi
    case " common store detectors collector exporters sim daemon cuda-profiler tests bench candor prometheus " in
      *" $top "*) ;;
      *) continue ;;  # A library header (absl/, gtest/, …), not a candor folder.
    esac
    # Generated protobuf headers (candor/v1/..., prometheus/...) count as the proto component.
    if [ "$top" = candor ] || [ "$top" = prometheus ]; then
      case "$comp" in collector|exporters|cuda-profiler|sim) continue ;; esac
    fi
    if ! grep -qE "$pattern" <<<"$inc"; then
      echo "include direction: $file includes \"$inc\" (allowed for $comp/: ${allowed[$comp]})" >&2
      fail=1
    fi
  done < <(git grep -n '#include "' -- "$comp/*.h" "$comp/*.cc" 2>/dev/null || true)
done

# 3. Third-party types stay inside their adapter.
leak=$(git grep -nE '#include [<"](rocksdb|grpcpp|grpc\+\+|prometheus/|Eigen|cupti|civetweb|curl/|re2/)' -- '*.h' \
  | grep -vE '^(store/[^:]*:.*rocksdb|collector/[^:]*:.*(grpc|curl/|re2/)|exporters/[^:]*:.*(prometheus/|civetweb)|detectors/[^:]*:.*Eigen|cuda-profiler/)' \
  || true)
if [ -n "$leak" ]; then
  echo "third-party header outside its adapter:" >&2
  echo "$leak" >&2
  fail=1
fi

# 4. Clock discipline: nothing but common/clock.cc reads the clock or sleeps. Benchmarks time
# themselves through RealClock too.
clk=$(git grep -nE 'std::chrono::(system|steady|high_resolution)_clock::now|sleep_for|sleep_until|usleep\(|[^_a-z]sleep\(|absl::SleepFor|absl::Now\(\)' \
  -- '*.cc' '*.h' ':!common/clock.cc' ':!common/log.cc' || true)
if [ -n "$clk" ]; then
  echo "direct clock reads or sleeps outside common/clock.cc (inject a Clock):" >&2
  echo "$clk" >&2
  fail=1
fi

if [ $fail -ne 0 ]; then
  echo "style checks failed" >&2
  exit 1
fi
echo "style checks passed"
