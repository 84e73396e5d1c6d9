#include "common/labels.h"

#include "gtest/gtest.h"

namespace candor {
namespace {

TEST(LabelSetTest, SortsAndDropsEmptyValues) {
  absl::StatusOr<LabelSet> set =
      LabelSet::FromUnsorted({{"b", "2"}, {"__name__", "up"}, {"a", "1"}, {"c", ""}});
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ(set->labels()[0].name, "__name__");
  EXPECT_EQ(set->labels()[1].name, "a");
  EXPECT_EQ(set->MetricName(), "up");
  EXPECT_EQ(set->Get("b"), "2");
  EXPECT_EQ(set->Get("c"), "");
  EXPECT_EQ(set->ToString(), "up{a=\"1\",b=\"2\"}");
}

TEST(LabelSetTest, RejectsDuplicatesAndBadNames) {
  EXPECT_FALSE(LabelSet::FromUnsorted({{"a", "1"}, {"a", "2"}}).ok());
  EXPECT_FALSE(LabelSet::FromUnsorted({{"1a", "1"}}).ok());
  EXPECT_FALSE(LabelSet::FromUnsorted({{"a-b", "1"}}).ok());
  EXPECT_FALSE(LabelSet::FromUnsorted({{"__name__", "bad name"}}).ok());
  EXPECT_TRUE(LabelSet::FromUnsorted({{"__name__", "vllm:num_requests"}}).ok());
}

TEST(LabelSetTest, EqualSetsHashEqualRegardlessOfInputOrder) {
  LabelSet a = LabelSet::FromTrusted({{"x", "1"}, {"y", "2"}});
  LabelSet b = LabelSet::FromTrusted({{"y", "2"}, {"x", "1"}});
  LabelSet c = LabelSet::FromTrusted({{"x", "1"}, {"y", "3"}});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.Hash(), b.Hash());
  EXPECT_NE(a.Hash(), c.Hash());
  // Name/value boundaries matter: {ab="c"} differs from {a="bc"}.
  EXPECT_NE(LabelSet::FromTrusted({{"ab", "c"}}).Hash(),
            LabelSet::FromTrusted({{"a", "bc"}}).Hash());
}

TEST(LabelSetTest, WithWithoutOnly) {
  LabelSet s = LabelSet::FromTrusted({{"b", "2"}, {"d", "4"}});
  EXPECT_EQ(s.With("c", "3").ToString(), "{b=\"2\",c=\"3\",d=\"4\"}");
  EXPECT_EQ(s.With("b", "9").ToString(), "{b=\"9\",d=\"4\"}");
  EXPECT_EQ(s.With("b", "").ToString(), "{d=\"4\"}");
  EXPECT_EQ(s.With("z", "1").ToString(), "{b=\"2\",d=\"4\",z=\"1\"}");
  EXPECT_EQ(s.Without({"b"}).ToString(), "{d=\"4\"}");
  EXPECT_EQ(s.Only({"b"}).ToString(), "{b=\"2\"}");
}

TEST(LabelSetTest, EscapesValues) {
  LabelSet s = LabelSet::FromTrusted({{"path", "a\"b\\c\nd"}});
  EXPECT_EQ(s.ToString(), "{path=\"a\\\"b\\\\c\\nd\"}");
}

}  // namespace
}  // namespace candor
