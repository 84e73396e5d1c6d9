#include "detectors/proportion.h"

#include <cmath>

#include "detectors/test_support.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

using testing::Gaussian;
using testing::SampleTime;

// Failures in a window of `n` trials at rate p.
int64_t Binomial(Gaussian& g, int64_t n, double p) {
  int64_t s = 0;
  for (int64_t i = 0; i < n; ++i) s += g.Uniform() < p ? 1 : 0;
  return s;
}

TEST(BernoulliCusumTest, InControlRunLengthAtLeastDesignedArl0) {
  // Lorden's bound: ARL0 >= e^h = arl0_trials. Mean of 40 runs must clear 0.8x of it.
  Gaussian g(1);
  BernoulliCusumOptions o;
  o.p0 = 0.02;
  o.arl0_trials = 20000;
  double total = 0.0;
  const int runs = 40;
  for (int r = 0; r < runs; ++r) {
    BernoulliCusum c = *BernoulliCusum::Create(o);
    int64_t trials = 0;
    while (trials < 2000000) {
      trials += 50;
      if (c.Update(SampleTime(trials), Binomial(g, 50, 0.02), 50)->active) break;
    }
    total += static_cast<double>(trials);
  }
  EXPECT_GE(total / runs, 0.8 * o.arl0_trials);
}

TEST(BernoulliCusumTest, DetectsFallbackRateJumpWithinExpectedDelay) {
  // Fallback rate 1 % -> 3 %, windows of 100 requests; p0 learned from warm-up.
  Gaussian g(2);
  BernoulliCusumOptions o;
  o.warmup_trials = 20000;
  BernoulliCusum c = *BernoulliCusum::Create(o);
  const int64_t change = 3000;  // Windows.
  int64_t detected = -1;
  Finding at;
  for (int64_t w = 0; w < change + 500 && detected < 0; ++w) {
    const double p = w >= change ? 0.03 : 0.01;
    Finding f = *c.Update(SampleTime(w), Binomial(g, 100, p), 100);
    if (f.active) {
      detected = w;
      at = f;
    }
  }
  ASSERT_GE(detected, change) << "false alarm in control";
  EXPECT_NEAR(c.p0(), 0.01, 0.002);
  // KL(3 % || 2 %) in nats per trial: delay ~ (h + overshoot) / (KL of 3 % vs the tuned 2 %
  // design) = (13.8 + ~1) / 0.0035 trials, about 42 windows; allow 2x.
  EXPECT_LE(detected - change, 90);
  EXPECT_EQ(at.direction, Direction::kUp);
  EXPECT_GE(at.onset, SampleTime(change - 10));
  EXPECT_GT(at.observed, 0.015);
}

TEST(BernoulliCusumTest, RejectsBadWindowsAndOptions) {
  BernoulliCusum c = *BernoulliCusum::Create({});
  EXPECT_EQ(c.Update(SampleTime(0), 5, 3).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(c.Update(SampleTime(0), -1, 3).ok());
  EXPECT_TRUE(c.Update(SampleTime(0), 0, 0).ok());
  BernoulliCusumOptions o;
  o.rate_ratio = 1.0;
  EXPECT_FALSE(BernoulliCusum::Create(o).ok());
  o = {};
  o.p0 = 1.5;
  EXPECT_FALSE(BernoulliCusum::Create(o).ok());
}

TEST(BernoulliCusumTest, CleanWarmupUsesFloor) {
  BernoulliCusumOptions o;
  o.warmup_trials = 100;
  BernoulliCusum c = *BernoulliCusum::Create(o);
  ASSERT_TRUE(c.Update(SampleTime(0), 0, 100).ok());
  EXPECT_TRUE(c.warmed_up());
  EXPECT_DOUBLE_EQ(c.p0(), o.min_p0);
  EXPECT_TRUE(std::isfinite(c.upper()));
}

}  // namespace
}  // namespace candor::detectors
