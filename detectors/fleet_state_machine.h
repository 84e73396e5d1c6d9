// One entity's state: conditions enter after their rule's entry predicate held for
// `entry_windows` consecutive windows, stay while the (relaxed) hold predicate holds, and
// clear after `exit_windows` consecutive windows without it and no sooner than `min_dwell`
// after entering. The state is the most severe active condition (DESIGN §4 order); while
// `model-warming` is active every other condition but `no-data` is held back (and cannot start
// entering). A transition is emitted whenever the state changes, stamped with the window's
// end (event time), carrying every active condition and the evidence for the new state.
//
// Thread safety: not thread-safe; the analyzer owns one machine per entity.

#ifndef CANDOR_DETECTORS_FLEET_STATE_MACHINE_H_
#define CANDOR_DETECTORS_FLEET_STATE_MACHINE_H_

#include <array>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "common/entity.h"
#include "common/states.h"
#include "detectors/fleet_rules.h"
#include "detectors/fleet_types.h"

namespace candor::detectors {

struct StateMachineOptions {
  // Shortest time a condition stays active once entered (conditions that clear in one window,
  // like no-data and operator facts, are exempt). Default: 60 s.
  absl::Duration min_dwell = absl::Seconds(60);
};

class EntityStateMachine {
 public:
  EntityStateMachine(EntityId entity, StateMachineOptions options);

  // Feeds the rule results of the window [start, end). Returns the transition if the state
  // changed.
  std::optional<Transition> Update(absl::Time start, absl::Time end,
                                   const std::vector<RuleResult>& results);

  FleetState state() const { return state_; }
  absl::Time since() const { return since_; }
  // Active conditions as reported (held-back ones excluded), most severe first.
  std::vector<Condition> Conditions() const;
  EntityStatus Status() const;
  // True while any condition is active or has started entering (references hold still).
  bool Unsettled() const;

 private:
  struct Track {
    int entry_streak = 0;
    int miss_streak = 0;
    int exit_windows = 3;
    bool active = false;
    absl::Time first_entry = absl::InfinitePast();
    Condition condition;
  };

  FleetState Compute() const;
  bool WarmingHoldsBack() const;
  // A condition more specific (more severe) than degraded-primary is active.
  bool MoreSpecificActive() const;

  EntityId entity_;
  StateMachineOptions options_;
  std::array<Track, kNumFleetStates> tracks_;
  FleetState state_ = FleetState::kHealthy;
  absl::Time since_ = absl::InfinitePast();
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_FLEET_STATE_MACHINE_H_
