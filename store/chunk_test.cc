#include "store/chunk.h"

#include <cmath>
#include <limits>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/bits.h"

namespace candor::store {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<int64_t> RegularTimestamps(size_t n, int64_t start = 1700000000000,
                                       int64_t step = 10000) {
  std::vector<int64_t> ts(n);
  for (size_t i = 0; i < n; ++i) ts[i] = start + static_cast<int64_t>(i) * step;
  return ts;
}

// Round-trips and compares bit patterns (so NaN payloads and -0.0 count).
void ExpectRoundTrip(const std::vector<int64_t>& ts, const std::vector<double>& vs,
                     const std::string& chunk) {
  std::vector<Sample> out;
  ASSERT_TRUE(DecodeFloatChunk(chunk, &out).ok());
  ASSERT_EQ(out.size(), ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(out[i].t, ts[i]) << i;
    EXPECT_EQ(DoubleBits(out[i].v), DoubleBits(vs[i])) << i << " " << vs[i] << " vs " << out[i].v;
  }
}

void ExpectRoundTripAllEncodings(const std::vector<int64_t>& ts, const std::vector<double>& vs) {
  ExpectRoundTrip(ts, vs, EncodeFloatChunk(ts, vs));
  auto x = EncodeFloatChunkAs(ChunkEncoding::kXor, ts, vs);
  ASSERT_TRUE(x.ok());
  ExpectRoundTrip(ts, vs, *x);
  auto sp = EncodeFloatChunkAs(ChunkEncoding::kSplit, ts, vs);
  ASSERT_TRUE(sp.ok());
  ExpectRoundTrip(ts, vs, *sp);
  auto d = EncodeFloatChunkAs(ChunkEncoding::kDecimal, ts, vs);
  if (d.ok()) ExpectRoundTrip(ts, vs, *d);
}

TEST(ChunkTest, SingleSample) {
  ExpectRoundTripAllEncodings({42}, {0.25});
  ExpectRoundTripAllEncodings({-5}, {-1e300});
}

TEST(ChunkTest, MillisecondGaugesPickDecimalAndAreSmall) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> lat(std::log(0.2), 0.5);
  const auto ts = RegularTimestamps(240);
  std::vector<double> vs(ts.size());
  for (double& v : vs) v = std::round(lat(rng) * 1000) / 1000;
  const std::string chunk = EncodeFloatChunk(ts, vs);
  ASSERT_EQ(PeekChunk(chunk)->encoding, ChunkEncoding::kDecimal);
  ExpectRoundTrip(ts, vs, chunk);
  // Regular timestamps cost nothing; ~8 bits of value entropy per sample.
  EXPECT_LT(static_cast<double>(chunk.size()) / 240, 1.6);
  const std::string xor_chunk = *EncodeFloatChunkAs(ChunkEncoding::kXor, ts, vs);
  EXPECT_LT(chunk.size() * 3, xor_chunk.size());
}

TEST(ChunkTest, CountersPickDecimal) {
  std::mt19937_64 rng(2);
  std::poisson_distribution<int> inc(120);
  const auto ts = RegularTimestamps(240);
  std::vector<double> vs(ts.size());
  double c = 1e6;
  for (double& v : vs) v = (c += inc(rng));
  const std::string chunk = EncodeFloatChunk(ts, vs);
  EXPECT_EQ(PeekChunk(chunk)->encoding, ChunkEncoding::kDecimal);
  ExpectRoundTrip(ts, vs, chunk);
  EXPECT_LT(static_cast<double>(chunk.size()) / 240, 1.0);
}

TEST(ChunkTest, FullPrecisionFloatsUseTheSmallerOfXorAndSplit) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> lat(std::log(0.2), 0.5);
  const auto ts = RegularTimestamps(240);
  std::vector<double> vs(ts.size());
  for (double& v : vs) v = lat(rng);
  const std::string chunk = EncodeFloatChunk(ts, vs);
  EXPECT_EQ(PeekChunk(chunk)->encoding, ChunkEncoding::kSplit);
  EXPECT_LT(chunk.size(), EncodeFloatChunkAs(ChunkEncoding::kXor, ts, vs)->size());
  ExpectRoundTrip(ts, vs, chunk);
}

TEST(ChunkTest, SpecialValuesRoundTrip) {
  const double stale = BitsDouble(0x7ff0000000000002ULL);
  const std::vector<double> vs = {0.0,
                                  -0.0,
                                  std::numeric_limits<double>::quiet_NaN(),
                                  stale,
                                  kInf,
                                  -kInf,
                                  std::numeric_limits<double>::denorm_min(),
                                  -std::numeric_limits<double>::denorm_min(),
                                  std::numeric_limits<double>::max(),
                                  std::numeric_limits<double>::lowest(),
                                  1.0,
                                  1.0,
                                  0.1,
                                  -0.0};
  ExpectRoundTripAllEncodings(RegularTimestamps(vs.size()), vs);
}

TEST(ChunkTest, NegativeZeroIsNotDecimal) {
  const std::vector<double> vs = {1.5, -0.0, 2.5};
  EXPECT_FALSE(EncodeFloatChunkAs(ChunkEncoding::kDecimal, RegularTimestamps(3), vs).ok());
  ExpectRoundTripAllEncodings(RegularTimestamps(3), vs);
}

TEST(ChunkTest, HugeDeltasAndIrregularTimestamps) {
  const std::vector<int64_t> ts = {
      -4'000'000'000'000'000'000, -1, 0, 1, 2, 1'000'000'000'000'000, 1'000'000'000'000'001,
      4'000'000'000'000'000'000};
  const std::vector<double> vs = {
      9007199254740991.0, -9007199254740991.0, 0, 1e-12, 123456.789, -1e15, 5, 7};
  ExpectRoundTripAllEncodings(ts, vs);
}

TEST(ChunkTest, DuplicateTimestampsRoundTrip) {
  const std::vector<int64_t> ts = {1000, 1000, 1000, 2000, 2000, 3000};
  const std::vector<double> vs = {1, 2, 3, 4, 5, 6};
  ExpectRoundTripAllEncodings(ts, vs);
}

TEST(ChunkTest, MaxDecimalExponentAndBeyond) {
  ExpectRoundTripAllEncodings(RegularTimestamps(3), {0.000000000001, 0.000000000002, 1});
  const std::vector<double> beyond = {0.0000000000001, 1};
  EXPECT_FALSE(EncodeFloatChunkAs(ChunkEncoding::kDecimal, RegularTimestamps(2), beyond).ok());
  ExpectRoundTripAllEncodings(RegularTimestamps(2), beyond);
}

TEST(ChunkTest, RandomizedRoundTrip) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    const size_t n = 1 + rng() % 500;
    std::vector<int64_t> ts(n);
    int64_t t = static_cast<int64_t>(rng() % 2'000'000'000'000ULL);
    const int shape = static_cast<int>(rng() % 4);
    for (size_t i = 0; i < n; ++i) {
      ts[i] = t;
      switch (shape) {
        case 0:
          t += 15000;
          break;
        case 1:
          t += 15000 + static_cast<int64_t>(rng() % 7) - 3;
          break;
        case 2:
          t += 1 + static_cast<int64_t>(rng() % 1'000'000'000);
          break;
        default:
          t += static_cast<int64_t>(rng() % 2);
          break;
      }
    }
    std::vector<double> vs(n);
    const int vshape = static_cast<int>(rng() % 5);
    double c = 0;
    for (size_t i = 0; i < n; ++i) {
      switch (vshape) {
        case 0:
          vs[i] = static_cast<double>(static_cast<int64_t>(rng() % 2000) - 1000) / 1000;
          break;
        case 1:
          vs[i] = (c += static_cast<double>(rng() % 500));
          break;
        case 2:
          vs[i] = BitsDouble(rng());
          break;  // Any bit pattern, NaNs included.
        case 3:
          vs[i] =
              std::ldexp(static_cast<double>(rng() % 1000), static_cast<int>(rng() % 200) - 100);
          break;
        default:
          vs[i] = (rng() % 10 == 0) ? kInf : 3.25;
          break;
      }
    }
    ExpectRoundTripAllEncodings(ts, vs);
  }
}

TEST(ChunkTest, RangeFilter) {
  const auto ts = RegularTimestamps(10, 0, 10);
  std::vector<double> vs(10, 1.0);
  std::vector<Sample> out;
  ASSERT_TRUE(DecodeFloatChunk(EncodeFloatChunk(ts, vs), &out, 25, 60).ok());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out.front().t, 30);
  EXPECT_EQ(out.back().t, 60);
}

TEST(ChunkTest, TruncatedAndCorruptChunksFailCleanly) {
  std::mt19937_64 rng(11);
  const auto ts = RegularTimestamps(200);
  std::vector<double> ms(200);
  std::vector<double> raw(200);
  for (size_t i = 0; i < 200; ++i) {
    ms[i] = static_cast<double>(rng() % 100000) / 1000;
    raw[i] = BitsDouble(rng());
  }
  for (const std::string& chunk : {EncodeFloatChunk(ts, ms), EncodeFloatChunk(ts, raw)}) {
    for (size_t len = 0; len < chunk.size(); ++len) {
      std::vector<Sample> out;
      // A prefix must never crash; most prefixes are detected as corrupt.
      (void)DecodeFloatChunk(std::string_view(chunk).substr(0, len), &out);
    }
    for (int i = 0; i < 2000; ++i) {
      std::string bad = chunk;
      bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
      std::vector<Sample> out;
      (void)DecodeFloatChunk(bad, &out);
    }
  }
  std::vector<Sample> out;
  EXPECT_EQ(DecodeFloatChunk("", &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeFloatChunk(std::string(1, '\x09'), &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeFloatChunk(std::string("\x02\x00", 2), &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeFloatChunk(std::string("\x02\x05", 2), &out).code(), absl::StatusCode::kDataLoss);
}

TEST(BitsTest, WriterReaderAgree) {
  std::mt19937_64 rng(5);
  std::vector<std::pair<uint64_t, int>> fields;
  std::string buf;
  {
    BitWriter w(&buf);
    for (int i = 0; i < 5000; ++i) {
      const int n = static_cast<int>(rng() % 65);
      const uint64_t v = n == 64 ? rng() : (rng() & ((uint64_t{1} << n) - 1));
      fields.push_back({v, n});
      w.Write(v, n);
    }
  }
  BitReader r(buf);
  for (const auto& [v, n] : fields) ASSERT_EQ(r.Read(n), v);
  EXPECT_TRUE(r.ok());
  r.Read(64);
  r.Read(64);
  EXPECT_FALSE(r.ok());
}

// Packed blocks of every shape the bulk readers special-case: Rice with k = 0 (runs of short
// codes read a byte at a time, values of 8 or more, escapes), larger k, fixed widths with
// escapes, block lengths that are not a multiple of 8, and truncation anywhere.
TEST(BitsTest, PackedBlocksRoundTripAndRejectTruncation) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 400; ++trial) {
    const size_t n = 1 + rng() % 300;
    std::vector<int64_t> v(n);
    const int shape = trial % 5;
    for (int64_t& x : v) {
      const uint64_t r = rng();
      switch (shape) {
        case 0:
          x = static_cast<int64_t>(r % 3 == 0 ? r % 3 : 0);
          break;  // Sparse 0/1/2.
        case 1:
          x = static_cast<int64_t>(r % 16);
          break;  // Up to 15.
        case 2:
          x = r % 50 == 0 ? static_cast<int64_t>(r >> 20) : static_cast<int64_t>(r % 4);
          break;
        case 3:
          x = static_cast<int64_t>(r % 2000) - 1000;
          break;  // Zigzag.
        default:
          x = static_cast<int64_t>(r);
          break;  // Wide.
      }
    }
    std::string bytes;
    {
      BitWriter w(&bytes);
      internal::EncodePacked(v, &w);
      w.Write(0x5, 3);  // Trailing bits stay unread.
    }
    std::vector<int64_t> out(n, -1);
    BitReader r(bytes);
    ASSERT_TRUE(internal::DecodePacked(&r, static_cast<uint32_t>(n), out.data())) << trial;
    EXPECT_EQ(out, v) << trial;
    EXPECT_EQ(r.Read(3), 0x5u) << trial;
    // Every proper prefix of the block either fails or (when padding hides the cut) decodes the
    // same values; it never reads past its end.
    for (size_t cut = 0; cut + 1 < bytes.size(); cut += 1 + bytes.size() / 7) {
      BitReader t(std::string_view(bytes).substr(0, cut));
      std::vector<int64_t> part(n, -1);
      if (internal::DecodePacked(&t, static_cast<uint32_t>(n), part.data())) {
        EXPECT_EQ(part, v) << trial << " cut " << cut;
      }
    }
  }
}

TEST(BitsTest, Varints) {
  std::string buf;
  const std::vector<uint64_t> vals = {0, 1, 127, 128, 300, ~uint64_t{0}};
  for (uint64_t v : vals) PutVarint(&buf, v);
  std::string_view in = buf;
  for (uint64_t v : vals) {
    uint64_t got = 0;
    ASSERT_TRUE(GetVarint(&in, &got));
    EXPECT_EQ(got, v);
  }
  uint64_t got = 0;
  EXPECT_FALSE(GetVarint(&in, &got));
  std::string_view overlong("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);
  EXPECT_FALSE(GetVarint(&overlong, &got));
  EXPECT_EQ(UnZigZag(ZigZag(INT64_MIN)), INT64_MIN);
  EXPECT_EQ(UnZigZag(ZigZag(INT64_MAX)), INT64_MAX);
}

}  // namespace
}  // namespace candor::store
