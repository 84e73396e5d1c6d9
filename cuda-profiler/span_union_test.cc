#include "cuda-profiler/span_union.h"

#include <algorithm>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

// The union length by brute force over unit cells.
uint64_t Exact(const std::vector<std::pair<uint64_t, uint64_t>>& spans) {
  std::set<uint64_t> cells;
  for (const auto& [s, e] : spans) {
    for (uint64_t t = s; t < e; ++t) cells.insert(t);
  }
  return cells.size();
}

TEST(SpanUnionTest, MergesOverlapsInAnyOrder) {
  SpanUnion u(1000);
  u.Add(10, 20);
  u.Add(15, 25);  // Overlaps the last.
  u.Add(30, 40);  // After.
  u.Add(0, 5);    // Before everything.
  u.Add(4, 31);   // Bridges three spans.
  u.Add(50, 50);  // Empty.
  u.Add(60, 55);  // Inverted.
  EXPECT_EQ(u.Total(), 40u);
  EXPECT_EQ(u.spans(), 1u);
}

TEST(SpanUnionTest, MatchesBruteForceOnShuffledSpans) {
  uint64_t x = 12345;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int round = 0; round < 50; ++round) {
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    for (int i = 0; i < 200; ++i) {
      const uint64_t s = next() % 5000;
      spans.emplace_back(s, s + next() % 60);
    }
    SpanUnion u(1000);
    for (const auto& [s, e] : spans) u.Add(s, e);
    EXPECT_EQ(u.Total(), Exact(spans)) << round;
  }
}

TEST(SpanUnionTest, StaysExactAndBoundedForNearlyOrderedSpans) {
  // 100k disjoint kernels with gaps, slightly reordered, far past the span cap.
  SpanUnion u(64);
  uint64_t expected = 0;
  for (uint64_t i = 0; i < 100000; i += 2) {
    u.Add((i + 1) * 100, (i + 1) * 100 + 40);
    u.Add(i * 100, i * 100 + 40);
    expected += 80;
    ASSERT_LE(u.spans(), 65u);
  }
  EXPECT_EQ(u.Total(), expected);
}

TEST(SpanUnionTest, VeryLateSpansAreClippedNotDoubleCounted) {
  SpanUnion u(2);
  u.Add(0, 10);
  u.Add(20, 30);
  u.Add(40, 50);  // Folds [0, 10).
  u.Add(0, 10);   // Entirely in the folded past.
  u.Add(5, 25);   // Clipped at 10: adds [10, 20).
  EXPECT_EQ(u.Total(), 40u);
}

}  // namespace
}  // namespace candor::cuda_profiler
