#include "store/histogram_chunk.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "store/bits.h"
#include "store/chunk.h"

namespace candor::store {
namespace {

constexpr double kMaxExactCount = 9007199254740992.0;  // 2^53
// Bucket indices stay far inside int32; a hostile chunk cannot make the decoder allocate
// more columns than this.
constexpr int64_t kMaxColumns = 1 << 16;

bool IsCount(double c) { return c >= 0 && c < kMaxExactCount && c == std::floor(c); }

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt histogram chunk: ", Sv(what)));
}

// The union of bucket indices of one side over the chunk, sorted.
std::vector<int32_t> IndexUnion(std::span<const Histogram> hs, bool positive) {
  std::vector<int32_t> idx;
  for (const Histogram& h : hs) {
    for (const Bucket& b : positive ? h.positive() : h.negative()) idx.push_back(b.index);
  }
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  return idx;
}

void EncodeSide(std::span<const Histogram> hs, bool positive, BitWriter* w) {
  const std::vector<int32_t> idx = IndexUnion(hs, positive);
  w->WriteSigned(static_cast<int64_t>(idx.size()));
  if (idx.empty()) return;
  w->WriteSigned(idx[0]);
  std::vector<int64_t> gaps(idx.size() - 1);
  for (size_t i = 1; i < idx.size(); ++i) gaps[i - 1] = idx[i] - idx[i - 1];
  if (!gaps.empty()) internal::EncodePacked(gaps, w);
  // One column per index; a cursor per histogram walks its sparse buckets in step.
  std::vector<size_t> cursor(hs.size(), 0);
  std::vector<int64_t> column(hs.size());
  for (int32_t index : idx) {
    for (size_t s = 0; s < hs.size(); ++s) {
      const std::vector<Bucket>& b = positive ? hs[s].positive() : hs[s].negative();
      size_t& c = cursor[s];
      if (c < b.size() && b[c].index == index) {
        column[s] = static_cast<int64_t>(b[c].count);
        ++c;
      } else {
        column[s] = 0;
      }
    }
    internal::EncodeIntSeries(column, w);
  }
}

bool DecodeSide(BitReader* r, uint32_t n, bool positive, std::vector<Histogram>* hs) {
  const int64_t k = r->ReadSigned();
  if (!r->ok() || k < 0 || k > kMaxColumns) return false;
  if (k == 0) return true;
  std::vector<int64_t> idx(static_cast<size_t>(k));
  idx[0] = r->ReadSigned();
  if (k > 1 && !internal::DecodePacked(r, static_cast<uint32_t>(k - 1), idx.data() + 1)) {
    return false;
  }
  for (size_t i = 1; i < idx.size(); ++i) {
    if (idx[i] <= 0) return false;
    idx[i] += idx[i - 1];
  }
  if (idx.front() < INT32_MIN || idx.back() > INT32_MAX) return false;
  std::vector<int64_t> column(n);
  for (int64_t index : idx) {
    if (!internal::DecodeIntSeries(r, n, column.data())) return false;
    for (uint32_t s = 0; s < n; ++s) {
      if (column[s] < 0) return false;
      if (column[s] == 0) continue;
      Histogram& h = (*hs)[s];
      (positive ? h.mutable_positive() : h.mutable_negative())
          ->push_back({static_cast<int32_t>(index), static_cast<double>(column[s])});
    }
  }
  return true;
}

}  // namespace

bool IsStorableHistogram(const Histogram& h) {
  if (!h.Validate().ok() || !IsCount(h.count()) || !IsCount(h.zero_count())) return false;
  for (const Bucket& b : h.positive()) {
    if (!IsCount(b.count)) return false;
  }
  for (const Bucket& b : h.negative()) {
    if (!IsCount(b.count)) return false;
  }
  return true;
}

std::string EncodeHistogramChunk(std::span<const int64_t> ts, std::span<const Histogram> hs) {
  CANDOR_CHECK(!ts.empty() && ts.size() == hs.size() && ts.size() <= kMaxChunkSamples);
  std::string out;
  out.push_back(static_cast<char>(ChunkEncoding::kHistogram));
  PutVarint(&out, ts.size());
  BitWriter w(&out);
  internal::EncodeTimestamps(ts, &w);
  w.Write(static_cast<uint64_t>(hs[0].schema() - kMinSchema), 4);
  w.Write(DoubleBits(hs[0].zero_threshold()), 64);
  std::vector<int64_t> column(hs.size());
  std::vector<double> sums(hs.size());
  for (size_t i = 0; i < hs.size(); ++i) {
    CANDOR_CHECK(hs[i].schema() == hs[0].schema() &&
                 hs[i].zero_threshold() == hs[0].zero_threshold());
    column[i] = static_cast<int64_t>(hs[i].count());
    sums[i] = hs[i].sum();
  }
  internal::EncodeIntSeries(column, &w);
  for (size_t i = 0; i < hs.size(); ++i) column[i] = static_cast<int64_t>(hs[i].zero_count());
  internal::EncodeIntSeries(column, &w);
  internal::EncodeFloatValues(sums, &w);
  EncodeSide(hs, true, &w);
  EncodeSide(hs, false, &w);
  return out;
}

absl::Status DecodeHistogramChunk(std::string_view chunk, std::vector<HistogramSample>* out,
                                  int64_t mint, int64_t maxt) {
  CANDOR_ASSIGN_OR_RETURN(const ChunkHeader header, PeekChunk(chunk));
  if (header.encoding != ChunkEncoding::kHistogram) return Corrupt("float chunk in histogram read");
  chunk.remove_prefix(1);
  uint64_t n64 = 0;
  GetVarint(&chunk, &n64);
  const uint32_t n = header.count;
  BitReader r(chunk);
  std::vector<int64_t> ts;
  if (!internal::DecodeTimestamps(&r, n, &ts)) return Corrupt("timestamps");
  const int32_t schema = static_cast<int32_t>(r.Read(4)) + kMinSchema;
  const double zt = BitsDouble(r.Read(64));
  if (!r.ok() || schema > kMaxSchema || !std::isfinite(zt) || zt < 0) return Corrupt("header");
  std::vector<Histogram> hs(n, Histogram(schema, zt));
  std::vector<int64_t> column(n);
  if (!internal::DecodeIntSeries(&r, n, column.data())) return Corrupt("count");
  for (uint32_t i = 0; i < n; ++i) hs[i].set_count(static_cast<double>(column[i]));
  if (!internal::DecodeIntSeries(&r, n, column.data())) return Corrupt("zero count");
  for (uint32_t i = 0; i < n; ++i) hs[i].set_zero_count(static_cast<double>(column[i]));
  std::vector<double> sums(n);
  if (!internal::DecodeFloatValues(&r, n, sums.data())) return Corrupt("sum");
  for (uint32_t i = 0; i < n; ++i) hs[i].set_sum(sums[i]);
  if (!DecodeSide(&r, n, true, &hs) || !DecodeSide(&r, n, false, &hs)) return Corrupt("buckets");
  for (uint32_t i = 0; i < n; ++i) {
    if (ts[i] < mint) continue;
    if (ts[i] > maxt) break;
    out->push_back({ts[i], std::move(hs[i])});
  }
  return absl::OkStatus();
}

}  // namespace candor::store
