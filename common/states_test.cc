#include "common/states.h"

#include "gtest/gtest.h"

namespace candor {
namespace {

TEST(FleetStateTest, NamesRoundTripAndSeverityFollowsDesignOrder) {
  for (FleetState s : kAllFleetStates) {
    absl::StatusOr<FleetState> parsed = ParseFleetState(FleetStateName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_TRUE(MoreSevere(FleetState::kNoData, FleetState::kQueueDeadlock));
  EXPECT_TRUE(MoreSevere(FleetState::kProviderCircuitOpen, FleetState::kCascadingTimeout));
  EXPECT_TRUE(MoreSevere(FleetState::kKvThrashing, FleetState::kComputeSaturated));
  EXPECT_TRUE(MoreSevere(FleetState::kDegradedPrimary, FleetState::kInputDrift));
  EXPECT_TRUE(MoreSevere(FleetState::kFeatureDisabled, FleetState::kHealthy));
  EXPECT_FALSE(ParseFleetState("degraded").ok());
}

}  // namespace
}  // namespace candor
