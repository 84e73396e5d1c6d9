#include "common/states.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor {

std::string_view FleetStateName(FleetState state) {
  switch (state) {
    case FleetState::kNoData:
      return "no-data";
    case FleetState::kQueueDeadlock:
      return "queue-deadlock";
    case FleetState::kProviderCircuitOpen:
      return "provider-circuit-open";
    case FleetState::kCascadingTimeout:
      return "cascading-timeout";
    case FleetState::kHardwareDegraded:
      return "hardware-degraded";
    case FleetState::kKvThrashing:
      return "kv-thrashing";
    case FleetState::kComputeSaturated:
      return "compute-saturated";
    case FleetState::kDegradedFallback:
      return "degraded-fallback";
    case FleetState::kCanaryRegressed:
      return "canary-regressed";
    case FleetState::kQualityDegraded:
      return "quality-degraded";
    case FleetState::kDegradedPrimary:
      return "degraded-primary";
    case FleetState::kInputDrift:
      return "input-drift";
    case FleetState::kRollbackActive:
      return "rollback-active";
    case FleetState::kCanaryPaused:
      return "canary-paused";
    case FleetState::kFeatureDisabled:
      return "feature-disabled";
    case FleetState::kModelWarming:
      return "model-warming";
    case FleetState::kHealthy:
      return "healthy";
  }
  return "unknown";
}

absl::StatusOr<FleetState> ParseFleetState(std::string_view text) {
  for (FleetState s : kAllFleetStates) {
    if (FleetStateName(s) == text) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown fleet state \"", Sv(text), "\""));
}

}  // namespace candor
