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

namespace {

// Merges the sorted bucket indices of `buckets` into the sorted `index` (a no-op, and no
// allocation, when they are already there: cumulative histograms rarely gain buckets).
void MergeIndices(const std::vector<Bucket>& buckets, std::vector<int32_t>* index,
                  std::vector<int32_t>* scratch) {
  size_t i = 0;
  for (const Bucket& b : buckets) {
    while (i < index->size() && (*index)[i] < b.index) ++i;
    if (i == index->size() || (*index)[i] != b.index) {
      scratch->clear();
      size_t k = 0;
      for (const Bucket& x : buckets) {
        while (k < index->size() && (*index)[k] < x.index) scratch->push_back((*index)[k++]);
        if (k < index->size() && (*index)[k] == x.index) ++k;
        scratch->push_back(x.index);
      }
      scratch->insert(scratch->end(), index->begin() + static_cast<ptrdiff_t>(k), index->end());
      index->swap(*scratch);
      return;
    }
  }
}

// Fills one side's column-major values for the n histograms `hist(0..n-1)`; every value is
// written, so a reused buffer needs no zero fill.
template <typename HistAt>
void FillSide(size_t n, const HistAt& hist, bool positive, const std::vector<int32_t>& index,
              std::vector<int64_t>* values) {
  values->resize(index.size() * n);
  int64_t* out = values->data();
  for (size_t i = 0; i < n; ++i) {
    const std::vector<Bucket>& b = positive ? hist(i).positive() : hist(i).negative();
    size_t k = 0;
    for (size_t c = 0; c < index.size(); ++c) {
      int64_t v = 0;
      if (k < b.size() && b[k].index == index[c]) v = static_cast<int64_t>(b[k++].count);
      out[c * n + i] = v;
    }
  }
}

// AppendAsColumns over `size` samples given by accessors (no copies of the histograms).
template <typename TimeAt, typename HistAt>
void AppendColumns(size_t size, const TimeAt& time, const HistAt& hist,
                   std::vector<HistogramColumns>* out, std::vector<HistogramColumns>* spare) {
  std::vector<int32_t> scratch;
  size_t begin = 0;
  while (begin < size) {
    const Histogram& first = hist(begin);
    size_t end = begin + 1;
    while (end < size && hist(end).schema() == first.schema() &&
           hist(end).zero_threshold() == first.zero_threshold()) {
      ++end;
    }
    const size_t n = end - begin;
    auto run = [&](size_t i) -> const Histogram& { return hist(begin + i); };
    HistogramColumns& c = out->emplace_back();
    if (spare != nullptr && !spare->empty()) {
      c = std::move(spare->back());
      spare->pop_back();
    }
    c.schema = first.schema();
    c.zero_threshold = first.zero_threshold();
    c.pos_index.clear();
    c.neg_index.clear();
    for (size_t i = 0; i < n; ++i) {
      MergeIndices(run(i).positive(), &c.pos_index, &scratch);
      MergeIndices(run(i).negative(), &c.neg_index, &scratch);
    }
    FillSide(n, run, true, c.pos_index, &c.pos);
    FillSide(n, run, false, c.neg_index, &c.neg);
    c.ts.resize(n);
    c.count.resize(n);
    c.zero_count.resize(n);
    c.sum.resize(n);
    c.reset.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      c.ts[i] = time(begin + i);
      c.count[i] = static_cast<int64_t>(run(i).count());
      c.zero_count[i] = static_cast<int64_t>(run(i).zero_count());
      c.sum[i] = run(i).sum();
      if (i > 0 && (c.count[i] < c.count[i - 1] || c.zero_count[i] < c.zero_count[i - 1])) {
        c.reset[i] = 1;
      }
    }
    // Within a run schema and threshold are equal, so a reset is any column decreasing (a
    // bucket that disappeared decreased to 0): Histogram::IsResetFrom's rule.
    for (const std::vector<int64_t>* side : {&c.pos, &c.neg}) {
      const int64_t* v = side->data();
      for (size_t col = 0; col * n < side->size(); ++col, v += n) {
        for (size_t i = 1; i < n; ++i) c.reset[i] |= static_cast<uint8_t>(v[i] < v[i - 1]);
      }
    }
    begin = end;
  }
}

}  // namespace

void AppendAsColumns(std::span<const int64_t> ts, std::span<const Histogram> hs,
                     std::vector<HistogramColumns>* out, std::vector<HistogramColumns>* spare) {
  CANDOR_CHECK(ts.size() == hs.size());
  AppendColumns(
      ts.size(), [&](size_t i) { return ts[i]; },
      [&](size_t i) -> const Histogram& { return hs[i]; }, out, spare);
}

void AppendAsColumns(const std::vector<HistogramSample>& samples,
                     std::vector<HistogramColumns>* out, std::vector<HistogramColumns>* spare) {
  AppendColumns(
      samples.size(), [&](size_t i) { return samples[i].t; },
      [&](size_t i) -> const Histogram& { return samples[i].h; }, out, spare);
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
