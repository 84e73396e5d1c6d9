#include "detectors/anomaly_likelihood.h"

#include <cmath>

#include "detectors/test_support.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

using testing::Gaussian;

TEST(AnomalyLikelihoodTest, CalibratedAgainstOwnHistory) {
  Gaussian g(1);
  AnomalyLikelihood l = *AnomalyLikelihood::Create({});
  int high = 0;
  for (int i = 0; i < 5000; ++i) {
    const double p = l.Update(0.2 + 0.05 * std::fabs(g.Next()));
    if (i < 299) {
      EXPECT_EQ(p, 0.5);
    }
    if (i > 1000 && p > 0.9999) ++high;
  }
  EXPECT_LE(high, 5);  // In-control: the far tail is rare.
  double p = 0.0;
  for (int i = 0; i < 10; ++i) p = l.Update(0.9);  // A run of high raw scores.
  EXPECT_GT(p, 0.99999);
  EXPECT_GT(AnomalyLikelihood::LogLikelihood(p), 0.5);
}

TEST(AnomalyLikelihoodTest, LogLikelihoodScale) {
  EXPECT_NEAR(AnomalyLikelihood::LogLikelihood(0.5), 0.0301, 1e-4);
  EXPECT_NEAR(AnomalyLikelihood::LogLikelihood(1.0 - 1e-5), 0.5, 1e-3);
  EXPECT_NEAR(AnomalyLikelihood::LogLikelihood(1.0), 1.0, 1e-8);
  EXPECT_EQ(AnomalyLikelihood::LogLikelihood(0.0), 0.0);
}

TEST(AnomalyLikelihoodTest, NoisySeriesNeedsBiggerRawScores) {
  // The same raw score is unusual on a quiet series and ordinary on a noisy one.
  Gaussian g(2);
  AnomalyLikelihood quiet = *AnomalyLikelihood::Create({});
  AnomalyLikelihood noisy = *AnomalyLikelihood::Create({});
  for (int i = 0; i < 2000; ++i) {
    quiet.Update(0.1 + 0.01 * g.Next());
    noisy.Update(0.4 + 0.2 * g.Next());
  }
  double q = 0.0;
  double n = 0.0;
  for (int i = 0; i < 10; ++i) {
    q = quiet.Update(0.5);
    n = noisy.Update(0.5);
  }
  EXPECT_GT(q, 0.9999);
  EXPECT_LT(n, 0.99);
}

TEST(AnomalyLikelihoodTest, RejectsBadOptions) {
  AnomalyLikelihoodOptions o;
  o.history = 5;
  EXPECT_FALSE(AnomalyLikelihood::Create(o).ok());
  o = {};
  o.min_sigma = 0.0;
  EXPECT_FALSE(AnomalyLikelihood::Create(o).ok());
}

}  // namespace
}  // namespace candor::detectors
