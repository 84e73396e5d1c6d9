#include "detectors/peer.h"

#include <cmath>
#include <vector>

#include "detectors/test_support.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

using testing::Gaussian;
using testing::SampleTime;

TEST(PeerMadZTest, FlagsTheSlowProviderOnly) {
  const std::vector<double> peers = {100.0, 103.0, 98.0, 101.0, 99.0};
  Finding slow = *PeerMadZ(SampleTime(0), 60.0, peers, {});
  EXPECT_TRUE(slow.active);
  EXPECT_EQ(slow.direction, Direction::kDown);
  EXPECT_NEAR(slow.baseline, 100.0, 1e-9);
  EXPECT_LT(slow.statistic_value, -3.5);
  Finding normal = *PeerMadZ(SampleTime(0), 102.0, peers, {});
  EXPECT_FALSE(normal.active);
  // Identical peers: the 1 % MAD floor keeps a 0.5 % difference unremarkable.
  const std::vector<double> same = {50.0, 50.0, 50.0, 50.0};
  EXPECT_FALSE(PeerMadZ(SampleTime(0), 50.25, same, {})->active);
  EXPECT_TRUE(PeerMadZ(SampleTime(0), 40.0, same, {})->active);
}

TEST(PeerMadZTest, ErrorsOnTooFewPeersOrBadValues) {
  const std::vector<double> two = {1.0, 2.0};
  EXPECT_EQ(PeerMadZ(SampleTime(0), 1.0, two, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const std::vector<double> peers = {1.0, 2.0, 3.0};
  EXPECT_EQ(PeerMadZ(SampleTime(0), -1.0, peers, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(PeerMadZ(SampleTime(0), NAN, peers, {}).ok());
  const std::vector<double> with_nan = {1.0, NAN, 2.0, 3.0};
  EXPECT_TRUE(PeerMadZ(SampleTime(0), 2.0, with_nan, {}).ok());
}

TEST(PeerRatioCusumTest, OneProviderDownFortyPercentIsCaughtQuickly) {
  Gaussian g(5);
  PeerRatioCusumOptions o;
  o.cusum.sides = Sides::kLower;
  PeerRatioCusum d = *PeerRatioCusum::Create(o);
  const int64_t change = 2000;
  int64_t detected = -1;
  Finding at;
  for (int64_t w = 0; w < change + 50 && detected < 0; ++w) {
    // A fleet-wide daily swing that the peer comparison must ignore.
    const double fleet = 1000.0 * (1.0 + 0.3 * std::sin(static_cast<double>(w) / 100.0));
    std::vector<double> peers;
    for (int p = 0; p < 4; ++p) peers.push_back(fleet * (1.0 + 0.03 * g.Next()));
    double mine = 0.9 * fleet * (1.0 + 0.03 * g.Next());  // A steady 10 % gap is normal.
    if (w >= change) mine *= 0.6;
    Finding f = *d.Update(SampleTime(w), mine, peers);
    if (f.active) {
      detected = w;
      at = f;
    }
  }
  ASSERT_GE(detected, change) << "false alarm before the drop";
  EXPECT_LE(detected - change, 3);
  EXPECT_EQ(at.direction, Direction::kDown);
  EXPECT_EQ(at.detector, "peer_ratio_cusum");
  EXPECT_LT(d.ratio(), 0.85);  // Smoothed (EW 0.2), still catching up with 0.54.
  EXPECT_GE(at.onset, SampleTime(change - 1));
}

TEST(PeerRatioCusumTest, RejectsBadInput) {
  PeerRatioCusum d = *PeerRatioCusum::Create({});
  const std::vector<double> peers = {1.0, 2.0};
  EXPECT_EQ(d.Update(SampleTime(0), 0.0, peers).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<double> one = {1.0};
  EXPECT_EQ(d.Update(SampleTime(0), 1.0, one).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const std::vector<double> bad = {1.0, -2.0};
  EXPECT_FALSE(d.Update(SampleTime(0), 1.0, bad).ok());
}

TEST(MannWhitneyJudgeTest, MatchesRWilcoxTestNormalApproximation) {
  // R: wilcox.test(1:5, 6:10, exact = FALSE, conf.int = TRUE) gives W = 0, p = 0.01219,
  // difference in location -5.
  const std::vector<double> x = {1, 2, 3, 4, 5};
  const std::vector<double> y = {6, 7, 8, 9, 10};
  MannWhitneyResult r = *MannWhitneyJudge(x, y, {});
  EXPECT_DOUBLE_EQ(r.u, 0.0);
  EXPECT_NEAR(r.p_value, 0.01219, 5e-5);
  EXPECT_NEAR(r.hl_estimate, -5.0, 0.51);
  EXPECT_LT(r.ci_upper, 0.0);
  EXPECT_LE(r.ci_lower, -5.0);
  // The 98 % interval is [-9, -1]: its upper end is inside the 0.25 |HL| = 1.25 tolerance
  // band, so Kayenta's rule passes this small sample; with twice the data it fails low.
  EXPECT_EQ(r.verdict, JudgeVerdict::kPass);
  EXPECT_DOUBLE_EQ(r.cles, 0.0);
  const std::vector<double> x2 = {1, 2, 3, 4, 5, 1.5, 2.5, 3.5, 4.5, 5.5};
  const std::vector<double> y2 = {6, 7, 8, 9, 10, 6.5, 7.5, 8.5, 9.5, 10.5};
  EXPECT_EQ(MannWhitneyJudge(x2, y2, {})->verdict, JudgeVerdict::kLow);
}

TEST(MannWhitneyJudgeTest, CanaryLatencyRegressionIsHighWithShiftEstimate) {
  Gaussian g(9);
  std::vector<double> canary;
  std::vector<double> stable;
  for (int i = 0; i < 200; ++i) {
    stable.push_back(std::exp(5.0 + 0.3 * g.Next()));
    canary.push_back(std::exp(5.0 + 0.3 * g.Next()) + 30.0);  // +30 ms.
  }
  MannWhitneyOptions o;
  o.direction = Sides::kUpper;
  MannWhitneyResult r = *MannWhitneyJudge(canary, stable, o);
  EXPECT_EQ(r.verdict, JudgeVerdict::kHigh);
  EXPECT_NEAR(r.hl_estimate, 30.0, 12.0);
  EXPECT_GT(r.ci_lower, 0.25 * r.hl_estimate);
  EXPECT_LT(r.ci_lower, r.hl_estimate);
  EXPECT_GT(r.ci_upper, r.hl_estimate);
  EXPECT_GT(r.mean_ratio, 1.0);
  Finding f = ToFinding(r, SampleTime(0), o);
  EXPECT_TRUE(f.active);
  EXPECT_EQ(f.direction, Direction::kUp);
  // The same regression on a metric where only decreases matter passes.
  o.direction = Sides::kLower;
  EXPECT_EQ(MannWhitneyJudge(canary, stable, o)->verdict, JudgeVerdict::kPass);
}

TEST(MannWhitneyJudgeTest, SameDistributionPassesAndEdgeCases) {
  Gaussian g(10);
  std::vector<double> a;
  std::vector<double> b;
  for (int i = 0; i < 100; ++i) {
    a.push_back(100.0 + g.Next());
    b.push_back(100.0 + g.Next());
  }
  EXPECT_EQ(MannWhitneyJudge(a, b, {})->verdict, JudgeVerdict::kPass);
  const std::vector<double> empty;
  EXPECT_EQ(MannWhitneyJudge(empty, b, {})->verdict, JudgeVerdict::kNoData);
  const std::vector<double> flat(10, 3.0);
  EXPECT_EQ(MannWhitneyJudge(flat, flat, {})->verdict, JudgeVerdict::kPass);
  MannWhitneyOptions bad;
  bad.confidence = 1.0;
  EXPECT_FALSE(MannWhitneyJudge(a, b, bad).ok());
}

}  // namespace
}  // namespace candor::detectors
