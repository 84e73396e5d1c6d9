#include "store/chunk.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "store/bits.h"

namespace candor::store {
namespace {

constexpr int kMaxDecimalExponent = 12;
constexpr std::array<double, kMaxDecimalExponent + 1> kPow10 = {1e0, 1e1, 1e2, 1e3,  1e4,  1e5, 1e6,
                                                                1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
constexpr double kMaxExactInt = 9007199254740992.0;  // 2^53

enum class Transform : uint8_t { kOffset = 0, kDelta = 1, kDeltaOfDelta = 2, kDeltaMinusMean = 3 };

// How a block of integers is packed: fixed width with escapes, or Rice codes (store/FORMAT.md
// §3.1). Values are zigzagged unless none is negative.
struct PackedPlan {
  bool zigzag = false;
  bool rice = false;
  int param = 0;  // Width, or Rice parameter k.
  int64_t bits = 0;
};

constexpr int kRiceMaxQuotient = 32;

inline uint64_t MapValue(int64_t v, bool zigzag) {
  return zigzag ? ZigZag(v) : static_cast<uint64_t>(v);
}

PackedPlan PlanPacked(std::span<const int64_t> values) {
  const auto n = static_cast<int64_t>(values.size());
  bool zigzag = false;
  for (int64_t v : values) zigzag |= v < 0;
  std::array<int64_t, 65> len_hist{};
  std::array<int64_t, 65> all_ones{};  // Values 2^len - 1: they are the escape code at width len.
  long double mean = 0;
  for (int64_t v : values) {
    const uint64_t u = MapValue(v, zigzag);
    const int len = BitLength(u);
    ++len_hist[static_cast<size_t>(len)];
    if (len > 0 && (u & (u + 1)) == 0) ++all_ones[static_cast<size_t>(len)];
    mean += static_cast<long double>(u);
  }
  constexpr int64_t kHeader = 2 + 7;
  if (len_hist[0] == n) return {zigzag, false, 0, kHeader};
  // Fixed width w: a value longer than w, or exactly the all-ones code of w bits, escapes
  // (the code, a 7-bit length and the value).
  int64_t longer = n - len_hist[0];
  int64_t longer_len_sum = 0;
  for (int len = 1; len <= 64; ++len) longer_len_sum += len * len_hist[static_cast<size_t>(len)];
  PackedPlan best{zigzag, false, 64, kHeader + 64 * n};
  for (int w = 1; w < 64; ++w) {
    const int64_t at_w = len_hist[static_cast<size_t>(w)];
    longer -= at_w;
    longer_len_sum -= w * at_w;
    const int64_t ones = all_ones[static_cast<size_t>(w)];
    const int64_t bits = kHeader + n * w + (longer + ones) * 7 + longer_len_sum + ones * w;
    if (bits < best.bits) best = {zigzag, false, w, bits};
  }
  // Rice: near-optimal for geometric-looking data (counter increments, histogram buckets).
  // Try the parameters around log2 of the mean.
  mean /= static_cast<long double>(n);
  const int k0 = mean < 1 ? 0 : static_cast<int>(std::log2(static_cast<double>(mean)));
  for (int k = std::max(0, k0 - 2); k <= std::min(62, k0 + 1); ++k) {
    int64_t bits = kHeader - 1 + 6;  // Mode bit + k instead of the 7-bit width.
    for (int64_t v : values) {
      const uint64_t q = MapValue(v, zigzag) >> k;
      bits += q < kRiceMaxQuotient ? static_cast<int64_t>(q) + 1 + k
                                   : kRiceMaxQuotient + 7 + BitLength(MapValue(v, zigzag));
    }
    if (bits < best.bits) best = {zigzag, true, k, bits};
  }
  return best;
}

// The decimal exponent that makes every value an exact integer, or -1.
int FindDecimalExponent(std::span<const double> values) {
  int e = 0;
  for (double v : values) {
    if (!std::isfinite(v) || (v == 0 && std::signbit(v))) return -1;
    while (true) {
      const double scaled = v * kPow10[static_cast<size_t>(e)];
      if (std::fabs(scaled) < kMaxExactInt) {
        const double x = std::nearbyint(scaled);
        if (x / kPow10[static_cast<size_t>(e)] == v) break;
      }
      if (++e > kMaxDecimalExponent) return -1;
    }
  }
  return e;
}

// Scaled integers for exponent `e`, verified to decode bit-exactly; false if any does not.
bool ScaleExact(std::span<const double> values, int e, std::vector<int64_t>* out) {
  out->resize(values.size());
  const double p = kPow10[static_cast<size_t>(e)];
  for (size_t i = 0; i < values.size(); ++i) {
    const double scaled = values[i] * p;
    if (!(std::fabs(scaled) < kMaxExactInt)) return false;
    const auto x = static_cast<int64_t>(std::nearbyint(scaled));
    if (DoubleBits(static_cast<double>(x) / p) != DoubleBits(values[i])) return false;
    (*out)[i] = x;
  }
  return true;
}

struct IntSeriesPlan {
  Transform transform = Transform::kDelta;
  int64_t bits = INT64_MAX;
  int64_t param = 0;  // Base (offset), mean delta, or first delta.
  std::vector<int64_t> residuals;
};

// Picks the transform of `x` whose bit-packed residuals are smallest.
IntSeriesPlan PlanIntSeries(std::span<const int64_t> x) {
  const size_t n = x.size();
  IntSeriesPlan best;
  auto consider = [&](Transform t, int64_t param, std::vector<int64_t> res, int64_t header) {
    const PackedPlan p = PlanPacked(res);
    if (header + p.bits < best.bits) {
      best.transform = t;
      best.bits = header + p.bits;
      best.param = param;
      best.residuals = std::move(res);
    }
  };
  int64_t min = x[0];
  for (int64_t v : x) min = std::min(min, v);
  std::vector<int64_t> res(n);
  for (size_t i = 0; i < n; ++i) res[i] = x[i] - min;
  consider(Transform::kOffset, min, res, 2 + 7 + BitLength(ZigZag(min)));
  if (n < 2) return best;
  std::vector<int64_t> deltas(n - 1);
  for (size_t i = 1; i < n; ++i) deltas[i - 1] = x[i] - x[i - 1];
  const int64_t head = 2 + 7 + BitLength(ZigZag(x[0]));
  consider(Transform::kDelta, 0, deltas, head);
  // The deltas telescope; |x| < 2^53, so this cannot overflow.
  const int64_t mean = (x[n - 1] - x[0]) / static_cast<int64_t>(n - 1);
  if (mean != 0) {
    res.assign(n - 1, 0);
    for (size_t i = 0; i < n - 1; ++i) res[i] = deltas[i] - mean;
    consider(Transform::kDeltaMinusMean, mean, res, head + 7 + BitLength(ZigZag(mean)));
  }
  if (n >= 3) {
    res.assign(n - 2, 0);
    for (size_t i = 1; i < n - 1; ++i) res[i - 1] = deltas[i] - deltas[i - 1];
    consider(Transform::kDeltaOfDelta, deltas[0], res, head + 7 + BitLength(ZigZag(deltas[0])));
  }
  return best;
}

void WriteIntSeries(std::span<const int64_t> x, const IntSeriesPlan& plan, BitWriter* w) {
  w->Write(static_cast<uint64_t>(plan.transform), 2);
  if (plan.transform == Transform::kOffset) {
    w->WriteSigned(plan.param);
  } else {
    w->WriteSigned(x[0]);
    if (plan.transform != Transform::kDelta) w->WriteSigned(plan.param);
  }
  internal::EncodePacked(plan.residuals, w);
}

int64_t Add64(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

void WriteHeader(ChunkEncoding enc, size_t n, std::string* out) {
  out->push_back(static_cast<char>(enc));
  PutVarint(out, n);
}

void EncodeDecimal(std::span<const int64_t> ts, int e, const IntSeriesPlan& plan,
                   const std::vector<int64_t>& x, std::string* out) {
  WriteHeader(ChunkEncoding::kDecimal, ts.size(), out);
  BitWriter w(out);
  internal::EncodeTimestamps(ts, &w);
  w.Write(static_cast<uint64_t>(e), 4);
  WriteIntSeries(x, plan, &w);
}

void EncodeXor(std::span<const int64_t> ts, std::span<const double> values, std::string* out) {
  WriteHeader(ChunkEncoding::kXor, ts.size(), out);
  BitWriter w(out);
  internal::EncodeTimestamps(ts, &w);
  internal::EncodeXorValues(values, &w);
}

void EncodeSplit(std::span<const int64_t> ts, std::span<const double> values, std::string* out) {
  WriteHeader(ChunkEncoding::kSplit, ts.size(), out);
  BitWriter w(out);
  internal::EncodeTimestamps(ts, &w);
  internal::EncodeSplitValues(values, &w);
}

// The smaller of the xor and split encodings.
void EncodeNonDecimal(std::span<const int64_t> ts, std::span<const double> values,
                      std::string* out) {
  std::string split;
  EncodeSplit(ts, values, &split);
  EncodeXor(ts, values, out);
  if (split.size() < out->size()) *out = std::move(split);
}

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt chunk: ", Sv(what)));
}

bool DecodeDecimalValues(BitReader* r, uint32_t n, double* out) {
  const int e = static_cast<int>(r->Read(4));
  if (!r->ok() || e > kMaxDecimalExponent) return false;
  thread_local std::vector<int64_t> x;
  x.resize(n);
  if (!internal::DecodeIntSeries(r, n, x.data())) return false;
  const double p = kPow10[static_cast<size_t>(e)];
  for (uint32_t i = 0; i < n; ++i) out[i] = static_cast<double>(x[i]) / p;
  return true;
}

}  // namespace

namespace internal {

void EncodeTimestamps(std::span<const int64_t> ts, BitWriter* w) {
  w->WriteSigned(ts[0]);
  if (ts.size() < 2) return;
  const int64_t d0 = ts[1] - ts[0];
  w->WriteSigned(d0);
  if (ts.size() < 3) return;
  std::vector<int64_t> dod(ts.size() - 2);
  for (size_t i = 2; i < ts.size(); ++i) dod[i - 2] = (ts[i] - ts[i - 1]) - (ts[i - 1] - ts[i - 2]);
  EncodePacked(dod, w);
}

bool DecodeTimestamps(BitReader* r, uint32_t n, std::vector<int64_t>* out) {
  out->resize(n);
  if (n == 0) return true;
  int64_t* t = out->data();
  t[0] = r->ReadSigned();
  if (n < 2) return r->ok();
  int64_t delta = r->ReadSigned();
  t[1] = Add64(t[0], delta);
  if (n > 2 && !DecodePacked(r, n - 2, t + 2)) return false;
  for (uint32_t i = 2; i < n; ++i) {
    delta = Add64(delta, t[i]);
    t[i] = Add64(t[i - 1], delta);
  }
  if (!r->ok()) return false;
  for (uint32_t i = 1; i < n; ++i) {
    if (t[i] < t[i - 1]) return false;  // Timestamps never decrease within a chunk.
  }
  return true;
}

void EncodePacked(std::span<const int64_t> values, BitWriter* w) {
  const PackedPlan plan = PlanPacked(values);
  w->WriteBit(plan.zigzag);
  w->WriteBit(plan.rice);
  if (plan.rice) {
    const int k = plan.param;
    w->Write(static_cast<uint64_t>(k), 6);
    for (int64_t v : values) {
      const uint64_t u = MapValue(v, plan.zigzag);
      const uint64_t q = u >> k;
      if (q < kRiceMaxQuotient) {
        w->Write((uint64_t{1} << (q + 1)) - 2, static_cast<int>(q) + 1);  // q ones, a zero.
        w->Write(u, k);
      } else {
        w->Write((uint64_t{1} << kRiceMaxQuotient) - 1, kRiceMaxQuotient);
        const int len = BitLength(u);
        w->Write(static_cast<uint64_t>(len), 7);
        w->Write(u, len);
      }
    }
    return;
  }
  w->Write(static_cast<uint64_t>(plan.param), 7);
  const int width = plan.param;
  if (width == 0) return;
  const uint64_t escape = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
  for (int64_t v : values) {
    const uint64_t u = MapValue(v, plan.zigzag);
    if (width == 64 || u < escape) {
      w->Write(u, width);
    } else {
      w->Write(escape, width);
      const int len = BitLength(u);
      w->Write(static_cast<uint64_t>(len), 7);
      w->Write(u, len);
    }
  }
}

bool DecodePacked(BitReader* r, uint32_t n, int64_t* out) {
  const bool zigzag = r->ReadBit();
  const bool rice = r->ReadBit();
  // The codes are read in place as unsigned (int64_t and uint64_t may alias), then mapped.
  auto* u = reinterpret_cast<uint64_t*>(out);
  if (rice) {
    const int k = static_cast<int>(r->Read(6));
    if (!r->ok() || r->remaining_bits() < static_cast<int64_t>(n) * (k + 1)) return false;
    if (!r->ReadRiceBlock(k, kRiceMaxQuotient, n, u)) return false;
  } else {
    const int width = static_cast<int>(r->Read(7));
    if (!r->ok() || width > 64) return false;
    if (width == 0) {
      for (uint32_t i = 0; i < n; ++i) out[i] = 0;
      return true;
    }
    if (r->remaining_bits() < static_cast<int64_t>(n) * width) return false;
    if (!r->ReadFixedBlock(width, n, u)) return false;
  }
  if (zigzag) {
    for (uint32_t i = 0; i < n; ++i) out[i] = UnZigZag(u[i]);
  }
  return r->ok();
}

void EncodeIntSeries(std::span<const int64_t> x, BitWriter* w) {
  WriteIntSeries(x, PlanIntSeries(x), w);
}

bool DecodeIntSeries(BitReader* r, uint32_t n, int64_t* x) {
  if (n == 0) return true;
  const auto t = static_cast<Transform>(r->Read(2));
  switch (t) {
    case Transform::kOffset: {
      const int64_t base = r->ReadSigned();
      if (!DecodePacked(r, n, x)) return false;
      for (uint32_t i = 0; i < n; ++i) x[i] = Add64(x[i], base);
      break;
    }
    case Transform::kDelta:
    case Transform::kDeltaMinusMean: {
      x[0] = r->ReadSigned();
      const int64_t mean = t == Transform::kDeltaMinusMean ? r->ReadSigned() : 0;
      if (n > 1 && !DecodePacked(r, n - 1, x + 1)) return false;
      for (uint32_t i = 1; i < n; ++i) x[i] = Add64(Add64(x[i - 1], x[i]), mean);
      break;
    }
    case Transform::kDeltaOfDelta: {
      x[0] = r->ReadSigned();
      int64_t delta = r->ReadSigned();
      if (n > 1) x[1] = Add64(x[0], delta);
      if (n > 2 && !DecodePacked(r, n - 2, x + 2)) return false;
      for (uint32_t i = 2; i < n; ++i) {
        delta = Add64(delta, x[i]);
        x[i] = Add64(x[i - 1], delta);
      }
      break;
    }
  }
  return r->ok();
}

void EncodeFloatValues(std::span<const double> values, BitWriter* w) {
  const int e = FindDecimalExponent(values);
  std::vector<int64_t> x;
  if (e >= 0 && ScaleExact(values, e, &x)) {
    w->Write(1, 2);
    w->Write(static_cast<uint64_t>(e), 4);
    EncodeIntSeries(x, w);
    return;
  }
  // Measure both non-decimal forms on scratch writers; write the smaller.
  std::string xor_bits;
  std::string split_bits;
  {
    BitWriter xw(&xor_bits);
    EncodeXorValues(values, &xw);
  }
  {
    BitWriter sw(&split_bits);
    EncodeSplitValues(values, &sw);
  }
  if (split_bits.size() < xor_bits.size()) {
    w->Write(2, 2);
    EncodeSplitValues(values, w);
  } else {
    w->Write(0, 2);
    EncodeXorValues(values, w);
  }
}

bool DecodeFloatValues(BitReader* r, uint32_t n, double* out) {
  switch (r->Read(2)) {
    case 0:
      return DecodeXorValues(r, n, out);
    case 1:
      return DecodeDecimalValues(r, n, out);
    case 2:
      return DecodeSplitValues(r, n, out);
    default:
      return false;
  }
}

void EncodeSplitValues(std::span<const double> values, BitWriter* w) {
  constexpr uint64_t kMantissa = (uint64_t{1} << 52) - 1;
  int tz = 52;
  std::vector<int64_t> top(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const uint64_t b = DoubleBits(values[i]);
    top[i] = static_cast<int64_t>(b >> 52);
    const uint64_t m = b & kMantissa;
    if (m != 0) tz = std::min(tz, __builtin_ctzll(m));
  }
  w->Write(static_cast<uint64_t>(tz), 6);
  EncodeIntSeries(top, w);
  const int width = 52 - tz;
  for (double v : values) w->Write((DoubleBits(v) & kMantissa) >> tz, width);
}

bool DecodeSplitValues(BitReader* r, uint32_t n, double* out) {
  const int tz = static_cast<int>(r->Read(6));
  if (!r->ok() || tz > 52) return false;
  thread_local std::vector<int64_t> top;
  top.resize(n);
  if (!DecodeIntSeries(r, n, top.data())) return false;
  const int width = 52 - tz;
  if (r->remaining_bits() < static_cast<int64_t>(n) * width) return false;
  for (uint32_t i = 0; i < n; ++i) {
    if (top[i] < 0 || top[i] > 0xfff) return false;
    const uint64_t m = r->Read(width) << tz;
    out[i] = BitsDouble((static_cast<uint64_t>(top[i]) << 52) | m);
  }
  return r->ok();
}

void EncodeXorValues(std::span<const double> values, BitWriter* w) {
  uint64_t prev = DoubleBits(values[0]);
  w->Write(prev, 64);
  int prev_lead = -1;
  int prev_trail = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    const uint64_t cur = DoubleBits(values[i]);
    const uint64_t x = cur ^ prev;
    prev = cur;
    if (x == 0) {
      w->WriteBit(false);
      continue;
    }
    w->WriteBit(true);
    int lead = __builtin_clzll(x);
    const int trail = __builtin_ctzll(x);
    if (lead > 31) lead = 31;
    if (prev_lead >= 0 && lead >= prev_lead && trail >= prev_trail) {
      w->WriteBit(false);
      w->Write(x >> prev_trail, 64 - prev_lead - prev_trail);
      continue;
    }
    w->WriteBit(true);
    const int sig = 64 - lead - trail;
    w->Write(static_cast<uint64_t>(lead), 5);
    w->Write(static_cast<uint64_t>(sig == 64 ? 0 : sig), 6);
    w->Write(x >> trail, sig);
    prev_lead = lead;
    prev_trail = trail;
  }
}

bool DecodeXorValues(BitReader* r, uint32_t n, double* out) {
  if (n == 0) return true;
  uint64_t prev = r->Read(64);
  out[0] = BitsDouble(prev);
  int lead = -1;
  int trail = 0;
  for (uint32_t i = 1; i < n; ++i) {
    if (!r->ReadBit()) {
      out[i] = BitsDouble(prev);
      continue;
    }
    if (r->ReadBit()) {
      lead = static_cast<int>(r->Read(5));
      int sig = static_cast<int>(r->Read(6));
      if (sig == 0) sig = 64;
      trail = 64 - lead - sig;
      if (trail < 0) return false;
    } else if (lead < 0) {
      return false;  // Window reuse before any window was set.
    }
    const int sig = 64 - lead - trail;
    const uint64_t bits = r->Read(sig);
    prev ^= (trail == 64) ? 0 : (bits << trail);
    out[i] = BitsDouble(prev);
  }
  return r->ok();
}

}  // namespace internal

std::string EncodeFloatChunk(std::span<const int64_t> ts, std::span<const double> values) {
  CANDOR_CHECK(!ts.empty() && ts.size() == values.size() && ts.size() <= kMaxChunkSamples);
  std::string out;
  const int e = FindDecimalExponent(values);
  std::vector<int64_t> x;
  if (e >= 0 && ScaleExact(values, e, &x)) {
    const IntSeriesPlan plan = PlanIntSeries(x);
    EncodeDecimal(ts, e, plan, x, &out);
    // Decimal wins unless values are nearly constant bit patterns; XOR costs at least 1 bit
    // per sample, so only try it when decimal is above that.
    if (plan.bits <= static_cast<int64_t>(values.size())) return out;
    std::string other;
    EncodeNonDecimal(ts, values, &other);
    return other.size() < out.size() ? other : out;
  }
  EncodeNonDecimal(ts, values, &out);
  return out;
}

absl::StatusOr<std::string> EncodeFloatChunkAs(ChunkEncoding encoding, std::span<const int64_t> ts,
                                               std::span<const double> values) {
  CANDOR_CHECK(!ts.empty() && ts.size() == values.size() && ts.size() <= kMaxChunkSamples);
  std::string out;
  if (encoding == ChunkEncoding::kXor) {
    EncodeXor(ts, values, &out);
    return out;
  }
  if (encoding == ChunkEncoding::kSplit) {
    EncodeSplit(ts, values, &out);
    return out;
  }
  if (encoding != ChunkEncoding::kDecimal) {
    return absl::InvalidArgumentError("only xor, split and decimal float encodings exist");
  }
  const int e = FindDecimalExponent(values);
  std::vector<int64_t> x;
  if (e < 0 || !ScaleExact(values, e, &x)) {
    return absl::InvalidArgumentError("values are not exact decimals with ≤ 12 digits");
  }
  EncodeDecimal(ts, e, PlanIntSeries(x), x, &out);
  return out;
}

absl::StatusOr<ChunkHeader> PeekChunk(std::string_view chunk) {
  if (chunk.empty()) return Corrupt("empty");
  const auto enc = static_cast<uint8_t>(chunk[0]);
  if (enc < 1 || enc > 4) return Corrupt(absl::StrCat("unknown encoding ", enc));
  chunk.remove_prefix(1);
  uint64_t n = 0;
  if (!GetVarint(&chunk, &n) || n == 0 || n > kMaxChunkSamples) {
    return Corrupt("bad sample count");
  }
  return ChunkHeader{static_cast<ChunkEncoding>(enc), static_cast<uint32_t>(n)};
}

absl::Status DecodeFloatChunk(std::string_view chunk, std::vector<Sample>* out, int64_t mint,
                              int64_t maxt) {
  CANDOR_ASSIGN_OR_RETURN(const ChunkHeader header, PeekChunk(chunk));
  if (header.encoding == ChunkEncoding::kHistogram) return Corrupt("histogram chunk in float read");
  chunk.remove_prefix(1);
  uint64_t n = 0;
  GetVarint(&chunk, &n);
  BitReader r(chunk);
  thread_local std::vector<int64_t> ts;
  thread_local std::vector<double> vals;
  if (!internal::DecodeTimestamps(&r, header.count, &ts)) return Corrupt("timestamps");
  vals.resize(header.count);
  bool ok = false;
  switch (header.encoding) {
    case ChunkEncoding::kXor:
      ok = internal::DecodeXorValues(&r, header.count, vals.data());
      break;
    case ChunkEncoding::kDecimal:
      ok = DecodeDecimalValues(&r, header.count, vals.data());
      break;
    case ChunkEncoding::kSplit:
      ok = internal::DecodeSplitValues(&r, header.count, vals.data());
      break;
    case ChunkEncoding::kHistogram:
      break;
  }
  if (!ok) return Corrupt("values");
  const auto lo = static_cast<size_t>(std::lower_bound(ts.begin(), ts.end(), mint) - ts.begin());
  const auto hi = static_cast<size_t>(std::upper_bound(ts.begin(), ts.end(), maxt) - ts.begin());
  if (hi <= lo) return absl::OkStatus();
  // Geometric growth: callers append chunk after chunk into one vector.
  if (out->capacity() < out->size() + (hi - lo)) {
    out->reserve(std::max(out->capacity() * 2, out->size() + (hi - lo)));
  }
  for (size_t i = lo; i < hi; ++i) out->push_back({ts[i], vals[i]});
  return absl::OkStatus();
}

}  // namespace candor::store
