#include "collector/kernel_baseline.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace candor::collector {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr int64_t kT0 = 1'700'000'000;
constexpr int64_t kInterval = 10;  // Seconds.

// A summary of one interval on `node` where "gemm" ran `count` times averaging `mean_ms`.
candor::v1::KernelSummary Summary(const std::string& node, int interval, double mean_ms,
                                  uint64_t count = 100, const std::string& kernel = "gemm") {
  candor::v1::KernelSummary s;
  *s.mutable_interval_start() = TimeUtil::SecondsToTimestamp(kT0 + interval * kInterval);
  *s.mutable_interval_end() = TimeUtil::SecondsToTimestamp(kT0 + (interval + 1) * kInterval);
  s.set_node(node);
  s.set_gpu("GPU-" + node);
  s.set_model("llama");
  s.set_provider("aws");
  auto* k = s.add_top_kernels();
  k->set_name(kernel);
  k->set_count(count);
  k->set_total_ms(mean_ms * static_cast<double>(count));
  return s;
}

// Slight deterministic jitter so the baseline sees realistic, not constant, values.
double Jitter(int i) { return 1.0 + 0.02 * ((i * 7919) % 5 - 2) / 2.0; }

class KernelBaselineTest : public ::testing::Test {
 protected:
  KernelBaselineTest() : b_(KernelBaselineOptions{}) {}

  // Feeds one interval for every node; node "n0" runs `n0_factor` slower.
  std::vector<KernelFindingEvent> Interval(int i, double n0_factor, double all_factor = 1.0) {
    std::vector<KernelFindingEvent> out;
    for (const std::string node : {"n0", "n1", "n2", "n3"}) {
      const double f = (node == "n0" ? n0_factor : 1.0) * all_factor;
      for (auto& e : b_.Observe(Summary(node, i, 2.0 * f * Jitter(i)))) out.push_back(e);
    }
    return out;
  }

  KernelBaselines b_;
};

TEST_F(KernelBaselineTest, FlagsOneSlowGpuAgainstItsBaselineAndPeers) {
  for (int i = 0; i < 40; ++i) ASSERT_THAT(Interval(i, 1.0), IsEmpty()) << i;
  EXPECT_NEAR(b_.BaselineMs("n0", "GPU-n0", "gemm"), 2.0, 0.05);
  // n0's gemm now takes 40 % longer; the others do not.
  EXPECT_THAT(Interval(40, 1.4), IsEmpty());
  EXPECT_THAT(Interval(41, 1.4), IsEmpty());
  const auto events = Interval(42, 1.4);
  ASSERT_THAT(events, SizeIs(1));
  const KernelFindingEvent& e = events[0];
  EXPECT_EQ(e.kind, KernelFindingEvent::Kind::kStarted);
  EXPECT_EQ(e.time, absl::FromUnixSeconds(kT0 + 43 * kInterval));
  const KernelFinding& f = e.finding;
  EXPECT_EQ(f.node, "n0");
  EXPECT_EQ(f.gpu, "GPU-n0");
  EXPECT_EQ(f.kernel, "gemm");
  EXPECT_EQ(f.model, "llama");
  EXPECT_EQ(f.provider, "aws");
  EXPECT_EQ(f.onset, absl::FromUnixSeconds(kT0 + 40 * kInterval));
  EXPECT_NEAR(f.ratio, 1.4, 0.05);
  EXPECT_NEAR(f.value_ms, 2.8, 0.1);
  EXPECT_NEAR(f.baseline_ms, 2.0, 0.05);
  EXPECT_EQ(f.peers, 3);
  EXPECT_NEAR(f.peer_ratio, 1.4, 0.05);
  ASSERT_THAT(b_.Active(), SizeIs(1));
  // It stays active while slow, then ends after three intervals back to normal.
  for (int i = 43; i < 50; ++i) EXPECT_THAT(Interval(i, 1.4), IsEmpty());
  EXPECT_THAT(Interval(50, 1.0), IsEmpty());
  EXPECT_THAT(Interval(51, 1.0), IsEmpty());
  const auto ended = Interval(52, 1.0);
  ASSERT_THAT(ended, SizeIs(1));
  EXPECT_EQ(ended[0].kind, KernelFindingEvent::Kind::kEnded);
  EXPECT_THAT(b_.Active(), IsEmpty());
  // The degraded stretch did not leak into the baseline.
  EXPECT_NEAR(b_.BaselineMs("n0", "GPU-n0", "gemm"), 2.0, 0.05);
}

TEST_F(KernelBaselineTest, FleetWideShiftIsNotAHardwareFinding) {
  for (int i = 0; i < 40; ++i) Interval(i, 1.0);
  for (int i = 40; i < 60; ++i) EXPECT_THAT(Interval(i, 1.0, /*all_factor=*/1.5), IsEmpty()) << i;
}

TEST_F(KernelBaselineTest, ShortSpikesDoNotFire) {
  for (int i = 0; i < 40; ++i) Interval(i, 1.0);
  for (int i = 40; i < 80; ++i) {
    // Two slow intervals in every three: never three in a row.
    EXPECT_THAT(Interval(i, i % 3 == 2 ? 1.0 : 2.0), IsEmpty()) << i;
  }
}

TEST_F(KernelBaselineTest, NothingFiresDuringWarmup) {
  for (int i = 0; i < 10; ++i) Interval(i, 1.0);
  for (int i = 10; i < 29; ++i) EXPECT_THAT(Interval(i, 3.0), IsEmpty()) << i;
}

TEST(KernelBaselineAloneTest, WithoutPeersTheOwnBaselineDecidesUnlessPeersAreRequired) {
  for (bool require : {false, true}) {
    KernelBaselineOptions o;
    o.require_peers = require;
    KernelBaselines b(o);
    for (int i = 0; i < 40; ++i) ASSERT_THAT(b.Observe(Summary("solo", i, 2.0)), IsEmpty());
    size_t started = 0;
    for (int i = 40; i < 45; ++i) started += b.Observe(Summary("solo", i, 3.0)).size();
    EXPECT_EQ(started, require ? 0u : 1u);
    if (!require) {
      ASSERT_THAT(b.Active(), SizeIs(1));
      EXPECT_EQ(b.Active()[0].peers, 0);
      EXPECT_EQ(b.Active()[0].peer_ms, 0);
    }
  }
}

TEST(KernelBaselineInputTest, IgnoresNoiseBadInputAndReplays) {
  KernelBaselines b(KernelBaselineOptions{});
  b.Observe(Summary("n", 0, 2.0, /*count=*/3));     // Too few launches.
  b.Observe(Summary("n", 1, 2.0, 100, "[other]"));  // The overflow bucket.
  b.Observe(Summary("", 2, 2.0));                   // No node.
  candor::v1::KernelSummary backwards = Summary("n", 3, 2.0);
  *backwards.mutable_interval_end() = backwards.interval_start();
  b.Observe(backwards);  // Empty interval.
  candor::v1::KernelSummary nan = Summary("n", 4, 2.0);
  nan.mutable_top_kernels(0)->set_total_ms(std::nan(""));
  b.Observe(nan);  // Not a number.
  b.Observe(Summary("n", 6, 2.0));
  b.Observe(Summary("n", 5, 2.0));  // Older than the last.
  const KernelBaselineStats& st = b.stats();
  EXPECT_EQ(st.too_few_launches, 1u);
  EXPECT_EQ(st.invalid, 3u);
  EXPECT_EQ(st.out_of_order, 1u);
  EXPECT_EQ(st.values, 1u);
  EXPECT_EQ(b.series(), 1u);
}

TEST(KernelBaselineInputTest, BoundsAndForgetsSeries) {
  KernelBaselineOptions o;
  o.max_series = 2;
  o.forget_after = absl::Hours(1);
  KernelBaselines b(o);
  b.Observe(Summary("a", 0, 1.0));
  b.Observe(Summary("b", 0, 1.0));
  b.Observe(Summary("c", 0, 1.0));
  EXPECT_EQ(b.series(), 2u);
  EXPECT_EQ(b.stats().series_overflow, 1u);
  // Two hours later "a" and "b" are forgotten, making room for "c".
  b.Observe(Summary("c", 720, 1.0));
  EXPECT_EQ(b.series(), 1u);
}

TEST(KernelBaselineOptionsTest, ValidatesRanges) {
  EXPECT_TRUE(ValidateKernelBaselineOptions(KernelBaselineOptions{}).ok());
  KernelBaselineOptions o;
  o.min_ratio = 1.0;
  EXPECT_FALSE(ValidateKernelBaselineOptions(o).ok());
  o = {};
  o.clear_ratio = 2.0;
  EXPECT_FALSE(ValidateKernelBaselineOptions(o).ok());
  o = {};
  o.alpha = 0;
  EXPECT_FALSE(ValidateKernelBaselineOptions(o).ok());
}

}  // namespace
}  // namespace candor::collector
