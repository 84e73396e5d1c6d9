#include "detectors/window_drift.h"

#include <cmath>
#include <vector>

#include "detectors/test_support.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

using testing::Gaussian;

std::vector<double> Normal(Gaussian& g, size_t n, double mean, double sd) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(mean + sd * g.Next());
  return v;
}

TEST(WindowDriftTest, BuildingBlocksMatchClosedForms) {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const std::vector<double> b = {11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  const KsResult ks = KolmogorovSmirnov(a, b);
  EXPECT_DOUBLE_EQ(ks.d, 1.0);
  EXPECT_LT(ks.p_value, 1e-4);  // scipy's exact value is 1.1e-5.
  EXPECT_DOUBLE_EQ(Wasserstein1(std::vector<double>{0, 1}, std::vector<double>{1, 2}), 1.0);
  EXPECT_DOUBLE_EQ(Wasserstein1(a, a), 0.0);
  EXPECT_NEAR(JensenShannonDistance(std::vector<double>{1, 0}, std::vector<double>{0, 1}),
              std::sqrt(std::log(2.0)), 1e-12);
  EXPECT_NEAR(JensenShannonDistance(std::vector<double>{3, 7}, std::vector<double>{30, 70}), 0.0,
              1e-12);
  EXPECT_NEAR(PopulationStabilityIndex(std::vector<double>{90, 10}, std::vector<double>{10, 90}),
              2 * 0.8 * std::log(9.0), 1e-12);
  EXPECT_NEAR(ChiSquaredSurvival(3.841459, 1), 0.05, 1e-6);
  EXPECT_NEAR(ChiSquaredSurvival(5.991465, 2), 0.05, 1e-6);
  EXPECT_NEAR(ChiSquaredSurvival(11.0705, 5), 0.05, 1e-5);
  EXPECT_NEAR(ChiSquaredSurvival(50.0, 30), 0.01237, 1e-4);
}

TEST(WindowDriftTest, SmallReferenceUsesKs) {
  Gaussian g(1);
  const auto ref = Normal(g, 500, 100.0, 10.0);
  DriftResult same = *NumericDrift(ref, Normal(g, 500, 100.0, 10.0));
  EXPECT_EQ(same.test, DriftTest::kKolmogorovSmirnov);
  EXPECT_FALSE(same.drifted);
  EXPECT_LT(same.psi, 0.1);
  DriftResult shifted = *NumericDrift(ref, Normal(g, 500, 105.0, 10.0));
  EXPECT_TRUE(shifted.drifted);
  EXPECT_LE(shifted.p_value, 0.05);
  Finding f = ToFinding(shifted, absl::UnixEpoch());
  EXPECT_TRUE(f.active);
  EXPECT_EQ(f.detector, "ks");
  EXPECT_EQ(f.statistic, "p_value");
}

TEST(WindowDriftTest, LargeReferenceUsesNormedWasserstein) {
  Gaussian g(2);
  const auto ref = Normal(g, 5000, 0.0, 2.0);
  // A 0.02-sigma shift on 5000 points: KS would call it significant-ish; the distance does not.
  DriftResult tiny = *NumericDrift(ref, Normal(g, 5000, 0.04, 2.0));
  EXPECT_EQ(tiny.test, DriftTest::kWasserstein);
  EXPECT_FALSE(tiny.drifted);
  DriftResult real = *NumericDrift(ref, Normal(g, 5000, 0.5, 2.0));
  EXPECT_TRUE(real.drifted);
  EXPECT_NEAR(real.statistic, 0.25, 0.05);
  EXPECT_TRUE(std::isnan(real.p_value));
}

TEST(WindowDriftTest, CategoricalTestsFollowEvidentlyRule) {
  // Three categories, small reference: chi-squared.
  DriftResult chi =
      *CategoricalDrift(std::vector<double>{300, 300, 300}, std::vector<double>{100, 100, 160});
  EXPECT_EQ(chi.test, DriftTest::kChiSquared);
  EXPECT_TRUE(chi.drifted);
  DriftResult stable =
      *CategoricalDrift(std::vector<double>{300, 300, 300}, std::vector<double>{100, 105, 95});
  EXPECT_FALSE(stable.drifted);
  // Binary: two-proportion Z test (validation failed 2 % -> 6 %).
  DriftResult z = *CategoricalDrift(std::vector<double>{980, 20}, std::vector<double>{470, 30});
  EXPECT_EQ(z.test, DriftTest::kZProportion);
  EXPECT_TRUE(z.drifted);
  // Large reference: Jensen-Shannon.
  DriftResult js =
      *CategoricalDrift(std::vector<double>{5000, 5000}, std::vector<double>{500, 500});
  EXPECT_EQ(js.test, DriftTest::kJensenShannon);
  EXPECT_FALSE(js.drifted);
  // A numeric column with few distinct values is treated as categorical.
  std::vector<double> ref;
  std::vector<double> cur;
  for (int i = 0; i < 300; ++i) ref.push_back(i % 3);
  for (int i = 0; i < 300; ++i) cur.push_back(i % 2);
  EXPECT_EQ(NumericDrift(ref, cur)->test, DriftTest::kChiSquared);
  EXPECT_TRUE(NumericDrift(ref, cur)->drifted);
}

TEST(WindowDriftTest, RejectsBadInput) {
  EXPECT_EQ(CategoricalDrift(std::vector<double>{1, 2}, std::vector<double>{1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(CategoricalDrift(std::vector<double>{10, -1}, std::vector<double>{5, 5}).ok());
  EXPECT_EQ(NumericDrift(std::vector<double>{1, 2}, std::vector<double>{1, 2, 3, 4, 5, 6})
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  DriftOptions bad;
  bad.p_threshold = 0.0;
  EXPECT_FALSE(NumericDrift(std::vector<double>(10, 1.0), std::vector<double>(10, 1.0), bad).ok());
  // Non-finite values are dropped, not propagated.
  std::vector<double> with_nan = {1, 2, 3, 4, 5, NAN, INFINITY};
  EXPECT_TRUE(NumericDrift(with_nan, with_nan).ok());
}

}  // namespace
}  // namespace candor::detectors
