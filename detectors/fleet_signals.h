// Window summaries: what the fleet state machine knows about one entity over one event-time
// window. The collector's signal aggregator produces them (collector/signals.h); the fleet
// analyzer feeds them to detectors and the classifier. Plain values with no behaviour beyond
// accessors, so the state machine stays a pure function of its inputs.
//
// Thread safety: plain values.

#ifndef CANDOR_DETECTORS_FLEET_SIGNALS_H_
#define CANDOR_DETECTORS_FLEET_SIGNALS_H_

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/entity.h"

namespace candor::detectors {

// Scalar signals of one entity in one window. Counts are always numbers (0 when nothing
// happened); distribution, sample and GPU signals are NaN when the window had no such data.
// For a `dependency:` entity the request signals describe the calls made to it.
enum class Signal : uint8_t {
  // Requests (InferenceEvents naming the entity), by outcome.
  kRequests,
  kOk,
  kErrors,       // status ERROR
  kTimeouts,     // status TIMEOUT
  kOwnTimeouts,  // TIMEOUTs where dependency calls took under half of the latency
  kRejected,
  kCancelled,
  kHttp429,
  kHttp5xx,
  kCircuitOpen,        // events whose circuit_state is OPEN
  kFallback,           // fallback_tier 1–4 (tier 5, feature disabled, is counted apart)
  kFeatureDisabled,    // fallback_tier 5
  kValidationChecked,  // PASSED or FAILED
  kValidationFailed,
  kTruncated,  // truncated_input_tokens > 0
  kSynthetic,
  kSyntheticFailed,  // synthetic events not OK
  kPreemptions,      // sum of per-request preemptions
  // Distributions over the window's events (milliseconds unless stated).
  kLatencyP50,
  kLatencyP95,
  kLatencyP99,
  kServiceP95,  // latency minus dependency time
  kTtftP50,
  kTtftP95,
  kServiceTtftP95,  // time to first token minus dependency time
  kQueueP95,
  kDecodeTpsP50,  // output_tokens / decode seconds, tokens/s
  kInputTokensP50,
  kInputTokensMean,
  kOutputTokensP50,
  kOutputTokensMean,
  kQualityMean,
  kKvAtAdmissionMean,
  // ReplicaSamples naming the entity (rates are per second over the window).
  kReplicaSamples,
  kQueueDepthMean,
  kQueueDepthMax,
  kRunningMean,
  kKvUsageMean,
  kKvUsageMax,
  kPreemptionRate,
  kFinishedRate,
  kGenTokensRate,
  kGpuUtilMean,
  kWarmingFraction,
  kNotReadyFraction,
  // GpuSamples naming the entity.
  kGpuSamples,
  kSmClockRatio,  // sm_clock / max_sm_clock, mean
  kTemperatureMean,
  kThrottleFraction,  // samples with a thermal, power-brake or hardware-slowdown reason
  kPowerMean,
  kXidEvents,
  kEccErrors,
  // KernelSummaries naming the entity.
  kKernelBusyFraction,
  // Items of any type naming the entity.
  kItems,
  kCount,
};

inline constexpr int kNumSignals = static_cast<int>(Signal::kCount);

// Stable snake_case name used in evidence: "requests", "latency_p95_ms", "decode_tps_p50", …
std::string_view SignalName(Signal s);

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// Decode speed of the entity's events for one model version (peer cohorts).
struct CohortValue {
  std::string model;  // "llama-3-70b@v184"
  int64_t count = 0;
  double decode_tps_p50 = kNoValue;
};

struct AnnotationRecord {
  absl::Time time;
  std::string kind;  // AnnotationKind name, e.g. "CANARY_PAUSED"
  std::string message;
};

struct WindowSummary {
  EntityId entity;
  absl::Time start;
  absl::Time end;
  std::array<double, kNumSignals> values;

  WindowSummary() { values.fill(kNoValue); }

  double Get(Signal s) const { return values[static_cast<size_t>(s)]; }
  bool Has(Signal s) const { return !std::isnan(values[static_cast<size_t>(s)]); }
  void Set(Signal s, double v) { values[static_cast<size_t>(s)] = v; }
  // Count / Get(kRequests), or NaN when there were fewer than `min_requests` requests.
  double Rate(Signal count, double min_requests = 1.0) const {
    const double n = Get(Signal::kRequests);
    if (!(n >= min_requests)) return kNoValue;
    return Get(count) / n;
  }

  // Per-model-version decode speed (provider, region, zone and node entities).
  std::vector<CohortValue> cohorts;
  // Evenly spaced subsamples (at most the aggregator's limit) of the window's values.
  std::vector<double> latency_samples;
  std::vector<double> input_token_samples;
  std::vector<double> output_token_samples;
  // Requests per tenant (route and model entities), sorted by tenant.
  std::vector<std::pair<std::string, int64_t>> tenants;
  // Dependencies called by, and model versions named in, the entity's events (route
  // entities), sorted.
  std::vector<std::string> dependencies;
  std::vector<std::string> models;
  // For model entities: the base model name and the latest release track seen; for replica
  // entities: the model version they serve ("llama-3-70b@v184").
  std::string model_name;
  std::string release_track;
  std::string replica_model;
  // Where the entity sits, as the items naming it said: a node's provider; a replica's
  // provider, node and GPU. Empty when unknown.
  std::string provider;
  std::string node;
  std::string gpu;
  std::vector<AnnotationRecord> annotations;
  // Whether any item named the entity in this window.
  bool has_data = false;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_FLEET_SIGNALS_H_
