// Fleet-simulator scenarios: the fleet's shape and traffic, the faults to inject (kind, target,
// onset, shape, magnitude) and the states a correct candor is expected to report.
//
// A scenario is a YAML (or JSON, which YAML reads too) document:
//
//   name: kv-thrash-step
//   seed: 7
//   duration: 20m                 # simulated time, from `start`
//   start: 2026-01-05T00:00:00Z   # optional; default shown
//   fleet: {requests_per_replica: 30, providers: 3, nodes_per_provider: 2}
//   faults:
//     - {kind: kv_thrash, target: "replica:llama-aws-1", onset: 12m, shape: ramp,
//        ramp: 2m, magnitude: 1.0, duration: 10m}
//   annotations:
//     - {at: 14m, entity: "model:llama-3-70b@v185", kind: CANARY_PAUSED, message: "..."}
//   expect:
//     - {entity: "replica:llama-aws-1", state: kv-thrashing, deadline: 120s}
//
// Durations use absl syntax ("90s", "12m", "1h30m"). Expectation deadlines count from the
// earliest fault onset (or the earliest annotation when there is no fault) unless `from` is
// given. Unknown keys are errors, so a typo cannot silently drop a fault.
//
// Thread safety: plain values.

#ifndef CANDOR_SIM_SCENARIO_H_
#define CANDOR_SIM_SCENARIO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/states.h"

namespace candor::sim {

// Every injectable fault. The meaning of `magnitude` is per kind (at full intensity):
enum class FaultKind : uint8_t {
  kKvThrash,            // replica|node: KV near full; magnitude = preemptions/s per replica ÷ 3
                        //   (1.0 → 3/s, KV ≈ 0.99; 0.5 → 1.5/s, KV ≈ 0.95).
  kQueueDeadlock,       // replica: fraction of its requests that hang (1.0 = nothing completes).
  kComputeSaturation,   // replica|model|route: extra load; 1.5 → 2.5× the normal arrival rate.
  kHardwareSlowdown,    // node|provider: fraction of tokens/s lost, with thermal throttling
                        //   (0.4 → 40 % fewer tokens/s, SM clock at 60 %, ~88 °C).
  kCircuitOpen,         // provider: fraction of its requests refused by an open breaker and
                        //   re-served by another provider (fallback tier 2).
  kProviderErrors,      // provider: fraction of its requests failing with 5xx/429/timeouts.
  kFallbackSurge,       // route: fallback activation rate reached (0.35 → 35 %).
  kValidationFailures,  // model|route: validation failure rate of checked outputs (0.2 → 20 %).
  kSilentTruncation,    // model|route: fraction of requests whose prompt is silently truncated.
  kInputDrift,          // route: prompt-length multiplier (2.0 → twice as long) and a new tenant
                        //   taking a share of min(0.5, (magnitude − 1) / 2) of the traffic.
  kDependencySlowdown,  // dependency: seconds of extra latency per call (20 → +20 s).
  kCanaryRegression,    // model (a canary version): relative slowdown (0.5 → 1.5× latency),
                        //   plus magnitude × 5 % more errors and validation failures.
  kModelWarming,        // replica: restart, then warming for `duration` (default 3 m); magnitude
                        //   = fraction of tokens/s lost while warming.
  kReplicaSilent,       // replica: stops reporting anything; the gateway routes around it.
  kPrimaryErrors,       // model|route: engine error rate (0.1 → 10 % of requests fail).
  kLatencyRegression,   // model|route: relative latency increase (1.0 → twice as slow).
  kFeatureDisabled,     // route: fraction answered by the "feature disabled" fallback (tier 5).
};

inline constexpr int kNumFaultKinds = 17;

// "kv_thrash", "queue_deadlock", …, "feature_disabled".
std::string_view FaultKindName(FaultKind kind);
absl::StatusOr<FaultKind> ParseFaultKind(std::string_view text);

enum class OnsetShape : uint8_t {
  kStep,  // Full intensity at onset.
  kRamp,  // Intensity grows linearly from 0 at onset to 1 at onset + ramp.
};

struct FaultSpec {
  FaultKind kind = FaultKind::kKvThrash;
  // The entity the fault hits, "kind:name" (e.g. "replica:llama-aws-1", "provider:aws").
  std::string target;
  // Start of the fault, from the scenario start.
  absl::Duration onset = absl::ZeroDuration();
  OnsetShape shape = OnsetShape::kStep;
  // Ramp length for kRamp. Default: 2 minutes.
  absl::Duration ramp = absl::Minutes(2);
  // Kind-specific strength, see FaultKind. Must be > 0.
  double magnitude = 1.0;
  // How long the fault lasts after onset. Default: until the end of the scenario
  // (kModelWarming: 3 minutes).
  absl::Duration duration = absl::InfiniteDuration();

  // 0 before onset and after onset + duration; otherwise 1 (step) or the ramp fraction.
  double Intensity(absl::Duration since_start) const;
};

struct ScriptedAnnotation {
  absl::Duration at;   // From the scenario start.
  std::string entity;  // "kind:name" or "fleet".
  std::string kind;    // An AnnotationKind name, e.g. "CANARY_PAUSED".
  std::string message;
};

struct Expectation {
  std::string entity;  // e.g. "replica:llama-aws-1".
  FleetState state = FleetState::kHealthy;
  // The transition into `state` must happen no later than this after the reference time.
  absl::Duration deadline = absl::Minutes(3);
  // Reference time, from the scenario start. Default: the earliest fault onset, or the
  // earliest annotation.
  std::optional<absl::Duration> from;
  // For cascading-timeout: the dependency the evidence must name as root ("dependency:x").
  std::string root;
};

struct FleetOptions {
  // Mean requests per second per self-hosted replica over a day. Default: 30 (20–40 diurnal).
  double requests_per_replica = 30.0;
  // Relative diurnal swing of the load: rate × (1 ± amplitude). Range [0, 0.9]. Default: 1/3.
  double diurnal_amplitude = 1.0 / 3.0;
  // Self-hosted providers, from aws, gcp, azure. Range 1–3. Default: 3.
  int providers = 3;
  // GPU nodes per provider (one per zone, alternating between two zones); each node runs one
  // replica of each self-hosted model. Range 1–8. Default: 2.
  int nodes_per_provider = 2;
  // Whether the external API provider (`provider:openai`, route `assist`) exists. Default: true.
  bool external_provider = true;
  // Requests per second on the external provider's route. Default: 20.
  double external_requests = 20.0;
  // Whether one llama replica runs a canary version. Default: true.
  bool canary = true;
  // Replica and GPU sample periods. Default: 5 s each.
  absl::Duration replica_sample_interval = absl::Seconds(5);
  absl::Duration gpu_sample_interval = absl::Seconds(5);
  // Synthetic probe period per route (0 disables probes). Default: 10 s.
  absl::Duration probe_interval = absl::Seconds(10);
  // Each item reaches candor up to this long after it happened (shipping jitter). Default: 1 s.
  absl::Duration ship_delay = absl::Seconds(1);
  // Share of items held back by a slow producer, and for how long (arrival disorder).
  // Defaults: 0 and 2 minutes.
  double late_fraction = 0.0;
  absl::Duration late_delay = absl::Minutes(2);
};

struct Scenario {
  std::string name;
  std::string description;
  uint64_t seed = 1;
  // A Monday at midnight UTC: the diurnal trough.
  absl::Time start = absl::FromUnixSeconds(1767571200);  // 2026-01-05T00:00:00Z
  absl::Duration duration = absl::Hours(1);
  FleetOptions fleet;
  std::vector<FaultSpec> faults;
  std::vector<ScriptedAnnotation> annotations;
  std::vector<Expectation> expect;

  // The default reference time for expectations (see Expectation::from); nullopt if the
  // scenario injects nothing.
  std::optional<absl::Duration> FirstOnset() const;
};

// Parses a scenario document. InvalidArgumentError naming the key path and the problem for
// malformed YAML, unknown keys, wrong types, unknown fault kinds/states/annotation kinds,
// bad entity text, non-positive durations or magnitudes, or out-of-range fleet options.
absl::StatusOr<Scenario> ParseScenario(std::string_view text);
// Reads and parses a file; NotFoundError if it cannot be read.
absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path);

// A scenario with no faults and the given duration and seed (the healthy run).
Scenario HealthyScenario(absl::Duration duration, uint64_t seed);

}  // namespace candor::sim

#endif  // CANDOR_SIM_SCENARIO_H_
