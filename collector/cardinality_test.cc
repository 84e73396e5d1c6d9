#include "collector/cardinality.h"

#include "exporters/prometheus_metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::collector {
namespace {

class CardinalityTest : public ::testing::Test {
 protected:
  CardinalityLimiter Make(size_t max, absl::Duration ttl = absl::Hours(1)) {
    return CardinalityLimiter({max, ttl, absl::Minutes(1)}, clock_, metrics_);
  }
  SimulatedClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  exporters::PrometheusMetrics metrics_;
};

TEST_F(CardinalityTest, NewEntitiesPastTheLimitAreRefusedKnownOnesKeepWorking) {
  CardinalityLimiter limiter = Make(2);
  EXPECT_FALSE(limiter.Admit({EntityId::Fleet(), {EntityKind::kNode, "a"}}));
  EXPECT_FALSE(limiter.Admit({{EntityKind::kNode, "b"}, {EntityKind::kRoute, "chat"}}));
  auto refused = limiter.Admit({{EntityKind::kNode, "c"}});
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->kind, EntityKind::kNode);
  EXPECT_EQ(refused->name, "c");
  EXPECT_EQ(refused->limit, 2u);
  EXPECT_FALSE(limiter.Admit({{EntityKind::kNode, "a"}, {EntityKind::kNode, "b"}}));
  EXPECT_EQ(limiter.Count(EntityKind::kNode), 2u);
  EXPECT_THAT(metrics_.Render(), ::testing::HasSubstr("candor_ingest_entities{kind=\"node\"} 2"));
}

TEST_F(CardinalityTest, ARefusedItemAddsNothing) {
  CardinalityLimiter limiter = Make(1);
  EXPECT_FALSE(limiter.Admit({{EntityKind::kNode, "a"}}));
  // The route would fit, the node would not: neither is added.
  EXPECT_TRUE(limiter.Admit({{EntityKind::kRoute, "chat"}, {EntityKind::kNode, "b"}}));
  EXPECT_EQ(limiter.Count(EntityKind::kRoute), 0u);
}

TEST_F(CardinalityTest, IdleEntitiesMakeRoomAfterTheirTtl) {
  CardinalityLimiter limiter = Make(1, absl::Hours(1));
  EXPECT_FALSE(limiter.Admit({{EntityKind::kReplica, "old"}}));
  EXPECT_TRUE(limiter.Admit({{EntityKind::kReplica, "new"}}));
  clock_.AdvanceTime(absl::Minutes(61));
  EXPECT_FALSE(limiter.Admit({{EntityKind::kReplica, "new"}}));
  EXPECT_EQ(limiter.Count(EntityKind::kReplica), 1u);
  EXPECT_TRUE(limiter.Admit({{EntityKind::kReplica, "old"}}));
}

TEST_F(CardinalityTest, ZeroTurnsTheLimitOff) {
  CardinalityLimiter limiter = Make(0);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(limiter.Admit({{EntityKind::kGpu, std::to_string(i)}}));
  }
}

}  // namespace
}  // namespace candor::collector
