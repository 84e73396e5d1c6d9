// Deterministic time-series dataset for the store benchmark and the Prometheus comparison
// test: N series × M samples at a fixed interval, in one of three value shapes:
//   raw      latency-like gauges at full float64 precision (lognormal around a per-metric median,
//            a diurnal term and 0.1 % spikes),
//   ms       the same values rounded to 1 ms, as latency exporters report them,
//   counter  monotonic counters with Poisson increments of 10–500 per interval.
// Labels look like inference_ttft_seconds{instance="node-7:8000",job="vllm",model="model-3",
// stat="p50"}: 4 metric names × 250 series (25 instances × 5 models × 2 stats) per 1000.
// Every run of the same spec yields bit-identical samples, so every store gets the same data.
//
// Thread safety: a Generator is used by one thread.

#ifndef CANDOR_BENCH_STORE_TSGEN_H_
#define CANDOR_BENCH_STORE_TSGEN_H_

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace candor::bench {

enum class Profile { kRaw, kMs, kCounter };

// "raw" | "ms" | "counter"; false for anything else.
bool ParseProfile(const std::string& s, Profile* p);
const char* ProfileName(Profile p);

struct DatasetSpec {
  Profile profile = Profile::kMs;
  int series = 1000;
  int samples = 10000;
  int64_t start_ms = 0;
  int64_t interval_ms = 10000;
  uint64_t seed = 42;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// The label set of series `i` (sorted by name, __name__ first).
Labels SeriesLabels(Profile profile, int i);
// The metric names of a profile (4 of them).
std::vector<std::string> MetricNames(Profile profile);

// Produces sample j of every series, for j = 0, 1, 2, … in order.
class Generator {
 public:
  explicit Generator(const DatasetSpec& spec);
  // Values of all series at the next sample index; timestamps are start + j·interval.
  const std::vector<double>& Next();
  int64_t timestamp() const { return ts_; }

 private:
  DatasetSpec spec_;
  int64_t j_ = -1;
  int64_t ts_ = 0;
  std::vector<double> values_;
  std::vector<std::mt19937_64> rng_;
  std::vector<double> lambda_;
};

}  // namespace candor::bench

#endif  // CANDOR_BENCH_STORE_TSGEN_H_
