#include "detectors/signal_detector.h"

#include <cmath>
#include <numbers>

#include "detectors/test_support.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

using testing::Gaussian;
using testing::SampleTime;

constexpr absl::Duration kStep = absl::Minutes(1);

// Tokens/s of a replica: a daily swing of +-10 % around 1000 with 2 % noise, 1-minute samples.
double TokensPerSecond(int64_t i, Gaussian& g) {
  const double day_frac = static_cast<double>(i % 1440) / 1440.0;
  return 1000.0 * (1.0 + 0.1 * std::sin(2.0 * std::numbers::pi * day_frac)) + 20.0 * g.Next();
}

SignalDetectorOptions Quiet() {
  // Charts designed for ARL0 = 1e5 each, so three days of in-control data pass silently.
  SignalDetectorOptions o;
  o.ewma = *EwmaOptions::ForArl(0.1, 1e5);
  o.cusum = *CusumOptions::ForArl(0.5, 1e5);
  o.shewhart_spike_samples = 3;
  return o;
}

TEST(SignalDetectorTest, NoAlarmOverThreeInControlDaysThenDetectsDrop) {
  Gaussian g(7);
  SignalDetector d = *SignalDetector::Create(Quiet());
  const int64_t change = 1440 * 3;
  int64_t first_alarm = -1;
  SignalVerdict at;
  for (int64_t i = 0; i < change + 120 && first_alarm < 0; ++i) {
    double x = TokensPerSecond(i, g);
    if (i >= change) x *= 0.9;  // A 10 % drop: about 5 noise sigmas.
    SignalVerdict v = d.Update(SampleTime(i, kStep), x);
    if (v.combined.active) {
      first_alarm = i;
      at = v;
    }
  }
  ASSERT_GE(first_alarm, change) << "false alarm on in-control data";
  EXPECT_LE(first_alarm - change, 5);
  EXPECT_EQ(at.combined.direction, Direction::kDown);
  EXPECT_GE(at.combined.onset, SampleTime(change - 3, kStep));
  EXPECT_TRUE(at.expectation.seasonal);
  EXPECT_LT(at.combined.observed, at.combined.baseline);
}

TEST(SignalDetectorTest, SmallSustainedShiftCaughtByEwmaOrCusum) {
  Gaussian g(8);
  SignalDetectorOptions o = Quiet();
  o.sides = Sides::kUpper;
  SignalDetector d = *SignalDetector::Create(o);
  const int64_t change = 3000;
  int64_t first_alarm = -1;
  for (int64_t i = 0; i < change + 400 && first_alarm < 0; ++i) {
    double x = 50.0 + g.Next() + (i >= change ? 1.0 : 0.0);  // A 1-sigma creep up.
    if (d.Update(SampleTime(i, kStep), x).combined.active) first_alarm = i;
  }
  ASSERT_GE(first_alarm, change);
  // CUSUM(k 0.5, h 9.9) one-sided ARL1 at 1 sigma is about 21 samples; allow 3x.
  EXPECT_LE(first_alarm - change, 65);
}

TEST(SignalDetectorTest, BaselineFrozenDuringIncident) {
  Gaussian g(9);
  SignalDetector d = *SignalDetector::Create(Quiet());
  for (int64_t i = 0; i < 2000; ++i) d.Update(SampleTime(i, kStep), 100.0 + g.Next());
  // A two-hour incident at +20 sigma stays active throughout: the baseline does not learn it.
  bool always_active = true;
  for (int64_t i = 2000; i < 2120; ++i) {
    SignalVerdict v = d.Update(SampleTime(i, kStep), 120.0 + g.Next());
    if (i > 2002) always_active &= v.combined.active;
  }
  EXPECT_TRUE(always_active);
  EXPECT_NEAR(d.last().expectation.value, 100.0, 0.5);
}

TEST(SignalDetectorTest, RejectsBadOptions) {
  SignalDetectorOptions o;
  o.shewhart_spike_samples = 0;
  EXPECT_FALSE(SignalDetector::Create(o).ok());
  o = {};
  o.cusum.h = -1;
  EXPECT_FALSE(SignalDetector::Create(o).ok());
}

}  // namespace
}  // namespace candor::detectors
