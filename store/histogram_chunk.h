// The histogram chunk codec (store/FORMAT.md §3.3): cumulative exponential histograms of one
// series, one schema and one zero threshold per chunk, stored column by column — timestamps,
// count, zero count, sum (XOR), then one integer column per bucket index that occurs in the
// chunk. Cumulative bucket counts grow slowly, so each column costs a few bits per sample.
//
// Thread safety: free functions without shared state.

#ifndef CANDOR_STORE_HISTOGRAM_CHUNK_H_
#define CANDOR_STORE_HISTOGRAM_CHUNK_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "store/histogram.h"
#include "store/series_store.h"

namespace candor::store {

// True if `h` can be stored: Validate() passes and every count is an integer below 2^53.
bool IsStorableHistogram(const Histogram& h);

// Encodes histograms with strictly increasing `ts` (1..kMaxChunkSamples), all with the same
// schema and zero threshold, all storable. Violated preconditions abort (the head checks).
std::string EncodeHistogramChunk(std::span<const int64_t> ts, std::span<const Histogram> hs);

// Decodes a histogram chunk into columns. DataLossError if the chunk is corrupt.
absl::Status DecodeHistogramColumns(std::string_view chunk, HistogramColumns* out);

// Appends histograms `hs` at times `ts` (time-sorted, same length) as column blocks, one per
// run of equal schema and zero threshold. New blocks take their buffers from the back of
// `spare` while it has any.
void AppendAsColumns(std::span<const int64_t> ts, std::span<const Histogram> hs,
                     std::vector<HistogramColumns>* out,
                     std::vector<HistogramColumns>* spare = nullptr);
void AppendAsColumns(const std::vector<HistogramSample>& samples,
                     std::vector<HistogramColumns>* out,
                     std::vector<HistogramColumns>* spare = nullptr);

// Appends the samples with mint ≤ t ≤ maxt. DataLossError if the chunk is corrupt.
absl::Status DecodeHistogramChunk(std::string_view chunk, std::vector<HistogramSample>* out,
                                  int64_t mint = INT64_MIN, int64_t maxt = INT64_MAX);

}  // namespace candor::store

#endif  // CANDOR_STORE_HISTOGRAM_CHUNK_H_
