// Rollup blocks (store/FORMAT.md §3.4): per series, per UTC day, per resolution (5 min, 1 h),
// the aggregates of each aligned interval (end - step, end]: count, sum, min, max of float
// samples (stale markers excluded), the last float sample and the last histogram of the
// interval. Counters and cumulative histograms need nothing more: their value at interval
// ends answers rate/increase exactly for aligned windows.
//
// Thread safety: free functions without shared state.

#ifndef CANDOR_STORE_ROLLUP_H_
#define CANDOR_STORE_ROLLUP_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "store/series_store.h"

namespace candor::store {

struct RollupBlock {
  std::vector<Sample> last;                 // Last float sample of each interval.
  std::vector<RollupPoint> points;          // Aggregates; `end` is the interval's end.
  std::vector<HistogramSample> histograms;  // Last histogram of each interval.
};

// True for Prometheus's staleness marker NaN (bit pattern 0x7ff0000000000002).
bool IsStaleMarker(double v);

// Aggregates time-sorted samples into intervals of `step_ms` aligned to the epoch.
RollupBlock BuildRollup(const std::vector<Sample>& floats,
                        const std::vector<HistogramSample>& histograms, int64_t step_ms);

std::string EncodeRollupBlock(const RollupBlock& block);
// Appends the parts of the block within [mint, maxt]: samples by their time, aggregates whose
// interval (end - step_ms, end] overlaps the range. DataLossError if the block is corrupt.
absl::Status DecodeRollupBlock(std::string_view data, int64_t step_ms, int64_t mint, int64_t maxt,
                               RollupBlock* out);

}  // namespace candor::store

#endif  // CANDOR_STORE_ROLLUP_H_
