// Crash safety of the series store: a child process (store_crash_child) appends a
// deterministic workload and reports each acknowledged commit; the test kills it with SIGKILL
// at random points several times, restarting it each time from the next unacknowledged round.
// Afterwards every acknowledged sample must be present with its exact value, nothing may be
// present that the workload never wrote, and queries must agree with the reference model.

#include <signal.h>

#include <cmath>
#include <map>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "store/bits.h"
#include "store/engine.h"
#include "store/series_store.h"
#include "tests/store/crash_workload.h"
#include "tests/testing/subprocess.h"

namespace candor::crashtest {
namespace {

constexpr int kSeries = 16;
constexpr int kKills = 6;

TEST(StoreCrashTest, AcknowledgedSamplesSurviveSigkill) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/tsdb";
  RealClock clock;
  const int64_t t0 = absl::ToUnixMillis(clock.Now()) - 3'600'000;
  std::mt19937_64 rng(1234);
  int64_t acked = -1;      // Highest acknowledged round.
  int64_t attempted = -1;  // Highest round a child may have started to commit.
  for (int kill = 0; kill <= kKills; ++kill) {
    // The last child only reopens the store (WAL replay of the previous crash): it commits
    // nothing, so it cannot race the kill with rounds past `attempted`.
    std::vector<std::string> args = {testing::BuildPath("tests/store/store_crash_child"),
                                     "--path",
                                     path,
                                     "--t0",
                                     absl::StrCat(t0),
                                     "--start_round",
                                     absl::StrCat(acked + 1),
                                     "--series",
                                     absl::StrCat(kSeries)};
    if (kill == kKills) args.insert(args.end(), {"--rounds", "0"});
    auto child = testing::Subprocess::Start(args);
    ASSERT_TRUE(child.ok()) << child.status();
    ASSERT_TRUE((*child)->WaitForLine("READY").ok()) << (*child)->Output();
    if (kill == kKills) {
      (*child)->Signal(SIGKILL);
      (*child)->Wait();
      break;
    }
    const int64_t target = acked + 40 + static_cast<int64_t>(rng() % 200);
    auto line = (*child)->WaitForLine(absl::StrCat("ACK ", target));
    ASSERT_TRUE(line.ok()) << (*child)->Output();
    (*child)->Signal(SIGKILL);
    (*child)->Wait();
    // Every ACK printed before the kill counts; the child may have been inside the next commit.
    int64_t last = target;
    for (absl::string_view l : absl::StrSplit((*child)->Output(), '\n')) {
      int64_t r = 0;
      if (absl::ConsumePrefix(&l, "ACK ") && absl::SimpleAtoi(l, &r)) last = std::max(last, r);
      ASSERT_FALSE(absl::StartsWith(l, "COMMIT-FAILED")) << (*child)->Output();
    }
    acked = last;
    attempted = std::max(attempted, last + 1);
  }
  ASSERT_GT(acked, 200);

  auto store = store::SeriesStore::Open(Options(path), clock);
  ASSERT_TRUE(store.ok()) << store.status();
  // Gauges and counters: every acknowledged round present and exact; nothing past `attempted`.
  for (int i = 0; i < kSeries; ++i) {
    for (const char* name : {"crash_gauge", "crash_counter_total"}) {
      auto data = (*store)->Select({store::LabelMatcher::Equal("__name__", name),
                                    store::LabelMatcher::Equal("i", absl::StrCat(i))},
                                   INT64_MIN, INT64_MAX);
      ASSERT_TRUE(data.ok()) << data.status();
      ASSERT_EQ(data->size(), 1u);
      const auto& s = (*data)[0].samples;
      ASSERT_GE(static_cast<int64_t>(s.size()), acked + 1) << name << i;
      ASSERT_LE(static_cast<int64_t>(s.size()), attempted + 1) << name << i;
      for (size_t k = 0; k < s.size(); ++k) {
        const auto r = static_cast<int64_t>(k);
        ASSERT_EQ(s[k].t, t0 + r * kRoundMs) << name << i;
        const double want = name[6] == 'g' ? Gauge(i, r) : Counter(i, r);
        ASSERT_EQ(store::DoubleBits(s[k].v), store::DoubleBits(want))
            << name << i << " round " << r;
      }
    }
  }
  // The histogram series.
  auto hist = (*store)->Select({store::LabelMatcher::Equal("__name__", "crash_latency_seconds")},
                               INT64_MIN, INT64_MAX);
  ASSERT_TRUE(hist.ok()) << hist.status();
  const auto& hs = (*hist)[0].histograms;
  ASSERT_GE(static_cast<int64_t>(hs.size()), acked + 1);
  for (int64_t r = 0; r <= acked; r += 37) {
    ASSERT_EQ(hs[static_cast<size_t>(r)].t, t0 + r * kRoundMs);
    ASSERT_EQ(hs[static_cast<size_t>(r)].h, HistogramAt(r)) << "round " << r;
  }
  // The late series, including its out-of-order samples.
  auto late = (*store)->Select({store::LabelMatcher::Equal("__name__", "crash_late")}, INT64_MIN,
                               INT64_MAX);
  ASSERT_TRUE(late.ok()) << late.status();
  const auto& ls = (*late)[0].samples;
  std::map<int64_t, double> want_late;
  for (int64_t r = kLateBy; r <= acked; ++r) {
    want_late[t0 + (r - kLateBy) * kRoundMs] = Late(r - kLateBy);
    if (r >= kLateBy + 3 && r % 7 == 0) {
      want_late[t0 + (r - kLateBy - 3) * kRoundMs + 500] = LateExtra(r - kLateBy - 3);
    }
  }
  std::map<int64_t, double> got_late;
  for (const auto& s : ls) got_late[s.t] = s.v;
  for (const auto& [t, v] : want_late) {
    auto it = got_late.find(t);
    ASSERT_NE(it, got_late.end()) << "late sample at " << t - t0 << " ms lost";
    ASSERT_EQ(it->second, v);
  }
  // Queries agree with the reference model.
  store::QueryEngine engine(**store, clock);
  const int64_t at = t0 + acked * kRoundMs;
  auto sum = engine.Instant("sum(crash_gauge)", at);
  ASSERT_TRUE(sum.ok()) << sum.status();
  double want_sum = 0;
  for (int i = 0; i < kSeries; ++i) want_sum += Gauge(i, acked);
  ASSERT_EQ(sum->vector.size(), 1u);
  EXPECT_NEAR(sum->vector[0].point.v, want_sum, 1e-9);
  auto inc = engine.Instant("sum(increase(crash_counter_total[60s]))", at);
  ASSERT_TRUE(inc.ok()) << inc.status();
  double want_inc = 0;
  for (int i = 0; i < kSeries; ++i) want_inc += Counter(i, acked) - Counter(i, acked - 60);
  EXPECT_NEAR(inc->vector[0].point.v, want_inc, 1e-6 * want_inc);
  auto q = engine.Instant("histogram_quantile(0.5, increase(crash_latency_seconds[100s]))", at);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->vector.size(), 1u);
  // 100 observations of 1..50 ms, each twice: the median observation is 25 ms.
  EXPECT_NEAR(q->vector[0].point.v, 0.025, 0.025 * store::Histogram::RelativeErrorBound(5) * 1.01);
}

}  // namespace
}  // namespace candor::crashtest
