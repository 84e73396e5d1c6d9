// The named fleet states (DESIGN §4), in severity order, and their text forms. These names are
// a contract: they appear in transitions, the HTTP API, metrics labels and alerts.

#ifndef CANDOR_COMMON_STATES_H_
#define CANDOR_COMMON_STATES_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace candor {

// Declared most severe first; `Severity()` is derived from this order. `kModelWarming` is
// special: while a replica is warming, every other condition but `kNoData` is held back.
enum class FleetState : uint8_t {
  kNoData,
  kQueueDeadlock,
  kProviderCircuitOpen,
  kCascadingTimeout,
  kHardwareDegraded,
  kKvThrashing,
  kComputeSaturated,
  kDegradedFallback,
  kCanaryRegressed,
  kQualityDegraded,
  kDegradedPrimary,
  kInputDrift,
  kRollbackActive,
  kCanaryPaused,
  kFeatureDisabled,
  kModelWarming,
  kHealthy,
};

inline constexpr int kNumFleetStates = 17;

inline constexpr std::array<FleetState, kNumFleetStates> kAllFleetStates = {
    FleetState::kNoData,           FleetState::kQueueDeadlock,    FleetState::kProviderCircuitOpen,
    FleetState::kCascadingTimeout, FleetState::kHardwareDegraded, FleetState::kKvThrashing,
    FleetState::kComputeSaturated, FleetState::kDegradedFallback, FleetState::kCanaryRegressed,
    FleetState::kQualityDegraded,  FleetState::kDegradedPrimary,  FleetState::kInputDrift,
    FleetState::kRollbackActive,   FleetState::kCanaryPaused,     FleetState::kFeatureDisabled,
    FleetState::kModelWarming,     FleetState::kHealthy};

// "no-data", "queue-deadlock", …, "healthy".
std::string_view FleetStateName(FleetState state);
// Inverse of FleetStateName; InvalidArgumentError naming the text if unknown.
absl::StatusOr<FleetState> ParseFleetState(std::string_view text);

// 0 for the most severe state (`no-data`), increasing to `healthy`. Lower is more severe.
inline int Severity(FleetState state) { return static_cast<int>(state); }

// True if `a` is more severe than `b`.
inline bool MoreSevere(FleetState a, FleetState b) { return Severity(a) < Severity(b); }

}  // namespace candor

#endif  // CANDOR_COMMON_STATES_H_
