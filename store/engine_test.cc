#include "store/engine.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/bits.h"
#include "store/promql.h"

namespace candor::store {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMin = 60'000;

LabelSet L(std::vector<Label> labels) { return LabelSet::FromTrusted(std::move(labels)); }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("candor_engine_test_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    clock_.SetTime(absl::FromUnixMillis(kT0 + 24 * 60 * kMin));
    SeriesStoreOptions o;
    o.path = dir_.string();
    o.wal_sync = false;
    auto s = SeriesStore::Open(o, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    engine_ = std::make_unique<QueryEngine>(*store_, clock_);
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Adds samples v(i) at kT0 + i*step for i in [0, n).
  void Load(const LabelSet& l, int n, int64_t step, const std::function<double(int)>& v) {
    auto ref = store_->GetOrCreateSeries(l);
    ASSERT_TRUE(ref.ok());
    SampleBatch b;
    for (int i = 0; i < n; ++i) b.Add(*ref, kT0 + i * step, v(i));
    ASSERT_TRUE(store_->Commit(b).ok());
  }

  std::vector<VectorElement> Instant(const std::string& q, int64_t t) {
    auto r = engine_->Instant(q, t);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status();
    if (!r.ok()) return {};
    EXPECT_EQ(r->type, ValueType::kVector) << q;
    std::sort(r->vector.begin(), r->vector.end(),
              [](const VectorElement& a, const VectorElement& b) { return a.labels < b.labels; });
    return r->vector;
  }
  double One(const std::string& q, int64_t t) {
    auto v = Instant(q, t);
    EXPECT_THAT(v, SizeIs(1)) << q;
    return v.empty() ? NAN : v[0].point.v;
  }

  std::filesystem::path dir_;
  SimulatedClock clock_;
  std::unique_ptr<SeriesStore> store_;
  std::unique_ptr<QueryEngine> engine_;
};

TEST(PromQLParserTest, AcceptsTheDashboardSubset) {
  for (const char* q : {"1+1",
                        "up",
                        "vllm:num_requests_running{model_name=~\"llama.*\"}",
                        "rate(http_requests_total{job!=\"x\"}[5m])",
                        "sum by (model) (rate(x_total[2m]))",
                        "histogram_quantile(0.99, sum by (le, model) (rate(lat_bucket[5m])))",
                        "histogram_quantile(0.99, rate(lat[1h]))",
                        "rate(x_sum[5m]) / on(model) rate(x_count[5m])",
                        "a * ignoring(code) group_left(zone) b",
                        "topk(5, x)",
                        "count_values(\"v\", x)",
                        "quantile_over_time(0.99, x[1h] offset 5m)",
                        "-x ^ 2",
                        "x > bool 3",
                        "label_replace(up, \"a\", \"$1\", \"job\", \"(.*)\")",
                        "absent(nope{job=\"a\"})",
                        "sum(x) without (instance)",
                        "sum without (instance) (x)",
                        "x and y or z unless w",
                        "clamp_min(x, 0)",
                        "max_over_time(x[1h30m])",
                        "x offset 1d",
                        "{__name__=~\"a.*\"}",
                        "time()",
                        "vector(1)",
                        "scalar(sum(x))",
                        "sort_desc(x)",
                        "hour()",
                        "-1",
                        "Inf",
                        "x # a comment"}) {
    auto e = ParsePromQL(q);
    EXPECT_TRUE(e.ok()) << q << ": " << e.status();
  }
}

TEST(PromQLParserTest, RejectsWithPreciseErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"foo(x)", "unknown function with name \"foo\""},
      {"rate(x)", "expected type range vector"},
      {"sum(x[5m])", "expected type instant vector"},
      {"x[5m:1m]", "subqueries are not supported"},
      {"x @ 100", "@ modifier is not supported"},
      {"{a=~\".*\"}", "at least one non-empty matcher"},
      {"1 > 2", "BOOL modifier"},
      {"x{a=\"b\"", "unexpected end of input"},
      {"x{a=~\"(\"}", "invalid regular expression"},
      {"sum by (a) (x) (y)", "unexpected"},
      {"(x)[5m]", "ranges only allowed for vector selectors"},
      {"topk(x)", "wrong number of arguments"},
      {"1 and 2", "set operator"},
      {"\"unterminated", "unterminated quoted string"},
  };
  for (const auto& [q, want] : cases) {
    auto e = ParsePromQL(q);
    ASSERT_FALSE(e.ok()) << q;
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(e.status().message(), HasSubstr(want)) << q;
  }
}

TEST(PromQLParserTest, DurationsAndPrecedence) {
  EXPECT_EQ(*ParseDurationMs("1h30m"), 5'400'000);
  EXPECT_EQ(*ParseDurationMs("250ms"), 250);
  EXPECT_EQ(*ParseDurationMs("1.5"), 1500);
  EXPECT_FALSE(ParseDurationMs("abc").ok());
  auto e = ParsePromQL("-2 ^ 2");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->kind, ExprKind::kUnaryMinus);
  auto sel = ParseSeriesSelector("up{job=\"a\"}");
  ASSERT_TRUE(sel.ok());
  EXPECT_THAT(*sel, SizeIs(2));
  EXPECT_FALSE(ParseSeriesSelector("sum(up)").ok());
}

TEST_F(EngineTest, ScalarsAndHealthCheck) {
  auto r = engine_->Instant("1+1", kT0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, ValueType::kScalar);
  EXPECT_EQ(r->scalar.v, 2);
  EXPECT_EQ(engine_->Instant("-2 ^ 2", kT0)->scalar.v, -4);
  EXPECT_EQ(engine_->Instant("2 ^ 3 ^ 2", kT0)->scalar.v, 512);
  EXPECT_EQ(engine_->Instant("10 % 3 * 2", kT0)->scalar.v, 2);
  EXPECT_EQ(engine_->Instant("time()", kT0)->scalar.v, static_cast<double>(kT0) / 1000);
  EXPECT_EQ(engine_->Instant("\"s\"", kT0)->string_value, "s");
}

TEST_F(EngineTest, InstantSelectorLookbackAndStaleness) {
  Load(L({{"__name__", "g"}, {"a", "1"}}), 10, kMin, [](int i) { return i; });
  EXPECT_EQ(One("g", kT0 + 3 * kMin + 100), 3);
  EXPECT_EQ(One("g", kT0 + 9 * kMin + 5 * kMin), 9);  // Exactly at the lookback edge.
  EXPECT_THAT(Instant("g", kT0 + 9 * kMin + 5 * kMin + 1), SizeIs(0));
  EXPECT_THAT(Instant("g", kT0 - 1), SizeIs(0));
  EXPECT_EQ(One("g offset 2m", kT0 + 5 * kMin), 3);
  // A staleness marker ends the series.
  Load(L({{"__name__", "g"}, {"a", "1"}}), 0, kMin, [](int) { return 0; });
  auto ref = store_->GetOrCreateSeries(L({{"__name__", "g"}, {"a", "1"}}));
  SampleBatch b;
  b.Add(*ref, kT0 + 10 * kMin, BitsDouble(0x7ff0000000000002ULL));
  ASSERT_TRUE(store_->Commit(b).ok());
  EXPECT_THAT(Instant("g", kT0 + 10 * kMin + 1000), SizeIs(0));
  EXPECT_EQ(One("count_over_time(g[15m])", kT0 + 10 * kMin), 10);
}

TEST_F(EngineTest, RateAndIncreaseFollowPrometheusExtrapolation) {
  // A counter growing 10 per 10 s, with a reset after 100 s.
  Load(L({{"__name__", "c_total"}}), 61, 10'000,
       [](int i) { return i <= 10 ? i * 10.0 : (i - 11) * 10.0 + 5; });
  // Window [t-60s, t] aligned to samples: 7 samples, no extrapolation needed.
  EXPECT_NEAR(One("increase(c_total[1m])", kT0 + 300'000), 60, 1e-9);
  EXPECT_NEAR(One("rate(c_total[1m])", kT0 + 300'000), 1, 1e-9);
  // The reset at 110 s: 100 -> 5; increase counts 100 + 5 + ...
  const double inc = One("increase(c_total[1m])", kT0 + 140'000);
  // Samples at 80..140 s: 80, 90, 100, 5, 15, 25, 35 → raw increase 20 + 100 + 35 - 5... =
  // (35 - 80) + 100 = 55 over 60 s, no extrapolation.
  EXPECT_NEAR(inc, 55, 1e-9);
  // Unaligned window: extrapolation to the window edges (5 s of 60 s each side is below
  // 1.1 × the 10 s spacing, so it extends fully).
  EXPECT_NEAR(One("increase(c_total[1m])", kT0 + 305'000), 60, 1e-9);
  EXPECT_NEAR(One("irate(c_total[1m])", kT0 + 305'000), 1, 1e-9);
  EXPECT_NEAR(One("delta(c_total[1m])", kT0 + 300'000), 60, 1e-9);
  EXPECT_EQ(One("resets(c_total[5m])", kT0 + 200'000), 1);
  EXPECT_THAT(Instant("rate(c_total[5s])", kT0 + 300'000), SizeIs(0));  // One sample only.
}

TEST_F(EngineTest, OverTimeFunctionsMatchBruteForce) {
  std::mt19937_64 rng(3);
  std::vector<double> vals(600);
  for (double& v : vals) v = static_cast<double>(rng() % 1000) / 1000;
  Load(L({{"__name__", "lat"}}), 600, 10'000, [&](int i) { return vals[static_cast<size_t>(i)]; });
  auto r =
      engine_->Range("quantile_over_time(0.99, lat[10m])", kT0 + 600'000, kT0 + 5'990'000, 60'000);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_THAT(r->matrix, SizeIs(1));
  for (const Point& p : r->matrix[0].points) {
    std::vector<double> w;
    for (int i = 0; i < 600; ++i) {
      const int64_t t = kT0 + i * 10'000;
      if (t >= p.t - 600'000 && t <= p.t) w.push_back(vals[static_cast<size_t>(i)]);
    }
    std::sort(w.begin(), w.end());
    const double rank = 0.99 * static_cast<double>(w.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(rank));
    const double want = w[lo] * (1 - (rank - static_cast<double>(lo))) +
                        w[std::min(lo + 1, w.size() - 1)] * (rank - static_cast<double>(lo));
    ASSERT_NEAR(p.v, want, 1e-12) << p.t;
  }
  const int64_t t = kT0 + 3000'000;
  double sum = 0, mx = 0, mn = 2;
  int count = 0;
  for (int i = 0; i < 600; ++i) {
    const int64_t ts = kT0 + i * 10'000;
    if (ts < t - 600'000 || ts > t) continue;
    sum += vals[static_cast<size_t>(i)];
    mx = std::max(mx, vals[static_cast<size_t>(i)]);
    mn = std::min(mn, vals[static_cast<size_t>(i)]);
    ++count;
  }
  EXPECT_NEAR(One("sum_over_time(lat[10m])", t), sum, 1e-9);
  EXPECT_NEAR(One("avg_over_time(lat[10m])", t), sum / count, 1e-12);
  EXPECT_EQ(One("max_over_time(lat[10m])", t), mx);
  EXPECT_EQ(One("min_over_time(lat[10m])", t), mn);
  EXPECT_EQ(One("count_over_time(lat[10m])", t), count);
  EXPECT_EQ(One("last_over_time(lat[10m])", t), vals[300]);
  EXPECT_EQ(Instant("last_over_time(lat[10m])", t)[0].labels.MetricName(), "lat");
  EXPECT_EQ(Instant("max_over_time(lat[10m])", t)[0].labels.MetricName(), "");
}

TEST_F(EngineTest, AggregationsAndBinaryOperators) {
  for (int m = 0; m < 3; ++m) {
    for (int inst = 0; inst < 2; ++inst) {
      Load(L({{"__name__", "req"}, {"model", absl::StrCat("m", m)}, {"inst", absl::StrCat(inst)}}),
           5, kMin, [=](int) { return m * 10 + inst; });
      Load(L({{"__name__", "lim"}, {"model", absl::StrCat("m", m)}}), 5, kMin,
           [=](int) { return 100.0 * (m + 1); });
    }
  }
  const int64_t t = kT0 + 4 * kMin;
  auto by_model = Instant("sum by (model) (req)", t);
  ASSERT_THAT(by_model, SizeIs(3));
  EXPECT_EQ(by_model[1].labels.ToString(), "{model=\"m1\"}");
  EXPECT_EQ(by_model[1].point.v, 21);
  EXPECT_EQ(One("sum(req)", t), 0 + 1 + 10 + 11 + 20 + 21);
  EXPECT_EQ(One("count(req)", t), 6);
  EXPECT_EQ(One("max(req)", t), 21);
  EXPECT_NEAR(One("avg(req)", t), 63.0 / 6, 1e-12);
  EXPECT_THAT(Instant("sum without (inst) (req)", t), SizeIs(3));
  auto top = Instant("topk(2, req)", t);
  ASSERT_THAT(top, SizeIs(2));
  EXPECT_EQ(top[0].labels.MetricName(), "req");
  EXPECT_EQ(One("quantile(0.5, req)", t), 10.5);
  // Vector/scalar and vector/vector.
  EXPECT_THAT(Instant("req > 10", t), SizeIs(3));
  EXPECT_EQ(Instant("req > 10", t)[0].labels.MetricName(), "req");
  EXPECT_THAT(Instant("req > bool 10", t), SizeIs(6));
  auto ratio = Instant("req / on(model) group_left lim", t);
  ASSERT_THAT(ratio, SizeIs(6));
  EXPECT_EQ(ratio[0].labels.MetricName(), "");
  EXPECT_NEAR(ratio.back().point.v, 21.0 / 300, 1e-12);
  auto per_model = Instant("sum by (model) (req) / on(model) lim", t);
  ASSERT_THAT(per_model, SizeIs(3));
  EXPECT_NEAR(per_model[2].point.v, 41.0 / 300, 1e-12);
  auto err = engine_->Instant("req / on(model) lim", t);
  ASSERT_FALSE(err.ok());
  EXPECT_THAT(err.status().message(), HasSubstr("many-to-many"));
  EXPECT_THAT(Instant("req and on(model) lim > 150", t), SizeIs(4));
  EXPECT_THAT(Instant("req unless on(model) lim > 150", t), SizeIs(2));
  EXPECT_THAT(Instant("lim > 150 or req", t), SizeIs(2 + 6));
  auto replaced = Instant("label_replace(lim, \"short\", \"$1\", \"model\", \"m(.*)\")", t);
  ASSERT_THAT(replaced, SizeIs(3));
  EXPECT_EQ(replaced[0].labels.Get("short"), "0");
  auto absent = Instant("absent(nope{job=\"x\"})", t);
  ASSERT_THAT(absent, SizeIs(1));
  EXPECT_EQ(absent[0].labels.ToString(), "{job=\"x\"}");
  EXPECT_THAT(Instant("absent(req)", t), SizeIs(0));
  EXPECT_EQ(One("scalar(sum(req)) * vector(2)", t), 126);
  EXPECT_EQ(One("clamp_max(sum(req), 50)", t), 50);
}

TEST_F(EngineTest, ClassicAndNativeHistogramQuantiles) {
  // Classic buckets: le=0.1: 10/s, le=0.5: 90/s, le=+Inf: 100/s.
  const std::pair<const char*, double> les[] = {{"0.1", 10}, {"0.5", 90}, {"+Inf", 100}};
  for (const auto& [le, rate] : les) {
    const double r = rate;
    Load(L({{"__name__", "lat_bucket"}, {"le", le}}), 61, 10'000,
         [r](int i) { return r * 10 * i; });
  }
  EXPECT_NEAR(One("histogram_quantile(0.5, rate(lat_bucket[5m]))", kT0 + 600'000),
              0.1 + 0.4 * (40.0 / 80), 1e-9);
  EXPECT_NEAR(One("histogram_quantile(0.95, sum by (le) (rate(lat_bucket[5m])))", kT0 + 600'000),
              0.5, 1e-9);
  // Native: 1 observation per 10 s of each of 1..100 ms, cumulative.
  auto ref = store_->GetOrCreateSeries(L({{"__name__", "lat_native"}}));
  SampleBatch b;
  Histogram cum(5);
  for (int i = 0; i <= 60; ++i) {
    for (int k = 1; k <= 100; ++k) cum.Observe(k / 1000.0);
    b.AddHistogram(*ref, kT0 + i * 10'000, cum);
  }
  ASSERT_TRUE(store_->Commit(b).ok());
  const double p99 = One("histogram_quantile(0.99, rate(lat_native[5m]))", kT0 + 600'000);
  EXPECT_NEAR(p99, 0.099, 0.099 * Histogram::RelativeErrorBound(5) * 1.01);
  const double p50 = One("histogram_quantile(0.5, sum(increase(lat_native[10m])))", kT0 + 600'000);
  EXPECT_NEAR(p50, 0.050, 0.050 * Histogram::RelativeErrorBound(5) * 1.01);
  EXPECT_NEAR(One("histogram_count(increase(lat_native[1m]))", kT0 + 600'000), 600, 1e-6);
  auto wq = engine_->WindowQuantile({LabelMatcher::Equal("__name__", "lat_native")}, 0.9,
                                    kT0 + 600'000, absl::Minutes(10), {});
  ASSERT_TRUE(wq.ok()) << wq.status();
  ASSERT_THAT(*wq, SizeIs(1));
  EXPECT_NEAR((*wq)[0].point.v, 0.090, 0.090 * Histogram::RelativeErrorBound(5) * 1.01);
  // The raw range selector returns histograms too.
  auto m = engine_->Instant("lat_native[30s]", kT0 + 600'000);
  ASSERT_TRUE(m.ok());
  ASSERT_THAT(m->matrix, SizeIs(1));
  EXPECT_THAT(m->matrix[0].points, SizeIs(4));
  EXPECT_NE(m->matrix[0].points[0].h, nullptr);
}

TEST_F(EngineTest, NativeHistogramRatesAgreeWithFloatCountersAcrossChunksAndResets) {
  // 1,000 cumulative samples at 10 s: sealed chunks of 240, a 2-hour block edge, an open head
  // chunk, buckets appearing over time and two resets to empty. Float series carry the count,
  // the sum and the cumulative count at or below one bucket boundary, so the histogram rates
  // (read as column blocks, trimmed at the query's edges) have an independent reference.
  auto h = store_->GetOrCreateSeries(L({{"__name__", "lat"}}));
  auto cnt = store_->GetOrCreateSeries(L({{"__name__", "lat_cnt"}}));
  auto sum = store_->GetOrCreateSeries(L({{"__name__", "lat_sum"}}));
  auto low = store_->GetOrCreateSeries(L({{"__name__", "lat_low"}}));
  ASSERT_TRUE(h.ok() && cnt.ok() && sum.ok() && low.ok());
  const double edge = Histogram::BucketBounds(5, Histogram::BucketIndex(5, 0.05)).second;
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> lat(std::log(0.05), 0.4);
  Histogram cum(5);
  double below = 0;
  SampleBatch b;
  for (int i = 0; i < 1000; ++i) {
    if (i == 300 || i == 700) {
      cum = Histogram(5);
      below = 0;
    }
    // After a reset the counter restarts high: float rates never clamp their extrapolation
    // at a zero point (which Prometheus does for float counters only).
    const int k = (i == 0 || i == 300 || i == 700) ? 5000 : 1 + static_cast<int>(rng() % 20);
    for (int j = 0; j < k; ++j) {
      // The spread widens over time, so later samples have buckets earlier ones lack.
      const double x = lat(rng) * (1 + i / 500.0);
      cum.Observe(x);
      if (x <= edge) below += 1;
    }
    const int64_t t = kT0 + i * 10'000;
    b.AddHistogram(*h, t, cum);
    b.Add(*cnt, t, cum.count());
    b.Add(*sum, t, cum.sum());
    b.Add(*low, t, below);
  }
  ASSERT_TRUE(store_->Commit(b).ok());
  const int64_t start = kT0 + 300'000 + 7'000;
  const int64_t end = kT0 + 999 * 10'000 + 3'000;
  auto points = [&](const std::string& q) {
    auto r = engine_->Range(q, start, end, 70'000);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status();
    std::map<int64_t, double> out;
    if (r.ok() && !r->matrix.empty()) {
      for (const auto& p : r->matrix[0].points) out[p.t] = p.v;
    }
    return out;
  };
  const std::pair<std::string, std::string> cases[] = {
      {"histogram_count(rate(lat[5m]))", "rate(lat_cnt[5m])"},
      {"histogram_sum(increase(lat[3m]))", "increase(lat_sum[3m])"},
      {absl::StrFormat(
           "histogram_fraction(0, %.17g, rate(lat[5m])) * histogram_count(rate(lat[5m]))", edge),
       "rate(lat_low[5m])"},
  };
  for (const auto& [native, reference] : cases) {
    const auto got = points(native);
    const auto want = points(reference);
    ASSERT_GT(want.size(), 100u) << reference;
    ASSERT_EQ(got.size(), want.size()) << native;
    for (const auto& [t, v] : want) {
      ASSERT_TRUE(got.contains(t)) << native << " at " << t;
      EXPECT_NEAR(got.at(t), v, 1e-9 * std::max(1.0, std::fabs(v))) << native << " at " << t;
    }
  }
}

TEST_F(EngineTest, LongRangesReadRollups) {
  // Three days at 1 min; the first two get rolled up once the third has started.
  Load(L({{"__name__", "g"}}), 3 * 1440, kMin, [](int i) { return (i % 10) * 1.0; });
  Load(L({{"__name__", "c_total"}}), 3 * 1440, kMin, [](int i) { return 3.0 * i; });
  clock_.SetTime(absl::FromUnixMillis(kT0 + 3 * 1440 * kMin));
  ASSERT_TRUE(store_->RunOnce().ok());
  ASSERT_GE(store_->Stats().rollups_written_total, 4u);
  const int64_t day = 1440 * kMin;
  // Step and window of 1 h read the rollups; results are those of (t − 1 h, t] windows.
  auto r = engine_->Range("sum_over_time(g[1h])", kT0 + 2 * 3'600'000, kT0 + day, 3'600'000);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_THAT(r->matrix, SizeIs(1));
  EXPECT_GE(r->samples_read, 1u);
  for (const Point& p : r->matrix[0].points) {
    double want = 0;
    for (int64_t t = p.t - 3'600'000 + kMin; t <= p.t; t += kMin)
      want += static_cast<double>(((t - kT0) / kMin) % 10);
    EXPECT_DOUBLE_EQ(p.v, want) << p.t;
  }
  auto rate = engine_->Range("rate(c_total[1h])", kT0 + 2 * 3'600'000, kT0 + day, 3'600'000);
  ASSERT_TRUE(rate.ok());
  for (const Point& p : rate->matrix[0].points) EXPECT_NEAR(p.v, 3.0 / 60, 1e-9) << p.t;
  // A short step reads raw samples: the Prometheus window [t − 1 h, t] with 61 samples.
  EXPECT_EQ(One("count_over_time(g[1h])", kT0 + 5 * 3'600'000), 61);
  // An instant query over a long window reads rollups: (t − 12 h, t] has 720 samples.
  EXPECT_EQ(One("count_over_time(g[12h])", kT0 + day), 720);
  EXPECT_NEAR(One("rate(c_total[12h])", kT0 + day), 3.0 / 60, 1e-9);
  auto coarse =
      engine_->Range("count_over_time(g[1h])", kT0 + 5 * 3'600'000, kT0 + 6 * 3'600'000, 3'600'000);
  ASSERT_TRUE(coarse.ok());
  ASSERT_THAT(coarse->matrix[0].points, SizeIs(2));
  EXPECT_EQ(coarse->matrix[0].points[0].v, 60);
}

TEST_F(EngineTest, RangeQueriesAndLimits) {
  Load(L({{"__name__", "g"}}), 120, 30'000, [](int i) { return i; });
  auto r = engine_->Range("g * 2", kT0, kT0 + 3'600'000, 60'000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, ValueType::kMatrix);
  ASSERT_THAT(r->matrix, SizeIs(1));
  EXPECT_THAT(r->matrix[0].points, SizeIs(61));
  EXPECT_EQ(r->matrix[0].points[10].v, 40);
  auto sc = engine_->Range("1", kT0, kT0 + 60'000, 30'000);
  ASSERT_TRUE(sc.ok());
  EXPECT_THAT(sc->matrix[0].points, SizeIs(3));
  EXPECT_FALSE(engine_->Range("g", kT0, kT0 + 100'000'000, 1).ok());
  EXPECT_FALSE(engine_->Range("g[5m]", kT0, kT0 + 60'000, 1000).ok());
  EXPECT_FALSE(engine_->Range("g", kT0, kT0 + 60'000, 0).ok());
  EngineOptions small;
  small.max_samples = 10;
  QueryEngine limited(*store_, clock_, small);
  auto big = limited.Instant("g[1h]", kT0 + 3'600'000);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace candor::store
