#include "collector/kernel_series.h"

#include <google/protobuf/util/time_util.h>

#include <memory>
#include <string>

#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/series_store.h"
#include "tests/testing/subprocess.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1767571200);

candor::v1::IngestItem Summary(const std::string& node, int interval, double gemm_ms) {
  candor::v1::IngestItem item;
  auto* s = item.mutable_kernel_summary();
  const absl::Time start = kT0 + absl::Seconds(10 * interval);
  *s->mutable_interval_start() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(start));
  *s->mutable_interval_end() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(start + absl::Seconds(10)));
  s->set_node(node);
  s->set_gpu("GPU-" + node);
  s->set_pid(42);
  s->set_process_name("vllm-worker");
  s->set_model("llama-3-70b");
  s->set_kernel_count(100);
  s->set_kernel_busy_ms(5000);
  s->set_dropped_records(interval == 0 ? 7 : 0);
  auto* k = s->add_top_kernels();
  k->set_name("gemm");
  k->set_count(100);
  k->set_total_ms(100 * gemm_ms);
  k->set_min_ms(gemm_ms);
  k->set_max_ms(gemm_ms);
  return item;
}

class KernelSeriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetTime(kT0 + absl::Hours(1));
    store::SeriesStoreOptions o;
    o.path = dir_.path() + "/tsdb";
    o.wal_sync = false;
    auto s = store::SeriesStore::Open(o, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  std::vector<store::Sample> Samples(const std::string& metric, const std::string& node) {
    auto data = store_->Select(
        {store::LabelMatcher::Equal("__name__", metric), store::LabelMatcher::Equal("node", node)},
        INT64_MIN, INT64_MAX);
    EXPECT_TRUE(data.ok()) << data.status();
    if (!data.ok() || data->empty()) return {};
    return (*data)[0].samples;
  }

  testing::TempDir dir_;
  SimulatedClock clock_;
  std::unique_ptr<store::SeriesStore> store_;
};

TEST_F(KernelSeriesTest, SummariesBecomeSeriesAndOtherItemsAreIgnored) {
  KernelSeries series(*store_, nullptr);
  series.OnItem(Summary("n1", 0, 2.0));
  series.OnItem(Summary("n1", 1, 2.0));
  candor::v1::IngestItem other;
  other.mutable_replica_sample()->set_replica("r1");
  series.OnItem(other);
  ASSERT_TRUE(series.Flush().ok());
  const auto launches = Samples("candor_kernel_launches", "n1");
  ASSERT_EQ(launches.size(), 2u);
  EXPECT_EQ(launches[0].t, absl::ToUnixMillis(kT0 + absl::Seconds(10)));
  EXPECT_EQ(launches[0].v, 100);
  const auto busy = Samples("candor_kernel_busy_ratio", "n1");
  ASSERT_EQ(busy.size(), 2u);
  EXPECT_DOUBLE_EQ(busy[0].v, 0.5);
  const auto mean = Samples("candor_kernel_duration_mean_ms", "n1");
  ASSERT_EQ(mean.size(), 2u);
  EXPECT_DOUBLE_EQ(mean[1].v, 2.0);
  EXPECT_EQ(Samples("candor_kernel_dropped_records", "n1")[0].v, 7);
  EXPECT_EQ(series.Stats().summaries, 2u);
  EXPECT_EQ(series.Stats().write_errors, 0u);
}

TEST_F(KernelSeriesTest, AKernelSlowerThanItsBaselineAndPeersIsAFinding) {
  KernelSeries series(*store_, nullptr);
  int interval = 0;
  for (; interval < 40; ++interval) {
    for (const char* node : {"n1", "n2", "n3"}) series.OnItem(Summary(node, interval, 2.0));
  }
  ASSERT_TRUE(series.Flush().ok());
  EXPECT_THAT(series.ActiveFindingsJson(), Not(HasSubstr("\"n1\"")));
  // n1's gemm now takes 40 % longer; its peers do not change.
  for (; interval < 46; ++interval) {
    series.OnItem(Summary("n1", interval, 2.8));
    series.OnItem(Summary("n2", interval, 2.0));
    series.OnItem(Summary("n3", interval, 2.0));
  }
  ASSERT_TRUE(series.Flush().ok());
  EXPECT_EQ(series.Stats().findings_started, 1u);
  const std::string json = series.ActiveFindingsJson();
  EXPECT_THAT(json, HasSubstr("\"node\":\"n1\""));
  EXPECT_THAT(json, HasSubstr("\"kernel\":\"gemm\""));
  const auto ratio = Samples("candor_kernel_slowdown_ratio", "n1");
  ASSERT_FALSE(ratio.empty());
  EXPECT_NEAR(ratio.back().v, 1.4, 0.05);
  EXPECT_TRUE(Samples("candor_kernel_slowdown_ratio", "n2").empty());
}

TEST_F(KernelSeriesTest, SamplesTheStoreRefusesAreCounted) {
  KernelSeries series(*store_, nullptr);
  candor::v1::IngestItem item = Summary("n1", 0, 2.0);
  // Far in the future of the store's clock: refused by max_future, counted, reported.
  *item.mutable_kernel_summary()->mutable_interval_end() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(kT0 + absl::Hours(10)));
  series.OnItem(item);
  EXPECT_FALSE(series.Flush().ok());
  EXPECT_GT(series.Stats().write_errors, 0u);
  EXPECT_EQ(series.Stats().samples, 0u);
}

TEST_F(KernelSeriesTest, AFullQueueDropsTheOldestAndCountsThem) {
  KernelSeriesOptions options;
  options.max_queued = 1;
  KernelSeries series(*store_, nullptr, options);
  series.OnItem(Summary("n1", 0, 2.0));
  series.OnItem(Summary("n1", 1, 2.0));
  ASSERT_TRUE(series.Flush().ok());
  EXPECT_EQ(series.Stats().dropped_summaries, 1u);
  EXPECT_EQ(Samples("candor_kernel_launches", "n1").size(), 1u);
}

}  // namespace
}  // namespace candor::collector
