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

// Reads one side's bucket columns into `index` and the column-major `values` (n per bucket),
// marking in `reset` the samples where any column decreased.
bool DecodeSide(BitReader* r, uint32_t n, std::vector<int32_t>* index, std::vector<int64_t>* values,
                std::vector<uint8_t>* reset) {
  const int64_t k = r->ReadSigned();
  if (!r->ok() || k < 0 || k > kMaxColumns) return false;
  index->clear();
  if (k == 0) {
    values->clear();
    return true;
  }
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
  index->reserve(idx.size());
  for (int64_t i : idx) index->push_back(static_cast<int32_t>(i));
  // Every value is written below; resizing without clearing keeps a reused buffer from being
  // zero-filled first.
  values->resize(idx.size() * n);
  for (size_t c = 0; c < idx.size(); ++c) {
    int64_t* col = values->data() + c * n;
    if (!internal::DecodeIntSeries(r, n, col)) return false;
    // Branch-free (and vectorizable): OR of every value for the sign, decreases into `reset`.
    const int64_t* __restrict v = col;
    uint8_t* __restrict rs = reset->data();
    int64_t any_negative = v[0];
    for (uint32_t s = 1; s < n; ++s) {
      any_negative |= v[s];
      rs[s] |= static_cast<uint8_t>(v[s] < v[s - 1]);
    }
    if (any_negative < 0) return false;
  }
  return true;
}

void AddSide(const std::vector<int32_t>& index, const std::vector<int64_t>& values, size_t n,
             size_t s, std::vector<Bucket>* out) {
  for (size_t c = 0; c < index.size(); ++c) {
    const int64_t v = values[c * n + s];
    if (v != 0) out->push_back({index[c], static_cast<double>(v)});
  }
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

Histogram HistogramColumns::At(size_t s) const {
  const size_t n = ts.size();
  Histogram h(schema, zero_threshold);
  h.set_count(static_cast<double>(count[s]));
  h.set_zero_count(static_cast<double>(zero_count[s]));
  h.set_sum(sum[s]);
  AddSide(pos_index, pos, n, s, h.mutable_positive());
  AddSide(neg_index, neg, n, s, h.mutable_negative());
  return h;
}

absl::Status DecodeHistogramColumns(std::string_view chunk, HistogramColumns* out) {
  CANDOR_ASSIGN_OR_RETURN(const ChunkHeader header, PeekChunk(chunk));
  if (header.encoding != ChunkEncoding::kHistogram) return Corrupt("float chunk in histogram read");
  chunk.remove_prefix(1);
  uint64_t n64 = 0;
  GetVarint(&chunk, &n64);
  const uint32_t n = header.count;
  BitReader r(chunk);
  if (!internal::DecodeTimestamps(&r, n, &out->ts)) return Corrupt("timestamps");
  out->schema = static_cast<int32_t>(r.Read(4)) + kMinSchema;
  out->zero_threshold = BitsDouble(r.Read(64));
  if (!r.ok() || out->schema > kMaxSchema || !std::isfinite(out->zero_threshold) ||
      out->zero_threshold < 0) {
    return Corrupt("header");
  }
  out->count.resize(n);
  out->zero_count.resize(n);
  out->sum.resize(n);
  out->reset.assign(n, 0);
  if (!internal::DecodeIntSeries(&r, n, out->count.data())) return Corrupt("count");
  if (!internal::DecodeIntSeries(&r, n, out->zero_count.data())) return Corrupt("zero count");
  if (!internal::DecodeFloatValues(&r, n, out->sum.data())) return Corrupt("sum");
  for (uint32_t s = 0; s < n; ++s) {
    if (out->count[s] < 0 || out->zero_count[s] < 0) return Corrupt("negative count");
    if (s > 0 &&
        (out->count[s] < out->count[s - 1] || out->zero_count[s] < out->zero_count[s - 1])) {
      out->reset[s] = 1;
    }
  }
  if (!DecodeSide(&r, n, &out->pos_index, &out->pos, &out->reset) ||
      !DecodeSide(&r, n, &out->neg_index, &out->neg, &out->reset)) {
    return Corrupt("buckets");
  }
  return absl::OkStatus();
}

void AppendAsColumns(const std::vector<HistogramSample>& samples,
                     std::vector<HistogramColumns>* out) {
  size_t begin = 0;
  while (begin < samples.size()) {
    const Histogram& first = samples[begin].h;
    size_t end = begin + 1;
    while (end < samples.size() && samples[end].h.schema() == first.schema() &&
           samples[end].h.zero_threshold() == first.zero_threshold()) {
      ++end;
    }
    const size_t n = end - begin;
    HistogramColumns& c = out->emplace_back();
    c.schema = first.schema();
    c.zero_threshold = first.zero_threshold();
    for (const bool positive : {true, false}) {
      std::vector<int32_t>& index = positive ? c.pos_index : c.neg_index;
      for (size_t i = begin; i < end; ++i) {
        for (const Bucket& b : positive ? samples[i].h.positive() : samples[i].h.negative()) {
          index.push_back(b.index);
        }
      }
      std::sort(index.begin(), index.end());
      index.erase(std::unique(index.begin(), index.end()), index.end());
      std::vector<int64_t>& values = positive ? c.pos : c.neg;
      values.assign(index.size() * n, 0);
      for (size_t i = begin; i < end; ++i) {
        for (const Bucket& b : positive ? samples[i].h.positive() : samples[i].h.negative()) {
          const auto col = std::lower_bound(index.begin(), index.end(), b.index) - index.begin();
          values[static_cast<size_t>(col) * n + (i - begin)] = static_cast<int64_t>(b.count);
        }
      }
    }
    c.reset.assign(n, 0);
    for (size_t i = begin; i < end; ++i) {
      c.ts.push_back(samples[i].t);
      c.count.push_back(static_cast<int64_t>(samples[i].h.count()));
      c.zero_count.push_back(static_cast<int64_t>(samples[i].h.zero_count()));
      c.sum.push_back(samples[i].h.sum());
      if (i > begin && samples[i].h.IsResetFrom(samples[i - 1].h)) c.reset[i - begin] = 1;
    }
    begin = end;
  }
}

absl::Status DecodeHistogramChunk(std::string_view chunk, std::vector<HistogramSample>* out,
                                  int64_t mint, int64_t maxt) {
  thread_local HistogramColumns cols;
  CANDOR_RETURN_IF_ERROR(DecodeHistogramColumns(chunk, &cols));
  for (size_t s = 0; s < cols.size(); ++s) {
    if (cols.ts[s] < mint) continue;
    if (cols.ts[s] > maxt) break;
    out->push_back({cols.ts[s], cols.At(s)});
  }
  return absl::OkStatus();
}

}  // namespace candor::store
