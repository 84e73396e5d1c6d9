#include "detectors/stream_drift.h"

#include "detectors/test_support.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

using testing::Gaussian;
using testing::SampleTime;

TEST(AdwinTest, DetectsMeanStepAndDropsOldWindow) {
  Gaussian g(1);
  Adwin a = *Adwin::Create({});
  int64_t detected = -1;
  Finding at;
  for (int64_t i = 0; i < 3000 && detected < 0; ++i) {
    const double x = (i < 2000 ? 0.2 : 0.5) + 0.1 * g.Next();
    Finding f = a.Update(SampleTime(i), x);
    if (f.active) {
      detected = i;
      at = f;
    }
  }
  ASSERT_GE(detected, 2000) << "false cut while the mean was stable";
  EXPECT_LE(detected - 2000, 64);  // Checked every 32 samples.
  EXPECT_EQ(at.direction, Direction::kUp);
  EXPECT_NEAR(at.baseline, 0.2, 0.05);
  EXPECT_GE(at.onset, SampleTime(1800));  // Resolution: one exponential-histogram bucket.
  EXPECT_LT(a.width(), 1000);             // The old regime was dropped.
}

TEST(AdwinTest, NoCutOnLongStableStreamAndBoundedMemory) {
  Gaussian g(2);
  Adwin a = *Adwin::Create({});
  int cuts = 0;
  for (int64_t i = 0; i < 20000; ++i) cuts += a.Update(SampleTime(i), 5.0 + g.Next()).active;
  EXPECT_EQ(cuts, 0);
  EXPECT_EQ(a.width(), 20000);
  EXPECT_NEAR(a.mean(), 5.0, 0.05);
  EXPECT_NEAR(a.variance(), 1.0, 0.05);
}

TEST(PageHinkleyTest, DetectsIncreaseWithOnsetAndStaysQuietInControl) {
  Gaussian g(3);
  PageHinkley ph = *PageHinkley::Create({});
  int64_t detected = -1;
  Finding at;
  for (int64_t i = 0; i < 12000 && detected < 0; ++i) {
    const double x = 10.0 + 0.1 * g.Next() + (i >= 10000 ? 1.0 : 0.0);
    Finding f = ph.Update(SampleTime(i), x);
    if (f.active) {
      detected = i;
      at = f;
    }
  }
  ASSERT_GE(detected, 10000);
  EXPECT_LE(detected - 10000, 80);  // About 50 / (1 - delta) samples of +1.
  EXPECT_EQ(at.direction, Direction::kUp);
  EXPECT_GE(at.onset, SampleTime(9900));  // The running minimum wanders a little.
}

TEST(PageHinkleyTest, DecreaseOnlyWhenWatched) {
  for (Sides sides : {Sides::kLower, Sides::kUpper}) {
    Gaussian g(4);
    PageHinkleyOptions o;
    o.sides = sides;
    PageHinkley ph = *PageHinkley::Create(o);
    bool alarmed = false;
    for (int64_t i = 0; i < 3000; ++i) {
      alarmed |= ph.Update(SampleTime(i), 10.0 + 0.1 * g.Next() - (i >= 1000 ? 1.0 : 0.0)).active;
    }
    EXPECT_EQ(alarmed, sides == Sides::kLower);
  }
}

TEST(StreamDriftTest, RejectsBadOptions) {
  AdwinOptions a;
  a.delta = 0.0;
  EXPECT_FALSE(Adwin::Create(a).ok());
  PageHinkleyOptions p;
  p.alpha = 1.5;
  EXPECT_FALSE(PageHinkley::Create(p).ok());
}

}  // namespace
}  // namespace candor::detectors
