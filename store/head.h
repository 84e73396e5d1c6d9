// The in-memory head of one series: its open chunk (raw samples, sealed into an encoded chunk
// when full or when a sample crosses a 2-hour block boundary), and the bookkeeping that WAL
// replay and truncation rely on.
//
// Invariants: every sealed chunk lies inside one 2-hour block aligned to the Unix epoch; the
// open chunk holds samples newer than `sealed_maxt` of the newest block; samples that fall
// into sealed territory are handed back to the caller (the out-of-order path).
//
// Thread safety: none; SeriesStore serialises access under its mutex.

#ifndef CANDOR_STORE_HEAD_H_
#define CANDOR_STORE_HEAD_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/labels.h"
#include "store/histogram.h"
#include "store/records.h"
#include "store/series_store.h"

namespace candor::store {

inline constexpr int64_t kBlockMs = 2 * 3600 * 1000;
inline int64_t BlockStart(int64_t t) {
  return t >= 0 ? t - t % kBlockMs : t - ((t % kBlockMs) + kBlockMs) % kBlockMs;
}

inline constexpr uint32_t kNoSegment = std::numeric_limits<uint32_t>::max();

// A chunk cut from a head, ready to be written to RocksDB.
struct SealedChunk {
  SeriesRef ref = 0;
  int64_t mint = 0;
  int64_t maxt = 0;
  bool histogram = false;
  std::string data;
};

enum class AppendOutcome {
  kAppended,     // Added to the open chunk.
  kDuplicate,    // Same timestamp and identical value already in the open chunk: a no-op.
  kConflict,     // Same timestamp, different value.
  kSealedRange,  // Belongs to a sealed chunk's range: the out-of-order path must merge it.
};

struct HeadSeries {
  HeadSeries(SeriesRef r, LabelSet l) : ref(r), labels(std::move(l)) {}

  // Appends a sample; chunks cut on the way are appended to `sealed`.
  AppendOutcome AppendFloat(int64_t t, double v, size_t max_samples,
                            std::vector<SealedChunk>* sealed);
  AppendOutcome AppendHistogram(int64_t t, const Histogram& h, size_t max_samples,
                                std::vector<SealedChunk>* sealed);
  // Seals the open chunk (no-op when empty).
  void Cut(std::vector<SealedChunk>* sealed);

  bool open_empty() const { return ts.empty(); }
  int64_t open_block_end() const { return block_start + kBlockMs; }
  // Open-chunk samples with mint ≤ t ≤ maxt, appended to the outputs.
  void CopyOpen(int64_t mint, int64_t maxt, std::vector<Sample>* floats,
                std::vector<HistogramSample>* histograms) const;
  int64_t ApproximateBytes() const;

  const SeriesRef ref;
  const LabelSet labels;
  SeriesMeta meta;
  bool meta_dirty = false;
  // The open chunk: timestamps with either float values or histograms.
  bool open_histogram = false;
  int64_t block_start = 0;
  std::vector<int64_t> ts;
  std::vector<double> values;
  std::vector<Histogram> histograms;
  // WAL segment holding the open chunk's first sample (kNoSegment when empty).
  uint32_t first_segment = kNoSegment;
};

}  // namespace candor::store

#endif  // CANDOR_STORE_HEAD_H_
