#include "detectors/spc_charts.h"

#include <cmath>
#include <functional>
#include <vector>

#include "detectors/arl.h"
#include "detectors/test_support.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

using testing::Gaussian;
using testing::SampleTime;

InControlOptions Standard() {
  InControlOptions o;
  o.mean = 0.0;
  o.sigma = 1.0;
  return o;
}

// Mean run length of `runs` zero-state runs of a chart on N(shift, 1) data (capped at `cap`).
double MeanRunLength(const std::function<StreamDetector*()>& fresh, double shift, int runs,
                     uint64_t seed, int64_t cap = 20000) {
  Gaussian g(seed);
  double total = 0.0;
  for (int r = 0; r < runs; ++r) {
    StreamDetector* d = fresh();
    int64_t n = 1;
    for (; n <= cap; ++n) {
      if (d->Update(SampleTime(n), shift + g.Next()).active) break;
    }
    total += static_cast<double>(n);
  }
  return total / runs;
}

TEST(ArlTest, CusumChainMatchesTextbookTable) {
  EXPECT_NEAR(*CusumArl(0.5, 5.0, 0.0), 465.3, 465.3 * 0.005);
  EXPECT_NEAR(*CusumArl(0.5, 5.0, 1.0), 10.4, 0.1);
  EXPECT_NEAR(*CusumArl(0.5, 5.0, 0.5), 38.0, 0.3);
  EXPECT_NEAR(*CusumArl(0.5, 4.0, 0.0), 167.7, 167.7 * 0.005);
  EXPECT_NEAR(*CusumArl(0.5, 4.0, 1.0), 8.4, 0.1);
}

TEST(ArlTest, EwmaChainMatchesTextbookTable) {
  EXPECT_NEAR(*EwmaArl(0.1, 2.814, 0.0), 498.8, 498.8 * 0.005);
  EXPECT_NEAR(*EwmaArl(0.1, 2.814, 1.0), 10.3, 0.1);
  EXPECT_NEAR(*EwmaArl(0.1, 2.814, 0.5), 31.3, 0.3);
  EXPECT_NEAR(*EwmaArl(0.05, 2.615, 0.5), 28.8, 0.3);
  EXPECT_NEAR(*EwmaArl(0.4, 3.054, 3.0), 2.0, 0.05);
}

TEST(ArlTest, DesignRecoversTabulatedLimits) {
  EXPECT_NEAR(*DesignCusumThreshold(0.5, 465.3), 5.0, 0.02);
  EXPECT_NEAR(*DesignEwmaLimit(0.1, 498.8), 2.814, 0.01);
  auto ewma = EwmaOptions::ForArl(0.2, 499.3);
  ASSERT_TRUE(ewma.ok());
  EXPECT_NEAR(ewma->limit_width, 2.962, 0.01);
}

TEST(ArlTest, RejectsBadArguments) {
  EXPECT_FALSE(CusumArl(-1.0, 5.0, 0.0).ok());
  EXPECT_FALSE(CusumArl(0.5, 0.0, 0.0).ok());
  EXPECT_FALSE(EwmaArl(0.0, 3.0, 0.0).ok());
  EXPECT_FALSE(DesignCusumThreshold(0.5, 0.5).ok());
  EXPECT_FALSE(DesignEwmaLimit(0.1, 1e13).ok());
  EXPECT_EQ(DesignCusumThreshold(0.5, 1e6, Sides::kBoth).status().code(), absl::StatusCode::kOk);
}

TEST(EwmaChartTest, InControlRunLengthMatchesDesignedArl0) {
  EwmaOptions o;
  o.in_control = Standard();
  std::vector<EwmaChart> charts;
  auto fresh = [&]() -> StreamDetector* {
    charts.assign(1, *EwmaChart::Create(o));
    return &charts[0];
  };
  // 1500 runs: the standard error of the mean is about ARL0 / sqrt(1500) = 2.6 %.
  EXPECT_NEAR(MeanRunLength(fresh, 0.0, 1500, 11), 498.8, 498.8 * 0.09);
  EXPECT_NEAR(MeanRunLength(fresh, 1.0, 2000, 12), 10.3, 10.3 * 0.06);
  EXPECT_NEAR(MeanRunLength(fresh, 0.5, 2000, 13), 31.3, 31.3 * 0.06);
}

TEST(CusumChartTest, InControlRunLengthMatchesDesignedArl0) {
  CusumOptions o;
  o.in_control = Standard();
  std::vector<CusumChart> charts;
  auto fresh = [&]() -> StreamDetector* {
    charts.assign(1, *CusumChart::Create(o));
    return &charts[0];
  };
  EXPECT_NEAR(MeanRunLength(fresh, 0.0, 1500, 21), 465.3, 465.3 * 0.09);
  EXPECT_NEAR(MeanRunLength(fresh, 1.0, 2000, 22), 10.4, 10.4 * 0.05);
  EXPECT_NEAR(MeanRunLength(fresh, 2.0, 2000, 23), 4.0, 4.0 * 0.05);
}

TEST(ShewhartChartTest, RunLengthsMatchTables) {
  ShewhartOptions o;
  o.in_control = Standard();
  o.rules = kRuleBeyond3Sigma;
  std::vector<ShewhartChart> charts;
  auto fresh = [&]() -> StreamDetector* {
    charts.assign(1, *ShewhartChart::Create(o));
    return &charts[0];
  };
  EXPECT_NEAR(MeanRunLength(fresh, 0.0, 1500, 31), 370.4, 370.4 * 0.09);
  EXPECT_NEAR(MeanRunLength(fresh, 2.0, 2000, 32), 6.3, 6.3 * 0.06);
  o.rules = kWesternElectricRules;
  EXPECT_NEAR(MeanRunLength(fresh, 0.0, 2000, 33), 92.5, 92.5 * 0.08);
  EXPECT_NEAR(MeanRunLength(fresh, 1.0, 2000, 34), 9.3, 9.3 * 0.06);
}

TEST(ShewhartChartTest, NelsonRulesFireOnTheirPatterns) {
  ShewhartOptions o;
  o.in_control = Standard();
  o.rules = kNelsonRules;
  auto run = [&](const std::vector<double>& xs) {
    ShewhartChart c = *ShewhartChart::Create(o);
    for (size_t i = 0; i < xs.size(); ++i) c.Update(SampleTime(static_cast<int64_t>(i)), xs[i]);
    return c.last_rules_fired();
  };
  EXPECT_EQ(run({0.1, 4.0}), kRuleBeyond3Sigma);
  EXPECT_EQ(run({2.5, 0.0, 2.5}), kRuleTwoOfThreeBeyond2);
  EXPECT_EQ(run({1.5, 1.5, 0.5, 1.5, 1.5}), kRuleFourOfFiveBeyond1);
  EXPECT_EQ(run({0.3, 0.2, 0.3, 0.2, 0.3, 0.2, 0.3, 0.2, 0.3}), kRuleNineOneSide);
  EXPECT_EQ(run({-0.9, -0.5, -0.2, 0.1, 0.4, 0.8}), kRuleSixTrending);
  std::vector<double> alternating;
  for (int i = 0; i < 14; ++i) alternating.push_back(i % 2 == 0 ? 0.5 : -0.5);
  EXPECT_EQ(run(alternating), kRuleFourteenAlternating);
  std::vector<double> hugging(15, 0.0);
  for (int i = 0; i < 15; ++i) hugging[static_cast<size_t>(i)] = (i % 3 - 1) * 0.4;
  EXPECT_EQ(run(hugging) & kRuleFifteenWithin1, kRuleFifteenWithin1);
  EXPECT_EQ(run({1.5, -1.5, 1.5, -1.5, -1.5, 1.5, -1.5, 1.8}) & kRuleEightOutside1,
            kRuleEightOutside1);
}

// Known change point: a 2-sigma step at sample 1000 of a chart designed for ARL0 = 1e5 (so
// 1000 in-control samples pass silently with probability 0.99) is detected within the
// documented delay: ARL1(2 sigma) = 7.5 for h = 9.9, allowed up to 15.
TEST(CusumChartTest, DetectsStepWithinDelayAndOnsetNearChange) {
  Gaussian g(41);
  CusumOptions o = *CusumOptions::ForArl(0.5, 1e5);
  o.in_control.warmup_samples = 200;  // Estimates mu0 and sigma, then freezes them.
  EXPECT_NEAR(*CusumArl(0.5, o.h, 2.0), 7.5, 0.5);
  CusumChart c = *CusumChart::Create(o);
  int64_t detected = -1;
  Finding at;
  for (int64_t i = 0; i < 1200 && detected < 0; ++i) {
    const double x = 100.0 + 5.0 * g.Next() + (i >= 1000 ? 10.0 : 0.0);
    Finding f = c.Update(SampleTime(i), x);
    if (f.active) {
      detected = i;
      at = f;
    }
  }
  ASSERT_GE(detected, 1000) << "false alarm before the change";
  EXPECT_LE(detected - 1000, 15);
  EXPECT_EQ(at.direction, Direction::kUp);
  EXPECT_EQ(at.statistic, "cusum_upper");
  EXPECT_GE(at.onset, SampleTime(995));
  EXPECT_LE(at.onset, SampleTime(detected));
  EXPECT_NEAR(at.baseline, 100.0, 2.5);
}

TEST(EwmaChartTest, DetectsDownwardShiftOnlyWhenWatchingDown) {
  for (Sides sides : {Sides::kLower, Sides::kUpper}) {
    Gaussian g(51);
    EwmaOptions o;
    o.sides = sides;
    o.in_control = Standard();
    EwmaChart c = *EwmaChart::Create(o);
    int64_t detected = -1;
    for (int64_t i = 0; i < 1300 && detected < 0; ++i) {
      if (c.Update(SampleTime(i), g.Next() - (i >= 1000 ? 1.0 : 0.0)).active) detected = i;
    }
    if (sides == Sides::kLower) {
      EXPECT_GE(detected, 1000);
      EXPECT_LE(detected - 1000, 40);  // ARL1(1 sigma) = 10.3 two-sided.
    } else {
      EXPECT_EQ(detected, -1);
    }
  }
}

TEST(SpcChartsTest, LongInControlRunHasNoAlarmAtHighArl0) {
  // Charts designed for ARL0 = 1e6 stay silent over 20,000 in-control samples.
  Gaussian g(61);
  CusumOptions co = *CusumOptions::ForArl(0.5, 1e6);
  co.in_control = Standard();
  EwmaOptions eo = *EwmaOptions::ForArl(0.1, 1e6);
  eo.in_control = Standard();
  CusumChart cusum = *CusumChart::Create(co);
  EwmaChart ewma = *EwmaChart::Create(eo);
  int alarms = 0;
  for (int64_t i = 0; i < 20000; ++i) {
    const double x = g.Next();
    alarms += cusum.Update(SampleTime(i), x).active ? 1 : 0;
    alarms += ewma.Update(SampleTime(i), x).active ? 1 : 0;
  }
  EXPECT_EQ(alarms, 0);
}

TEST(SpcChartsTest, WarmupAndBadInput) {
  EwmaOptions bad;
  bad.lambda = 1.5;
  EXPECT_EQ(EwmaChart::Create(bad).status().code(), absl::StatusCode::kInvalidArgument);
  CusumOptions bad_cusum;
  bad_cusum.in_control.sigma = -1.0;
  EXPECT_FALSE(CusumChart::Create(bad_cusum).ok());
  ShewhartOptions bad_rules;
  bad_rules.rules = 0;
  EXPECT_FALSE(ShewhartChart::Create(bad_rules).ok());

  CusumChart c = *CusumChart::Create(CusumOptions{});
  for (int i = 0; i < 29; ++i) EXPECT_FALSE(c.Update(SampleTime(i), 1000.0 * i).active);
  EXPECT_FALSE(c.warmed_up());
  c.Update(SampleTime(29), 5.0);
  EXPECT_TRUE(c.warmed_up());
  Finding nan = c.Update(SampleTime(30), std::nan(""));
  EXPECT_FALSE(nan.active);
  // A constant warm-up gets the sigma floor, not a division by zero.
  CusumChart flat = *CusumChart::Create(CusumOptions{});
  for (int i = 0; i < 30; ++i) flat.Update(SampleTime(i), 7.0);
  EXPECT_GT(flat.in_control_sigma(), 0.0);
  EXPECT_TRUE(flat.Update(SampleTime(31), 8.0).active);
}

}  // namespace
}  // namespace candor::detectors
