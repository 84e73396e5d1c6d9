#include "store/histogram.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "store/histogram_chunk.h"

namespace candor::store {
namespace {

// The exact q-quantile by the rank rule Histogram::Quantile follows: the observation of
// (1-based) rank ceil(q·n) in sorted order.
double ExactQuantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::max<size_t>(rank, 1) - 1];
}

TEST(HistogramTest, BucketIndexBoundariesAreUpperInclusive) {
  EXPECT_EQ(Histogram::BucketIndex(0, 1.0), 0);
  EXPECT_EQ(Histogram::BucketIndex(0, 1.5), 1);
  EXPECT_EQ(Histogram::BucketIndex(0, 2.0), 1);
  EXPECT_EQ(Histogram::BucketIndex(0, 2.0001), 2);
  EXPECT_EQ(Histogram::BucketIndex(0, 0.5), -1);
  EXPECT_EQ(Histogram::BucketIndex(1, 2.0), 2);
  EXPECT_EQ(Histogram::BucketIndex(1, 1.4), 1);
  EXPECT_EQ(Histogram::BucketIndex(-1, 4.0), 1);
  EXPECT_EQ(Histogram::BucketIndex(-1, 4.1), 2);
  EXPECT_EQ(Histogram::BucketIndex(-2, 16.0), 1);
  for (int32_t s = kMinSchema; s <= kMaxSchema; ++s) {
    for (int32_t i = -200; i <= 200; i += 7) {
      const auto [lo, hi] = Histogram::BucketBounds(s, i);
      if (!(lo > 0) || std::isinf(hi)) continue;
      const double mid = std::exp2((i - 0.5) * std::ldexp(1.0, -s));
      EXPECT_EQ(Histogram::BucketIndex(s, mid), i) << "schema " << s << " index " << i;
    }
  }
  EXPECT_GT(Histogram::BucketIndex(5, INFINITY), Histogram::BucketIndex(5, 1e308));
}

TEST(HistogramTest, RelativeErrorBounds) {
  EXPECT_NEAR(Histogram::RelativeErrorBound(3), 0.0433, 1e-4);
  EXPECT_NEAR(Histogram::RelativeErrorBound(5), 0.01083, 1e-4);
  EXPECT_NEAR(Histogram::RelativeErrorBound(8), 0.00135, 1e-5);
}

TEST(HistogramTest, MergeIsExact) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> d(std::log(0.2), 0.8);
  Histogram a(5), b(5), all(5);
  for (int i = 0; i < 20000; ++i) {
    const double v = (i % 17 == 0) ? -d(rng) : d(rng);
    ((i % 3 == 0) ? a : b).Observe(v);
    all.Observe(v);
  }
  Histogram merged = a;
  merged.Add(b);
  EXPECT_EQ(merged.positive(), all.positive());
  EXPECT_EQ(merged.negative(), all.negative());
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.zero_count(), all.zero_count());
  EXPECT_NEAR(merged.sum(), all.sum(), 1e-9 * std::fabs(all.sum()));
}

TEST(HistogramTest, MergeAcrossSchemasReducesExactly) {
  std::mt19937_64 rng(2);
  std::exponential_distribution<double> d(3.0);
  Histogram fine(7), coarse(2), reference(2);
  for (int i = 0; i < 5000; ++i) {
    const double v = d(rng);
    ((i % 2) ? fine : coarse).Observe(v);
    reference.Observe(v);
  }
  Histogram merged = fine;
  merged.Add(coarse);
  EXPECT_EQ(merged.schema(), 2);
  EXPECT_EQ(merged.positive(), reference.positive());
  Histogram reduced = fine;
  reduced.ReduceSchema(-3);
  Histogram direct(-3);
  for (const Bucket& b : fine.positive()) {
    const auto [lo, hi] = Histogram::BucketBounds(7, b.index);
    direct.Observe(std::sqrt(lo * hi), b.count);
  }
  EXPECT_EQ(reduced.positive(), direct.positive());
}

TEST(HistogramTest, ZeroBucketAndNaN) {
  Histogram h(3, 0.001);
  h.Observe(0);
  h.Observe(0.0005);
  h.Observe(-0.0005);
  h.Observe(NAN);
  h.Observe(1);
  EXPECT_EQ(h.zero_count(), 3);
  EXPECT_EQ(h.count(), 5);
  EXPECT_TRUE(std::isnan(h.sum()));
  Histogram wide(3, 0.5);
  wide.Observe(0.3);
  Histogram merged = h;
  merged.Add(wide);
  EXPECT_EQ(merged.zero_threshold(), 0.5);
  EXPECT_EQ(merged.zero_count(), 4);
}

struct QuantileCase {
  const char* name;
  int schema;
};

class QuantileErrorTest : public ::testing::TestWithParam<QuantileCase> {};

TEST_P(QuantileErrorTest, WithinBoundOnKnownDistributions) {
  const int schema = GetParam().schema;
  const double bound = Histogram::RelativeErrorBound(schema);
  std::mt19937_64 rng(static_cast<uint64_t>(schema) + 100);
  std::lognormal_distribution<double> logn(std::log(0.2), 0.6);
  std::uniform_real_distribution<double> uni(0.001, 50);
  std::exponential_distribution<double> expo(0.5);
  for (int dist = 0; dist < 3; ++dist) {
    std::vector<double> obs;
    Histogram h(schema);
    for (int i = 0; i < 30000; ++i) {
      double v = dist == 0 ? logn(rng) : dist == 1 ? uni(rng) : expo(rng);
      if (dist == 0 && i % 100 == 0) v *= 5;  // 1 % outliers, as in the reference check.
      obs.push_back(v);
      h.Observe(v);
    }
    for (double q : {0.01, 0.5, 0.9, 0.95, 0.99, 0.999}) {
      const double exact = ExactQuantile(obs, q);
      const double est = h.Quantile(q);
      EXPECT_LE(std::fabs(est - exact) / exact, bound * (1 + 1e-9))
          << "dist " << dist << " q " << q << " exact " << exact << " est " << est;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Schemas, QuantileErrorTest,
                         ::testing::Values(QuantileCase{"s3", 3}, QuantileCase{"s5", 5},
                                           QuantileCase{"s8", 8}, QuantileCase{"s0", 0}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(HistogramTest, QuantileEdgeCases) {
  Histogram h(5);
  EXPECT_TRUE(std::isnan(h.Quantile(0.5)));
  h.Observe(1.0);
  EXPECT_EQ(h.Quantile(-0.1), -INFINITY);
  EXPECT_EQ(h.Quantile(1.1), INFINITY);
  EXPECT_TRUE(std::isnan(h.Quantile(NAN)));
  const double tol = Histogram::RelativeErrorBound(5) * (1 + 1e-9);
  EXPECT_NEAR(h.Quantile(0.5), 1.0, tol);
  Histogram neg(5);
  for (double v : {-4.0, -2.0, -1.0}) neg.Observe(v);
  EXPECT_NEAR(neg.Quantile(0.0), -4.0, 4.0 * tol);
  EXPECT_NEAR(neg.Quantile(1.0), -1.0, tol);
}

TEST(HistogramTest, QuantileIsStableUnderRateScaling) {
  // 100 observations in 100 distinct buckets: P99's rank falls exactly on a bucket edge, which
  // floating-point scaling (rate divides by the window) must not move.
  Histogram h(5);
  for (int i = 1; i <= 100; ++i) h.Observe(std::pow(1.1, i));
  for (double scale : {1.0 / 3600, 1.0 / 300, 1.7, 1e-6}) {
    Histogram scaled = h;
    scaled.Scale(scale);
    for (double q : {0.5, 0.9, 0.99})
      EXPECT_EQ(scaled.Quantile(q), h.Quantile(q)) << scale << " " << q;
  }
}

TEST(HistogramTest, SubtractingCumulativeStatesGivesTheWindow) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> d(0, 1);
  Histogram cum(5), window(5);
  for (int i = 0; i < 1000; ++i) cum.Observe(d(rng));
  const Histogram before = cum;
  for (int i = 0; i < 500; ++i) {
    const double v = d(rng);
    cum.Observe(v);
    window.Observe(v);
  }
  EXPECT_FALSE(cum.IsResetFrom(before));
  EXPECT_TRUE(before.IsResetFrom(cum));
  Histogram diff = cum;
  diff.Sub(before);
  EXPECT_EQ(diff.positive(), window.positive());
  EXPECT_EQ(diff.count(), window.count());
}

TEST(HistogramTest, ValidateRejectsMalformed) {
  Histogram h(5);
  h.Observe(1);
  EXPECT_TRUE(h.Validate().ok());
  Histogram bad = h;
  bad.set_count(0);
  EXPECT_FALSE(bad.Validate().ok());
  bad = h;
  bad.set_positive({{3, 1}, {2, 1}});
  bad.set_count(2);
  EXPECT_FALSE(bad.Validate().ok());
  bad = h;
  bad.set_positive({{3, -1}});
  EXPECT_FALSE(bad.Validate().ok());
  bad = h;
  bad.set_zero_threshold(-1);
  EXPECT_FALSE(bad.Validate().ok());
}

TEST(HistogramChunkTest, RoundTripCumulativeSeries) {
  std::mt19937_64 rng(4);
  std::lognormal_distribution<double> d(std::log(0.2), 0.6);
  Histogram cum(5);
  std::vector<int64_t> ts;
  std::vector<Histogram> hs;
  for (int i = 0; i < 240; ++i) {
    for (int k = 0; k < 100; ++k) cum.Observe(std::round(d(rng) * 1000) / 1000);
    if (i == 100) cum.Observe(-3);
    ts.push_back(1'700'000'000'000 + i * 10'000);
    Histogram stored = cum;
    stored.set_sum(std::round(stored.sum() * 1000) / 1000);
    hs.push_back(stored);
  }
  for (const Histogram& h : hs) ASSERT_TRUE(IsStorableHistogram(h));
  const std::string chunk = EncodeHistogramChunk(ts, hs);
  std::vector<HistogramSample> out;
  ASSERT_TRUE(DecodeHistogramChunk(chunk, &out).ok());
  ASSERT_EQ(out.size(), hs.size());
  for (size_t i = 0; i < hs.size(); ++i) {
    EXPECT_EQ(out[i].t, ts[i]);
    EXPECT_EQ(out[i].h, hs[i]) << i;
  }
  // A few bits per bucket column per sample, far below 8 bytes per bucket.
  EXPECT_LT(static_cast<double>(chunk.size()) / 240, 60.0);
  for (size_t len = 0; len < chunk.size(); len += 97) {
    std::vector<HistogramSample> o;
    (void)DecodeHistogramChunk(std::string_view(chunk).substr(0, len), &o);
  }
  for (int i = 0; i < 200; ++i) {
    std::string bad = chunk;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    std::vector<HistogramSample> o;
    (void)DecodeHistogramChunk(bad, &o);
  }
}

TEST(HistogramChunkTest, ColumnsFromHistogramsMatchDecodedChunks) {
  // Buckets appear over time, a negative side comes and goes, and resets happen both as a
  // falling count and as one bucket falling while the count grows.
  std::mt19937_64 rng(9);
  std::lognormal_distribution<double> d(std::log(0.2), 0.5);
  Histogram cum(5);
  std::vector<int64_t> ts;
  std::vector<Histogram> hs;
  std::vector<uint8_t> want_reset;
  for (int i = 0; i < 300; ++i) {
    const Histogram before = cum;
    if (i == 120) cum = Histogram(5);
    for (int k = 0; k < 20; ++k) cum.Observe(std::round(d(rng) * (1 + i / 100.0) * 1000) / 1000);
    if (i % 50 == 7) cum.Observe(-1.5);
    if (i == 200) {
      // Moves one observation between buckets: the count holds, one bucket decreases.
      std::vector<Bucket>& p = *cum.mutable_positive();
      std::max_element(p.begin(), p.end(), [](const Bucket& a, const Bucket& b) {
        return a.count < b.count;
      })->count -= 1;
      p.back().count += 1;
    }
    ts.push_back(1'700'000'000'000 + i * 10'000);
    cum.set_sum(std::round(cum.sum() * 1000) / 1000);
    hs.push_back(cum);
    want_reset.push_back(i > 0 && cum.IsResetFrom(before) ? 1 : 0);
  }
  ASSERT_EQ(std::count(want_reset.begin(), want_reset.end(), 1), 2);
  HistogramColumns decoded;
  ASSERT_TRUE(DecodeHistogramColumns(EncodeHistogramChunk(ts, hs), &decoded).ok());
  // A spare block with larger, dirty buffers must not leak into the result.
  std::vector<HistogramColumns> spare(1);
  spare[0].pos.assign(1'000'000, 77);
  spare[0].neg.assign(1'000'000, 77);
  spare[0].pos_index.assign(500, 3);
  spare[0].ts.assign(1000, 5);
  std::vector<HistogramColumns> built;
  AppendAsColumns(ts, hs, &built, &spare);
  ASSERT_EQ(built.size(), 1u);
  EXPECT_TRUE(spare.empty());
  const HistogramColumns& c = built[0];
  EXPECT_EQ(c.ts, decoded.ts);
  EXPECT_EQ(c.count, decoded.count);
  EXPECT_EQ(c.zero_count, decoded.zero_count);
  EXPECT_EQ(c.sum, decoded.sum);
  EXPECT_EQ(c.pos_index, decoded.pos_index);
  EXPECT_EQ(c.neg_index, decoded.neg_index);
  EXPECT_EQ(c.pos, decoded.pos);
  EXPECT_EQ(c.neg, decoded.neg);
  EXPECT_EQ(c.reset, want_reset);
  EXPECT_EQ(decoded.reset, want_reset);
  for (size_t i = 0; i < hs.size(); ++i) EXPECT_EQ(c.At(i), hs[i]) << i;
  // A change of schema starts a new block.
  std::vector<HistogramSample> mixed = {{1, hs[0]}, {2, hs[1]}, {3, Histogram(3)}};
  mixed[2].h.Observe(0.5);
  std::vector<HistogramColumns> blocks;
  AppendAsColumns(mixed, &blocks);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].size(), 2u);
  EXPECT_EQ(blocks[1].At(0), mixed[2].h);
}

TEST(HistogramChunkTest, NonIntegerCountsAreNotStorable) {
  Histogram h(5);
  h.Observe(1.0, 0.5);
  EXPECT_FALSE(IsStorableHistogram(h));
}

}  // namespace
}  // namespace candor::store
