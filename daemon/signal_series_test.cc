#include "daemon/signal_series.h"

#include <memory>
#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"
#include "store/series_store.h"
#include "tests/testing/subprocess.h"

namespace candor::daemon {
namespace {

using detectors::Signal;
using detectors::WindowSummary;

const absl::Time kT0 = absl::FromUnixSeconds(1767571200);

class SignalSeriesTest : public ::testing::Test {
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

  static WindowSummary Summary(EntityId entity, double requests, double p95) {
    WindowSummary w;
    w.entity = std::move(entity);
    w.Set(Signal::kRequests, requests);
    w.Set(Signal::kLatencyP95, p95);
    return w;
  }

  std::vector<store::Sample> Samples(const std::string& metric, const std::string& entity) {
    auto data = store_->Select({store::LabelMatcher::Equal("__name__", metric),
                                store::LabelMatcher::Equal("entity", entity)},
                               INT64_MIN, INT64_MAX);
    EXPECT_TRUE(data.ok()) << data.status();
    if (!data.ok() || data->empty()) return {};
    return (*data)[0].samples;
  }

  testing::TempDir dir_;
  SimulatedClock clock_;
  std::unique_ptr<store::SeriesStore> store_;
};

TEST_F(SignalSeriesTest, WritesEachSignalAtTheWindowEndAndSkipsMissingValues) {
  SignalSeries writer(*store_, nullptr);
  const EntityId replica{EntityKind::kReplica, "r1"};
  writer.OnWindow(kT0, kT0 + absl::Seconds(10), {Summary(replica, 12, 850)});
  writer.OnWindow(kT0 + absl::Seconds(10), kT0 + absl::Seconds(20),
                  {Summary(replica, 7, detectors::kNoValue)});
  ASSERT_TRUE(writer.Flush().ok());
  const auto requests = Samples("candor_signal_requests", "replica:r1");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].t, absl::ToUnixMillis(kT0 + absl::Seconds(10)));
  EXPECT_EQ(requests[0].v, 12);
  EXPECT_EQ(requests[1].v, 7);
  // No latency in the second window: no sample, not a zero.
  const auto p95 = Samples(
      std::string("candor_signal_") + std::string(detectors::SignalName(Signal::kLatencyP95)),
      "replica:r1");
  ASSERT_EQ(p95.size(), 1u);
  EXPECT_EQ(p95[0].v, 850);
  // Only the values a summary holds are written: NaN (no data) never is.
  const SignalSeriesStats stats = writer.Stats();
  EXPECT_EQ(stats.write_errors, 0u);
  EXPECT_EQ(stats.dropped_windows, 0u);
  EXPECT_EQ(stats.samples, 3u);
  EXPECT_EQ(stats.series, 2u);
  // A second flush with nothing queued writes nothing.
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(writer.Stats().samples, 3u);
}

TEST_F(SignalSeriesTest, AFullQueueDropsTheOldestWindowsAndCountsThem) {
  SignalSeriesOptions options;
  options.max_queued = 2;
  SignalSeries writer(*store_, nullptr, options);
  for (int i = 0; i < 5; ++i) {
    writer.OnWindow(kT0 + absl::Seconds(10 * i), kT0 + absl::Seconds(10 * i + 10),
                    {Summary({EntityKind::kNode, "n1"}, i, detectors::kNoValue)});
  }
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(writer.Stats().dropped_windows, 3u);
  const auto requests = Samples("candor_signal_requests", "node:n1");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].v, 3);
  EXPECT_EQ(requests[1].v, 4);
}

TEST_F(SignalSeriesTest, SamplesTheStoreRefusesAreCountedAndReported) {
  SignalSeries writer(*store_, nullptr);
  // Far in the future of the store's clock: refused by max_future.
  writer.OnWindow(kT0 + absl::Hours(5), kT0 + absl::Hours(5) + absl::Seconds(10),
                  {Summary({EntityKind::kNode, "n1"}, 1, detectors::kNoValue)});
  const absl::Status s = writer.Flush();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(writer.Stats().write_errors, 1u);
  EXPECT_EQ(writer.Stats().samples, 0u);
}

}  // namespace
}  // namespace candor::daemon
