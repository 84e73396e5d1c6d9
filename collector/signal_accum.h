// The running sums of one entity in one open window, and their conversion into a
// detectors::WindowSummary when the window closes. Internal to the signal aggregator.
//
// Thread safety: plain values owned by the aggregator.

#ifndef CANDOR_COLLECTOR_SIGNAL_ACCUM_H_
#define CANDOR_COLLECTOR_SIGNAL_ACCUM_H_

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "candor/v1/ingest.pb.h"
#include "collector/signals.h"
#include "detectors/fleet_signals.h"

namespace candor::collector {

// Signals up to and including kPreemptions are plain counts.
inline constexpr size_t kNumCounts = static_cast<size_t>(detectors::Signal::kPreemptions) + 1;

// What one InferenceEvent contributes, derived once for all the entities it feeds.
struct EventFacts {
  bool ok = false;
  double latency = -1.0;  // ms; −1 when absent.
  double deps_ms = 0.0;   // Time in dependency calls.
  double tps = -1.0;      // Decode tokens/s; −1 when not derivable.
};
EventFacts FactsOf(const candor::v1::InferenceEvent& e);

// Counter increases since a replica's previous sample (a decrease is a restart).
struct CounterDeltas {
  int64_t preemptions = 0;
  int64_t finished = 0;
  int64_t generated = 0;
};

struct SignalAggregator::Accum {
  std::array<int64_t, kNumCounts> counts{};
  // Distribution values of the window. Each list is exact up to kMaxValues values, then a
  // uniform reservoir sample of that size (Li's Algorithm L, whose random draws are hashes of
  // how many values came before, so the result depends only on the input order, as replay
  // needs): memory per entity and window is bounded whatever the traffic, and past the bound
  // a value costs a comparison until the next one the sample takes. Counts and sums are exact.
  static constexpr size_t kMaxValues = 2048;
  // Where a full reservoir takes its next value, and Algorithm L's running weight.
  struct Skip {
    uint64_t next = 0;
    double w = 0;
  };
  enum Dist : uint8_t {
    kLatency,
    kService,
    kTtft,
    kServiceTtft,
    kQueue,
    kTps,
    kInput,
    kOutput,
    kQuality,
    kKvAdmission,
    kNumDists
  };
  std::vector<double> latency, service, ttft, service_ttft, queue, tps, input, output, quality,
      kv_admission;
  std::array<uint64_t, kNumDists> seen{};
  std::array<double, kNumDists> sums{};
  std::array<Skip, kNumDists> skips{};
  // ReplicaSamples.
  int64_t rs_n = 0, q_n = 0, run_n = 0, kv_n = 0, util_n = 0, warming_n = 0, not_ready_n = 0;
  double q_sum = 0, q_max = 0, run_sum = 0, kv_sum = 0, kv_max = 0, util_sum = 0;
  int64_t preempt_delta = 0, finished_delta = 0, generated_delta = 0, delta_n = 0;
  // GpuSamples.
  int64_t g_n = 0, clock_n = 0, temp_n = 0, power_n = 0, throttle_n = 0, xid_n = 0;
  double clock_sum = 0, temp_sum = 0, power_sum = 0;
  int64_t ecc_max = -1, ecc_min = -1;
  // KernelSummaries.
  double busy_ms = 0, interval_ms = 0;
  int64_t items = 0;
  // Decode speed per model version (index into `cohort_keys`) for placement entities.
  struct CohortValues {
    int key = 0;
    std::vector<double> values;
    uint64_t seen = 0;
    Skip skip;
  };
  std::vector<CohortValues> cohorts;
  absl::flat_hash_map<std::string, int64_t> tenants;
  std::vector<std::string> dependencies;
  std::vector<std::string> models;
  std::vector<detectors::AnnotationRecord> annotations;
  std::string release_track;
  bool touched = false;

  void Clear();
  void Count(detectors::Signal s, int64_t n = 1) { counts[static_cast<size_t>(s)] += n; }
  // Adds one decode speed to the cohort `key`.
  void AddCohort(int key, double decode_tps);
  // Adds `x` to distribution `d` (held in `v`), within the kMaxValues bound.
  void Keep(Dist d, std::vector<double>& v, double x);
  // The exact mean of distribution `d`, or NaN without values.
  double MeanOf(Dist d) const;

  // One request's outcome, timings, tokens and server state.
  void AddEvent(const candor::v1::InferenceEvent& e, const EventFacts& f);
  // One call to this dependency.
  void AddCall(const candor::v1::DependencyCall& call);
  // One engine sample; `deltas` is null when the replica's counters gave no increase.
  void AddReplicaSample(const candor::v1::ReplicaSample& s, const CounterDeltas* deltas);
  void AddGpuSample(const candor::v1::GpuSample& g);
  // Adds `name` to `list` unless present.
  static void Note(std::vector<std::string>& list, const std::string& name);
};

// Fills `out` from `a` for a window of `window_seconds`; `cohort_keys` names cohort indices.
void SummarizeAccum(SignalAggregator::Accum& a, double window_seconds, size_t max_samples,
                    const std::vector<std::string>& cohort_keys, detectors::WindowSummary& out);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_SIGNAL_ACCUM_H_
