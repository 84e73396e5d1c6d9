#include "detectors/fleet_state_machine.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

const absl::Time kT0 = absl::FromUnixSeconds(1767571200);
const absl::Duration kW = absl::Seconds(10);

RuleResult Rule(FleetState s, bool entry, bool hold, int entry_windows = 3, int exit_windows = 3) {
  RuleResult r;
  r.state = s;
  r.entry = entry;
  r.hold = hold || entry;
  r.entry_windows = entry_windows;
  r.exit_windows = exit_windows;
  r.evidence.primary.signal = std::string(FleetStateName(s));
  return r;
}

class StateMachineTest : public ::testing::Test {
 protected:
  // Feeds window number `n` (0-based) and returns its transition, if any.
  std::optional<Transition> Window(int n, std::vector<RuleResult> results) {
    const absl::Time start = kT0 + n * kW;
    return machine_.Update(start, start + kW, results);
  }
  EntityStateMachine machine_{EntityId{EntityKind::kReplica, "r1"}, StateMachineOptions{}};
};

TEST_F(StateMachineTest, EntersOnlyAfterTheRequiredConsecutiveWindows) {
  EXPECT_FALSE(Window(0, {Rule(FleetState::kKvThrashing, true, true)}));
  EXPECT_FALSE(Window(1, {Rule(FleetState::kKvThrashing, true, true)}));
  EXPECT_FALSE(Window(2, {}));  // The streak breaks.
  EXPECT_FALSE(Window(3, {Rule(FleetState::kKvThrashing, true, true)}));
  EXPECT_FALSE(Window(4, {Rule(FleetState::kKvThrashing, true, true)}));
  std::optional<Transition> t = Window(5, {Rule(FleetState::kKvThrashing, true, true)});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, FleetState::kHealthy);
  EXPECT_EQ(t->to, FleetState::kKvThrashing);
  EXPECT_EQ(t->time, kT0 + 6 * kW);
  // The onset is no later than the first window of the streak that entered.
  EXPECT_EQ(t->evidence.onset, kT0 + 3 * kW);
  EXPECT_THAT(t->conditions, ElementsAre(Field(&Condition::state, FleetState::kKvThrashing)));
}

TEST_F(StateMachineTest, HoldsWhileTheRelaxedPredicateHoldsAndDwellsAMinute) {
  for (int i = 0; i < 3; ++i) Window(i, {Rule(FleetState::kKvThrashing, true, true)});
  ASSERT_EQ(machine_.state(), FleetState::kKvThrashing);
  // Hold only: stays.
  for (int i = 3; i < 10; ++i) {
    EXPECT_FALSE(Window(i, {Rule(FleetState::kKvThrashing, false, true)}));
  }
  // Three windows without the hold predicate clear it (the dwell minimum has passed).
  EXPECT_FALSE(Window(10, {}));
  EXPECT_FALSE(Window(11, {}));
  std::optional<Transition> t = Window(12, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, FleetState::kHealthy);
  EXPECT_THAT(t->evidence.summary, ::testing::StartsWith("cleared kv-thrashing"));
  EXPECT_TRUE(t->conditions.empty());
}

TEST_F(StateMachineTest, MinimumDwellKeepsAShortConditionForAMinute) {
  for (int i = 0; i < 3; ++i) Window(i, {Rule(FleetState::kKvThrashing, true, true)});
  // It stops immediately, but stays until 60 s after it entered.
  int cleared_at = -1;
  for (int i = 3; i < 20 && cleared_at < 0; ++i) {
    if (Window(i, {})) cleared_at = i;
  }
  EXPECT_EQ(cleared_at, 8);  // Entered at the end of window 2 (t0+30s), cleared at t0+90s.
}

TEST_F(StateMachineTest, TheMostSevereActiveConditionIsTheState) {
  for (int i = 0; i < 3; ++i) {
    Window(i, {Rule(FleetState::kKvThrashing, true, true),
               Rule(FleetState::kComputeSaturated, true, true)});
  }
  EXPECT_EQ(machine_.state(), FleetState::kKvThrashing);
  EXPECT_THAT(machine_.Conditions(),
              ElementsAre(Field(&Condition::state, FleetState::kKvThrashing),
                          Field(&Condition::state, FleetState::kComputeSaturated)));
  // A more severe one arrives: the state follows.
  std::optional<Transition> t;
  for (int i = 3; i < 5; ++i) {
    t = Window(i, {Rule(FleetState::kQueueDeadlock, true, true, 2),
                   Rule(FleetState::kKvThrashing, false, true),
                   Rule(FleetState::kComputeSaturated, false, true)});
  }
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, FleetState::kKvThrashing);
  EXPECT_EQ(t->to, FleetState::kQueueDeadlock);
  EXPECT_EQ(t->conditions.size(), 3u);
}

TEST_F(StateMachineTest, WarmingHoldsBackEverythingButNoData) {
  std::optional<Transition> t = Window(0, {Rule(FleetState::kModelWarming, true, true, 1, 2)});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, FleetState::kModelWarming);
  // Slow while warming: hardware evidence does not even start entering.
  for (int i = 1; i < 6; ++i) {
    EXPECT_FALSE(Window(i, {Rule(FleetState::kModelWarming, true, true, 1, 2),
                            Rule(FleetState::kHardwareDegraded, true, true)}));
  }
  // Silence overrides warming.
  t = Window(6, {Rule(FleetState::kModelWarming, false, true, 1, 2),
                 Rule(FleetState::kNoData, true, true, 1, 1)});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, FleetState::kNoData);
  // Data comes back (still warming for one more window), then warming ends.
  t = Window(7, {Rule(FleetState::kHardwareDegraded, true, true)});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, FleetState::kModelWarming);
  t = Window(8, {Rule(FleetState::kHardwareDegraded, true, true)});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, FleetState::kHealthy);
  // Hardware must now earn its entry afresh: three windows.
  EXPECT_FALSE(Window(9, {Rule(FleetState::kHardwareDegraded, true, true)}));
  EXPECT_FALSE(Window(10, {Rule(FleetState::kHardwareDegraded, true, true)}));
  t = Window(11, {Rule(FleetState::kHardwareDegraded, true, true)});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, FleetState::kHardwareDegraded);
}

TEST_F(StateMachineTest, DegradedPrimaryDoesNotEnterBesideAMoreSpecificCondition) {
  for (int i = 0; i < 3; ++i) Window(i, {Rule(FleetState::kHardwareDegraded, true, true)});
  ASSERT_EQ(machine_.state(), FleetState::kHardwareDegraded);
  for (int i = 3; i < 9; ++i) {
    Window(i, {Rule(FleetState::kHardwareDegraded, false, true),
               Rule(FleetState::kDegradedPrimary, true, true)});
  }
  // Hardware clears while latency is still up: straight back to healthy.
  std::optional<Transition> t;
  for (int i = 9; i < 12; ++i) t = Window(i, {Rule(FleetState::kDegradedPrimary, true, true)});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, FleetState::kHealthy);
}

TEST_F(StateMachineTest, NoDataClearsAsSoonAsDataReturns) {
  for (int i = 0; i < 3; ++i) Window(i, {Rule(FleetState::kNoData, i >= 2, true, 1, 1)});
  ASSERT_EQ(machine_.state(), FleetState::kNoData);
  std::optional<Transition> t = Window(3, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, FleetState::kHealthy);
  EXPECT_FALSE(machine_.Unsettled());
}

}  // namespace
}  // namespace candor::detectors
