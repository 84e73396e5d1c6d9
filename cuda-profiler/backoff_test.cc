#include "cuda-profiler/backoff.h"

#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

TEST(BackoffTest, GrowsToTheCapWithinTheJitterBand) {
  Backoff b(BackoffOptions{.initial = absl::Milliseconds(100),
                           .max = absl::Seconds(2),
                           .multiplier = 2.0,
                           .jitter = 0.2},
            7);
  const double bases_ms[] = {100, 200, 400, 800, 1600, 2000, 2000};
  for (double base : bases_ms) {
    const double d = absl::ToDoubleMilliseconds(b.Next());
    EXPECT_GE(d, base * 0.8);
    EXPECT_LE(d, base * 1.2);
  }
  b.Reset();
  const double first = absl::ToDoubleMilliseconds(b.Next());
  EXPECT_GE(first, 80.0);
  EXPECT_LE(first, 120.0);
}

TEST(BackoffTest, SameSeedSameScheduleDifferentSeedsSpread) {
  Backoff a(BackoffOptions{}, 1);
  Backoff b(BackoffOptions{}, 1);
  Backoff c(BackoffOptions{}, 2);
  bool differs = false;
  for (int i = 0; i < 5; ++i) {
    const absl::Duration x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
}

TEST(BackoffTest, NoJitterIsExact) {
  Backoff b(BackoffOptions{.initial = absl::Milliseconds(10),
                           .max = absl::Seconds(1),
                           .multiplier = 3.0,
                           .jitter = 0.0},
            1);
  EXPECT_EQ(b.Next(), absl::Milliseconds(10));
  EXPECT_EQ(b.Next(), absl::Milliseconds(30));
  EXPECT_EQ(b.Next(), absl::Milliseconds(90));
  EXPECT_EQ(b.attempts(), 3);
}

}  // namespace
}  // namespace candor::cuda_profiler
