#include "collector/signals.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::collector {
namespace {

using detectors::Signal;
using detectors::WindowSummary;

const absl::Time kT0 = absl::FromUnixSeconds(1767571200);

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  ts->set_seconds(absl::ToUnixSeconds(t));
  ts->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(absl::ToUnixSeconds(t)))));
}

candor::v1::IngestItem Event(absl::Time start, double latency_ms) {
  candor::v1::IngestItem item;
  auto* e = item.mutable_inference_event();
  e->set_request_id("r");
  SetTime(start, e->mutable_timestamp());
  e->set_provider("aws");
  e->set_region("us-east-1");
  e->set_zone("us-east-1a");
  e->set_node("n1");
  e->set_replica("rep1");
  e->set_gpu("GPU-1");
  e->set_route("chat");
  e->set_tenant("acme");
  e->set_model("llama");
  e->set_model_version("v1");
  e->set_release_track("stable");
  e->set_status(candor::v1::OK);
  e->set_latency_ms(latency_ms);
  e->set_ttft_ms(100);
  e->set_output_tokens(90);
  e->set_input_tokens(500);
  auto* d = e->add_dependencies();
  d->set_name("vector-db");
  d->set_latency_ms(40);
  d->set_status(candor::v1::OK);
  return item;
}

// Collects closed windows by entity text.
struct Collector {
  std::vector<std::pair<absl::Time, std::map<std::string, WindowSummary>>> windows;
  WindowSink Sink() {
    return [this](absl::Time start, absl::Time, std::vector<WindowSummary> s) {
      std::map<std::string, WindowSummary> m;
      for (WindowSummary& w : s) m.emplace(w.entity.ToString(), std::move(w));
      windows.emplace_back(start, std::move(m));
    };
  }
};

TEST(SignalAggregatorTest, AnEventFeedsEveryEntityItNames) {
  SignalAggregator agg;
  agg.Observe(Event(kT0 + absl::Seconds(1), 1000));  // finishes at t0+2s
  Collector c;
  agg.CloseUpTo(kT0 + absl::Seconds(10), c.Sink());
  ASSERT_EQ(c.windows.size(), 1u);
  const auto& w = c.windows[0].second;
  for (const char* e :
       {"fleet", "provider:aws", "region:us-east-1", "zone:us-east-1a", "node:n1", "replica:rep1",
        "gpu:GPU-1", "model:llama@v1", "route:chat", "dependency:vector-db"}) {
    ASSERT_TRUE(w.count(e)) << e;
    EXPECT_EQ(w.at(e).Get(Signal::kRequests), 1) << e;
    EXPECT_TRUE(w.at(e).has_data) << e;
  }
  // The dependency sees its call, not the request.
  EXPECT_EQ(w.at("dependency:vector-db").Get(Signal::kLatencyP50), 40);
  EXPECT_EQ(w.at("route:chat").Get(Signal::kLatencyP50), 1000);
  EXPECT_EQ(w.at("route:chat").Get(Signal::kServiceP95), 960);
  EXPECT_NEAR(w.at("replica:rep1").Get(Signal::kDecodeTpsP50), 90 / 0.9, 1e-9);
  EXPECT_EQ(w.at("route:chat").dependencies, std::vector<std::string>{"vector-db"});
  EXPECT_EQ(w.at("route:chat").models, std::vector<std::string>{"llama@v1"});
  EXPECT_EQ(w.at("replica:rep1").replica_model, "llama@v1");
  EXPECT_EQ(w.at("replica:rep1").node, "n1");
  EXPECT_EQ(w.at("node:n1").provider, "aws");
  ASSERT_EQ(w.at("node:n1").cohorts.size(), 1u);
  EXPECT_EQ(w.at("node:n1").cohorts[0].model, "llama@v1");
  EXPECT_EQ(w.at("model:llama@v1").release_track, "stable");
}

TEST(SignalAggregatorTest, EventsCountAtTheirFinishAndWindowsCloseOnTheWatermark) {
  SignalAggregator agg;
  // Starts in window 0, finishes in window 1.
  agg.Observe(Event(kT0 + absl::Seconds(8), 5000));
  Collector c;
  agg.CloseUpTo(kT0 + absl::Seconds(10), c.Sink());
  ASSERT_EQ(c.windows.size(), 0u);  // Nothing in window 0 to close yet.
  agg.CloseUpTo(kT0 + absl::Seconds(20), c.Sink());
  ASSERT_EQ(c.windows.size(), 1u);
  EXPECT_EQ(c.windows[0].first, kT0 + absl::Seconds(10));
  EXPECT_EQ(agg.max_time(), kT0 + absl::Seconds(13));
  EXPECT_EQ(agg.DataWatermark(), kT0 + absl::Seconds(8));
}

TEST(SignalAggregatorTest, SilenceStillClosesWindowsAndLongGapsAreSkipped) {
  SignalOptions o;
  o.max_gap_windows = 5;
  SignalAggregator agg(o);
  agg.Observe(Event(kT0, 100));
  Collector c;
  agg.CloseUpTo(kT0 + absl::Seconds(40), c.Sink());
  ASSERT_EQ(c.windows.size(), 4u);
  EXPECT_TRUE(c.windows[0].second.at("replica:rep1").has_data);
  EXPECT_FALSE(c.windows[3].second.at("replica:rep1").has_data);
  EXPECT_EQ(c.windows[3].second.at("replica:rep1").Get(Signal::kRequests), 0);
  EXPECT_TRUE(std::isnan(c.windows[3].second.at("replica:rep1").Get(Signal::kLatencyP50)));
  // A ten-window gap to the next data is longer than allowed: it is skipped, not emitted.
  agg.Observe(Event(kT0 + absl::Seconds(150), 100));
  agg.CloseUpTo(kT0 + absl::Seconds(170), c.Sink());
  EXPECT_EQ(c.windows.back().first, kT0 + absl::Seconds(160));
  EXPECT_LT(c.windows.size(), 10u);
}

TEST(SignalAggregatorTest, LateItemsWithinTheAllowedLatenessAreFoldedNotLost) {
  SignalAggregator agg;  // 5 minutes of allowed lateness.
  Collector c;
  agg.Observe(Event(kT0 + absl::Seconds(600), 100));
  agg.CloseUpTo(kT0 + absl::Seconds(600), c.Sink());
  const size_t closed = c.windows.size();
  // Four minutes late: counted in the oldest open window.
  agg.Observe(Event(kT0 + absl::Seconds(360), 100));
  // Ten minutes late: counted as too late, not aggregated.
  agg.Observe(Event(kT0, 100));
  EXPECT_EQ(agg.stats().late_folded, 1u);
  EXPECT_EQ(agg.stats().too_late, 1u);
  agg.CloseUpTo(kT0 + absl::Seconds(620), c.Sink());
  ASSERT_GT(c.windows.size(), closed);
  double requests = 0;
  for (size_t i = closed; i < c.windows.size(); ++i) {
    requests += c.windows[i].second.at("route:chat").Get(Signal::kRequests);
  }
  EXPECT_EQ(requests, 2);  // The on-time item and the folded late one.
  // Far in the future: refused, so one bad clock cannot close every window.
  agg.Observe(Event(kT0 + absl::Hours(5), 100));
  EXPECT_EQ(agg.stats().too_new, 1u);
  EXPECT_LT(agg.max_time(), kT0 + absl::Hours(1));
}

candor::v1::IngestItem Sample(absl::Time t, int64_t preemptions, int64_t finished, double kv) {
  candor::v1::IngestItem item;
  auto* s = item.mutable_replica_sample();
  SetTime(t, s->mutable_timestamp());
  s->set_provider("aws");
  s->set_node("n1");
  s->set_replica("rep1");
  s->set_model("llama");
  s->set_model_version("v1");
  s->set_preemptions_total(preemptions);
  s->set_requests_finished_total(finished);
  s->set_kv_cache_usage(kv);
  s->set_queue_depth(4);
  s->set_gpu_utilization(0.5);
  s->set_warming(true);
  return item;
}

TEST(SignalAggregatorTest, ReplicaCountersBecomeRatesAndRestartsAreNotNegative) {
  SignalAggregator agg;
  agg.Observe(Sample(kT0 + absl::Seconds(1), 100, 1000, 0.5));
  agg.Observe(Sample(kT0 + absl::Seconds(6), 130, 1100, 0.7));
  agg.Observe(Sample(kT0 + absl::Seconds(11), 10, 50, 0.9));  // restarted: counters reset
  Collector c;
  agg.CloseUpTo(kT0 + absl::Seconds(20), c.Sink());
  ASSERT_EQ(c.windows.size(), 2u);
  const WindowSummary& w0 = c.windows[0].second.at("replica:rep1");
  EXPECT_DOUBLE_EQ(w0.Get(Signal::kPreemptionRate), 3.0);  // 30 in a 10 s window
  EXPECT_DOUBLE_EQ(w0.Get(Signal::kFinishedRate), 10.0);
  EXPECT_DOUBLE_EQ(w0.Get(Signal::kKvUsageMean), 0.6);
  EXPECT_DOUBLE_EQ(w0.Get(Signal::kKvUsageMax), 0.7);
  EXPECT_DOUBLE_EQ(w0.Get(Signal::kWarmingFraction), 1.0);
  const WindowSummary& w1 = c.windows[1].second.at("replica:rep1");
  EXPECT_DOUBLE_EQ(w1.Get(Signal::kPreemptionRate), 1.0);  // the new process's 10
  // The node sees the same samples.
  EXPECT_DOUBLE_EQ(c.windows[0].second.at("node:n1").Get(Signal::kQueueDepthMean), 4);
}

TEST(SignalAggregatorTest, GpuThrottleReasonsAndFeatureDisabledFallbacks) {
  SignalAggregator agg;
  candor::v1::IngestItem g;
  auto* s = g.mutable_gpu_sample();
  SetTime(kT0 + absl::Seconds(1), s->mutable_timestamp());
  s->set_node("n1");
  s->set_gpu("GPU-1");
  s->set_sm_clock_mhz(1188);
  s->set_max_sm_clock_mhz(1980);
  s->set_clock_event_reasons(0x40);
  agg.Observe(g);
  s->set_clock_event_reasons(0x1);  // idle is not throttling
  SetTime(kT0 + absl::Seconds(2), s->mutable_timestamp());
  agg.Observe(g);
  candor::v1::IngestItem tier5 = Event(kT0 + absl::Seconds(1), 5);
  tier5.mutable_inference_event()->set_fallback_tier(5);
  agg.Observe(tier5);
  candor::v1::IngestItem tier1 = Event(kT0 + absl::Seconds(1), 5);
  tier1.mutable_inference_event()->set_fallback_tier(1);
  agg.Observe(tier1);
  Collector c;
  agg.CloseUpTo(kT0 + absl::Seconds(10), c.Sink());
  const auto& w = c.windows[0].second;
  EXPECT_DOUBLE_EQ(w.at("node:n1").Get(Signal::kThrottleFraction), 0.5);
  EXPECT_DOUBLE_EQ(w.at("gpu:GPU-1").Get(Signal::kSmClockRatio), 0.6);
  EXPECT_EQ(w.at("route:chat").Get(Signal::kFallback), 1);
  EXPECT_EQ(w.at("route:chat").Get(Signal::kFeatureDisabled), 1);
}

TEST(SignalAggregatorTest, AnnotationsReachTheirEntityInEventTime) {
  SignalAggregator agg;
  candor::v1::IngestItem a;
  auto* an = a.mutable_annotation();
  SetTime(kT0 + absl::Seconds(3), an->mutable_timestamp());
  an->set_entity("model:llama@v2");
  an->set_kind(candor::v1::CANARY_PAUSED);
  an->set_message("hold");
  agg.Observe(a);
  candor::v1::IngestItem bad = a;
  bad.mutable_annotation()->set_entity("nonsense");
  agg.Observe(bad);
  EXPECT_EQ(agg.stats().bad_items, 1u);
  Collector c;
  agg.CloseUpTo(kT0 + absl::Seconds(10), c.Sink());
  const WindowSummary& w = c.windows[0].second.at("model:llama@v2");
  ASSERT_EQ(w.annotations.size(), 1u);
  EXPECT_EQ(w.annotations[0].kind, "CANARY_PAUSED");
  EXPECT_EQ(w.model_name, "llama");
  EXPECT_FALSE(w.has_data);  // Control-plane facts are not "reporting".
}

TEST(SignalAggregatorTest, QuantilesAndSubsamples) {
  SignalOptions o;
  o.max_samples = 10;
  SignalAggregator agg(o);
  for (int i = 1; i <= 100; ++i) agg.Observe(Event(kT0, i));
  Collector c;
  agg.CloseUpTo(kT0 + absl::Seconds(10), c.Sink());
  const WindowSummary& w = c.windows[0].second.at("route:chat");
  EXPECT_EQ(w.Get(Signal::kLatencyP50), 51);
  EXPECT_EQ(w.Get(Signal::kLatencyP95), 96);
  EXPECT_EQ(w.Get(Signal::kLatencyP99), 100);
  EXPECT_EQ(w.latency_samples.size(), 10u);
}

// Past 2048 values per entity and window the aggregator keeps a reservoir sample: counts and
// means stay exact, percentiles close to the exact ones, memory bounded.
TEST(SignalAggregatorTest, BusyWindowsKeepExactCountsAndCloseBoundedPercentiles) {
  SignalAggregator agg;
  const int n = 4 * 2048;
  std::vector<double> latencies;
  std::mt19937 rng(11);
  std::lognormal_distribution<double> dist(5.0, 0.6);
  for (int i = 0; i < n; ++i) latencies.push_back(std::round(dist(rng)));
  // All finish within the first window: start times are shifted back by the latency.
  for (double l : latencies) {
    agg.Observe(Event(kT0 + absl::Seconds(5) - absl::Milliseconds(static_cast<int64_t>(l)), l));
  }
  Collector c;
  agg.CloseUpTo(kT0 + absl::Seconds(10), c.Sink());
  ASSERT_EQ(c.windows.size(), 1u);
  const WindowSummary& w = c.windows[0].second.at("route:chat");
  EXPECT_EQ(w.Get(Signal::kRequests), n);
  EXPECT_EQ(w.Get(Signal::kInputTokensMean), 500);
  std::sort(latencies.begin(), latencies.end());
  const double exact_p50 = latencies[static_cast<size_t>(0.50 * (n - 1))];
  const double exact_p95 = latencies[static_cast<size_t>(0.95 * (n - 1))];
  EXPECT_NEAR(w.Get(Signal::kLatencyP50), exact_p50, 0.03 * exact_p50);
  EXPECT_NEAR(w.Get(Signal::kLatencyP95), exact_p95, 0.05 * exact_p95);
}

// The sample stays uniform over a long stream in the worst order for a biased one: values
// rising steadily, so keeping too many early or late values moves every percentile.
TEST(SignalAggregatorTest, ReservoirIsUniformOverLongAscendingStreams) {
  SignalAggregator agg;
  const int n = 200'000;
  for (int i = 1; i <= n; ++i) {
    // Each finishes at kT0 + 5 s (events count at their finish).
    agg.Observe(Event(kT0 + absl::Seconds(5) - absl::Milliseconds(i), static_cast<double>(i)));
  }
  Collector c;
  agg.CloseUpTo(kT0 + absl::Seconds(10), c.Sink());
  ASSERT_EQ(c.windows.size(), 1u);
  const WindowSummary& w = c.windows[0].second.at("route:chat");
  EXPECT_EQ(w.Get(Signal::kRequests), n);
  EXPECT_LE(w.latency_samples.size(), 2048u);
  // A uniform sample of 2048: a percentile's rank error is ~1 % of n (3 sigma at P50).
  EXPECT_NEAR(w.Get(Signal::kLatencyP50), 0.50 * n, 0.035 * n);
  EXPECT_NEAR(w.Get(Signal::kLatencyP95), 0.95 * n, 0.015 * n);
  EXPECT_NEAR(w.Get(Signal::kLatencyP99), 0.99 * n, 0.007 * n);
}

}  // namespace
}  // namespace candor::collector
