#include "detectors/fleet_state_machine.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace candor::detectors {

EntityStateMachine::EntityStateMachine(EntityId entity, StateMachineOptions options)
    : entity_(std::move(entity)), options_(options) {}

bool EntityStateMachine::MoreSpecificActive() const {
  for (FleetState s : kAllFleetStates) {
    if (!MoreSevere(s, FleetState::kDegradedPrimary)) break;
    if (s != FleetState::kNoData && tracks_[static_cast<size_t>(s)].active) return true;
  }
  return false;
}

bool EntityStateMachine::WarmingHoldsBack() const {
  return tracks_[static_cast<size_t>(FleetState::kModelWarming)].active;
}

FleetState EntityStateMachine::Compute() const {
  if (tracks_[static_cast<size_t>(FleetState::kNoData)].active) return FleetState::kNoData;
  if (WarmingHoldsBack()) return FleetState::kModelWarming;
  for (FleetState s : kAllFleetStates) {
    if (s != FleetState::kHealthy && tracks_[static_cast<size_t>(s)].active) return s;
  }
  return FleetState::kHealthy;
}

std::vector<Condition> EntityStateMachine::Conditions() const {
  std::vector<Condition> out;
  const bool warming = WarmingHoldsBack();
  for (FleetState s : kAllFleetStates) {
    const Track& t = tracks_[static_cast<size_t>(s)];
    if (!t.active) continue;
    if (warming && s != FleetState::kNoData && s != FleetState::kModelWarming) continue;
    out.push_back(t.condition);
  }
  return out;
}

bool EntityStateMachine::Unsettled() const {
  for (FleetState s : kAllFleetStates) {
    const Track& t = tracks_[static_cast<size_t>(s)];
    if (s == FleetState::kNoData || s == FleetState::kModelWarming) continue;
    if (t.active || t.entry_streak > 0) return true;
  }
  return false;
}

EntityStatus EntityStateMachine::Status() const { return {entity_, state_, since_, Conditions()}; }

std::optional<Transition> EntityStateMachine::Update(absl::Time start, absl::Time end,
                                                     const std::vector<RuleResult>& results) {
  std::array<const RuleResult*, kNumFleetStates> by_state{};
  for (const RuleResult& r : results) by_state[static_cast<size_t>(r.state)] = &r;
  // Warming is decided first: it holds the others back from this very window.
  const RuleResult* warm = by_state[static_cast<size_t>(FleetState::kModelWarming)];
  const bool warming = WarmingHoldsBack() || (warm != nullptr && warm->entry);
  for (FleetState s : kAllFleetStates) {
    if (s == FleetState::kHealthy) continue;
    Track& t = tracks_[static_cast<size_t>(s)];
    const RuleResult* r = by_state[static_cast<size_t>(s)];
    const bool held_back = warming && s != FleetState::kNoData && s != FleetState::kModelWarming;
    // degraded-primary is the catch-all: a more specific active condition already explains
    // the primary path's symptoms, so it does not start entering beside one.
    const bool explained = s == FleetState::kDegradedPrimary && MoreSpecificActive();
    const bool entry = r != nullptr && r->entry && !held_back && !explained;
    const bool hold = r != nullptr && r->hold;
    if (!t.active) {
      if (!entry) {
        t.entry_streak = 0;
        continue;
      }
      if (t.entry_streak++ == 0) t.first_entry = start;
      if (t.entry_streak < r->entry_windows) continue;
      t.active = true;
      t.miss_streak = 0;
      t.exit_windows = r->exit_windows;
      t.condition.state = s;
      t.condition.since = end;
      t.condition.evidence = r->evidence;
      if (t.condition.evidence.onset == absl::InfinitePast() ||
          t.condition.evidence.onset > t.first_entry) {
        t.condition.evidence.onset = t.first_entry;
      }
      continue;
    }
    if (hold) {
      t.miss_streak = 0;
      const absl::Time onset = t.condition.evidence.onset;
      t.condition.evidence = r->evidence;
      t.condition.evidence.onset = onset;
      continue;
    }
    ++t.miss_streak;
    const bool dwelt = t.exit_windows <= 1 || end - t.condition.since >= options_.min_dwell;
    if (t.miss_streak >= t.exit_windows && dwelt) {
      t.active = false;
      t.entry_streak = 0;
      t.miss_streak = 0;
    }
  }
  const FleetState next = Compute();
  if (next == state_) return std::nullopt;
  Transition tr;
  tr.time = end;
  tr.entity = entity_;
  tr.from = state_;
  tr.to = next;
  tr.conditions = Conditions();
  if (next != FleetState::kHealthy) {
    tr.evidence = tracks_[static_cast<size_t>(next)].condition.evidence;
  } else {
    const Condition& cleared = tracks_[static_cast<size_t>(state_)].condition;
    tr.evidence = cleared.evidence;
    tr.evidence.summary =
        absl::StrCat("cleared ", Sv(FleetStateName(state_)), " (active since ",
                     FormatRfc3339(cleared.since), "); last evidence: ", tr.evidence.summary);
  }
  state_ = next;
  since_ = end;
  return tr;
}

}  // namespace candor::detectors
