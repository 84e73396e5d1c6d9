#include "common/entity.h"

#include "gtest/gtest.h"

namespace candor {
namespace {

TEST(EntityIdTest, FormatsAndParsesEveryKind) {
  for (EntityKind kind : kAllEntityKinds) {
    EntityId id{kind, kind == EntityKind::kFleet ? "" : "x-1"};
    absl::StatusOr<EntityId> parsed = EntityId::Parse(id.ToString());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, id);
  }
  EXPECT_EQ(EntityId::Fleet().ToString(), "fleet");
}

TEST(EntityIdTest, ModelIncludesVersionWhenPresent) {
  EXPECT_EQ(EntityId::Model("llama-3-70b", "v184").ToString(), "model:llama-3-70b@v184");
  EXPECT_EQ(EntityId::Model("llama-3-70b", "").ToString(), "model:llama-3-70b");
}

TEST(EntityIdTest, NameMayContainColons) {
  absl::StatusOr<EntityId> id = EntityId::Parse("dependency:redis:6379");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->kind, EntityKind::kDependency);
  EXPECT_EQ(id->name, "redis:6379");
}

TEST(EntityIdTest, RejectsMalformed) {
  EXPECT_FALSE(EntityId::Parse("").ok());
  EXPECT_FALSE(EntityId::Parse("provider").ok());
  EXPECT_FALSE(EntityId::Parse("provider:").ok());
  EXPECT_FALSE(EntityId::Parse("planet:earth").ok());
  EXPECT_FALSE(EntityId::Parse("fleet:x").ok());
}

}  // namespace
}  // namespace candor
