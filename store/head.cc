#include "store/head.h"

#include <algorithm>

#include "store/bits.h"
#include "store/chunk.h"
#include "store/histogram_chunk.h"

namespace candor::store {

void HeadSeries::Cut(std::vector<SealedChunk>* sealed) {
  if (ts.empty()) return;
  SealedChunk c;
  c.ref = ref;
  c.mint = ts.front();
  c.maxt = ts.back();
  c.histogram = open_histogram;
  c.data = open_histogram ? EncodeHistogramChunk(ts, histograms) : EncodeFloatChunk(ts, values);
  meta.sealed_maxt = std::max(meta.sealed_maxt, c.maxt);
  meta_dirty = true;
  sealed->push_back(std::move(c));
  ts.clear();
  values.clear();
  histograms.clear();
  first_segment = kNoSegment;
}

AppendOutcome HeadSeries::AppendFloat(int64_t t, double v, size_t max_samples,
                                      std::vector<SealedChunk>* sealed) {
  if (t <= meta.sealed_maxt) return AppendOutcome::kSealedRange;
  const int64_t block = BlockStart(t);
  if (!ts.empty()) {
    if (block < block_start) return AppendOutcome::kSealedRange;
    if (block > block_start) {
      Cut(sealed);
    } else if (open_histogram) {
      // Switching kinds inside a block seals the open chunk; only a sample newer than it can
      // start the next one (older ones take the out-of-order path).
      if (t <= ts.back()) return AppendOutcome::kSealedRange;
      Cut(sealed);
    }
  }
  if (ts.empty()) {
    block_start = block;
    open_histogram = false;
    ts.reserve(std::min<size_t>(max_samples, 32));
    values.reserve(std::min<size_t>(max_samples, 32));
  }
  if (ts.empty() || t > ts.back()) {
    ts.push_back(t);
    values.push_back(v);
  } else {
    const auto it = std::lower_bound(ts.begin(), ts.end(), t);
    const auto pos = it - ts.begin();
    if (*it == t) {
      return DoubleBits(values[static_cast<size_t>(pos)]) == DoubleBits(v)
                 ? AppendOutcome::kDuplicate
                 : AppendOutcome::kConflict;
    }
    ts.insert(it, t);
    values.insert(values.begin() + pos, v);
  }
  meta.mint = std::min(meta.mint, t);
  meta.maxt = std::max(meta.maxt, t);
  if (ts.size() >= max_samples) Cut(sealed);
  return AppendOutcome::kAppended;
}

AppendOutcome HeadSeries::AppendHistogram(int64_t t, const Histogram& h, size_t max_samples,
                                          std::vector<SealedChunk>* sealed) {
  if (t <= meta.sealed_maxt) return AppendOutcome::kSealedRange;
  const int64_t block = BlockStart(t);
  if (!ts.empty()) {
    if (block < block_start) return AppendOutcome::kSealedRange;
    const bool layout_change =
        open_histogram && (histograms.front().schema() != h.schema() ||
                           histograms.front().zero_threshold() != h.zero_threshold());
    if (block > block_start) {
      Cut(sealed);
    } else if (!open_histogram || layout_change) {
      if (t <= ts.back()) return AppendOutcome::kSealedRange;
      Cut(sealed);
    }
  }
  if (ts.empty()) {
    block_start = block;
    open_histogram = true;
  }
  if (ts.empty() || t > ts.back()) {
    ts.push_back(t);
    histograms.push_back(h);
  } else {
    const auto it = std::lower_bound(ts.begin(), ts.end(), t);
    const auto pos = it - ts.begin();
    if (*it == t) {
      return histograms[static_cast<size_t>(pos)] == h ? AppendOutcome::kDuplicate
                                                       : AppendOutcome::kConflict;
    }
    ts.insert(it, t);
    histograms.insert(histograms.begin() + pos, h);
  }
  meta.mint = std::min(meta.mint, t);
  meta.maxt = std::max(meta.maxt, t);
  if (ts.size() >= max_samples) Cut(sealed);
  return AppendOutcome::kAppended;
}

void HeadSeries::CopyOpen(int64_t mint, int64_t maxt, std::vector<Sample>* floats,
                          std::vector<HistogramSample>* out_histograms) const {
  auto lo = std::lower_bound(ts.begin(), ts.end(), mint);
  for (auto it = lo; it != ts.end() && *it <= maxt; ++it) {
    const auto i = static_cast<size_t>(it - ts.begin());
    if (open_histogram) {
      out_histograms->push_back({*it, histograms[i]});
    } else {
      floats->push_back({*it, values[i]});
    }
  }
}

int64_t HeadSeries::ApproximateBytes() const {
  int64_t bytes = static_cast<int64_t>(sizeof(HeadSeries));
  for (const Label& l : labels.labels()) {
    bytes += static_cast<int64_t>(sizeof(Label) + (l.name.size() > 15 ? l.name.size() : 0) +
                                  (l.value.size() > 15 ? l.value.size() : 0));
  }
  bytes += static_cast<int64_t>(ts.capacity() * 8 + values.capacity() * 8);
  for (const Histogram& h : histograms) {
    bytes += static_cast<int64_t>(sizeof(Histogram) +
                                  (h.positive().capacity() + h.negative().capacity()) * 16);
  }
  return bytes;
}

}  // namespace candor::store
