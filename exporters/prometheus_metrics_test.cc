#include "exporters/prometheus_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::exporters {
namespace {

using ::testing::HasSubstr;

TEST(PrometheusMetricsTest, SameNameAndLabelsReturnSameMetric) {
  PrometheusMetrics m;
  Counter& a = m.GetCounter("candor_test_things_total", "Things.", {{"kind", "a"}});
  Counter& a2 = m.GetCounter("candor_test_things_total", "Things.", {{"kind", "a"}});
  Counter& b = m.GetCounter("candor_test_things_total", "Things.", {{"kind", "b"}});
  EXPECT_EQ(&a, &a2);
  EXPECT_NE(&a, &b);
  a.Increment(2);
  b.Increment();
  const std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE candor_test_things_total counter"));
  EXPECT_THAT(text, HasSubstr("candor_test_things_total{kind=\"a\"} 2"));
  EXPECT_THAT(text, HasSubstr("candor_test_things_total{kind=\"b\"} 1"));
}

TEST(PrometheusMetricsTest, GaugesAndHistograms) {
  PrometheusMetrics m;
  m.GetGauge("candor_test_depth", "Depth.").Set(7);
  m.GetHistogram("candor_test_seconds", "Seconds.", {0.1, 1}).Observe(0.5);
  const std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("candor_test_depth 7"));
  EXPECT_THAT(text, HasSubstr("candor_test_seconds_bucket{le=\"1\"} 1"));
  EXPECT_THAT(text, HasSubstr("candor_test_seconds_count 1"));
}

}  // namespace
}  // namespace candor::exporters
