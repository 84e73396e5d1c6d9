#include "detectors/seasonal_baseline.h"

#include <cmath>
#include <numbers>

#include "detectors/test_support.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

using testing::Gaussian;
using testing::SampleTime;

constexpr absl::Duration kStep = absl::Minutes(5);

// A daily sine of amplitude 20 around 100 with N(0, 2) noise, sampled every 5 minutes.
double Daily(int64_t i, Gaussian& g) {
  const double day_frac = static_cast<double>(i % 288) / 288.0;
  return 100.0 + 20.0 * std::sin(2.0 * std::numbers::pi * day_frac) + 2.0 * g.Next();
}

TEST(SeasonalBaselineTest, LearnsDailyProfileAfterTwoSeasons) {
  Gaussian g(1);
  SeasonalBaselineOptions o;
  o.weekly = false;
  auto b = *RobustSeasonalBaseline::Create(o);
  double abs_res_day2 = 0.0;
  double abs_res_day4 = 0.0;
  for (int64_t i = 0; i < 288 * 4; ++i) {
    const absl::Time t = SampleTime(i, kStep);
    const double x = Daily(i, g);
    const Expectation e = b.Update(t, x);
    if (i / 288 == 1) abs_res_day2 += std::fabs(x - e.value) / 288.0;
    if (i / 288 == 3) {
      abs_res_day4 += std::fabs(x - e.value) / 288.0;
      EXPECT_TRUE(e.seasonal);
      EXPECT_TRUE(e.ready);
    }
  }
  // Before the profile is used, the level alone misses the swing; after, the residual is
  // close to the noise (E|N(0, 2)| = 1.6) plus the bucket quantisation.
  EXPECT_GT(abs_res_day2, 5.0);
  EXPECT_LT(abs_res_day4, 2.6);
  const Expectation e = b.Expect(SampleTime(288 * 4 + 72, kStep));  // 6 am: the peak.
  EXPECT_NEAR(e.value, 120.0, 3.0);
  EXPECT_NEAR(e.scale, 2.0, 1.0);
}

TEST(SeasonalBaselineTest, SpikeDoesNotInflateBandOrMoveLevel) {
  Gaussian g(2);
  SeasonalBaselineOptions o;
  o.daily = o.weekly = false;
  auto b = *RobustSeasonalBaseline::Create(o);
  for (int64_t i = 0; i < 500; ++i) b.Update(SampleTime(i), 50.0 + g.Next());
  const Expectation before = b.Expect(SampleTime(500));
  b.Update(SampleTime(500), 50.0 * 50.0);  // A 50x spike.
  const Expectation after = b.Expect(SampleTime(501));
  EXPECT_LT(std::fabs(after.value - before.value), 0.2 * before.scale);
  EXPECT_LT(after.scale, 1.1 * before.scale);
  EXPECT_NEAR(before.value, 50.0, 0.5);
  EXPECT_NEAR(before.scale, 1.0, 0.3);
}

TEST(SeasonalBaselineTest, FrozenWhileFlaggedThenResumesAfterMaxFreeze) {
  SeasonalBaselineOptions o;
  o.daily = o.weekly = false;
  o.max_freeze = absl::Hours(1);
  auto b = *RobustSeasonalBaseline::Create(o);
  Gaussian g(3);
  for (int64_t i = 0; i < 300; ++i) b.Update(SampleTime(i), 10.0 + 0.1 * g.Next());
  // An incident: the value doubles; flagged samples within the first hour teach nothing.
  for (int64_t i = 300; i < 300 + 350; ++i) b.Update(SampleTime(i), 20.0, /*frozen=*/true);
  EXPECT_NEAR(b.Expect(SampleTime(650)).value, 10.0, 0.1);
  // Still flagged past max_freeze (10-second samples: 360 per hour): learning resumes.
  for (int64_t i = 650; i < 1500; ++i) b.Update(SampleTime(i), 20.0, /*frozen=*/true);
  EXPECT_GT(b.Expect(SampleTime(1500)).value, 15.0);
}

TEST(SeasonalBaselineTest, RejectsBadOptionsAndIgnoresNonFinite) {
  SeasonalBaselineOptions o;
  o.level_memory = absl::ZeroDuration();
  EXPECT_FALSE(RobustSeasonalBaseline::Create(o).ok());
  o = {};
  o.daily_buckets = 0;
  EXPECT_FALSE(RobustSeasonalBaseline::Create(o).ok());
  auto b = *RobustSeasonalBaseline::Create({});
  b.Update(SampleTime(0), std::nan(""));
  b.Update(SampleTime(1), INFINITY);
  EXPECT_EQ(b.samples(), 0);
  EXPECT_EQ(b.Residual(SampleTime(2), 5.0), 0.0);
}

}  // namespace
}  // namespace candor::detectors
