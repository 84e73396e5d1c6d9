#include "store/index.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

LabelSet L(std::vector<Label> labels) { return LabelSet::FromTrusted(std::move(labels)); }

class PostingsIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_.Add(1, L({{"__name__", "up"}, {"job", "vllm"}, {"instance", "a"}}));
    index_.Add(2, L({{"__name__", "up"}, {"job", "vllm"}, {"instance", "b"}}));
    index_.Add(3, L({{"__name__", "up"}, {"job", "tgi"}, {"instance", "c"}}));
    index_.Add(4, L({{"__name__", "lat"}, {"job", "vllm"}}));
    index_.Add(5, L({{"__name__", "vllm:num_requests"}, {"job", "vllm"}, {"env", "prod"}}));
  }
  std::vector<uint64_t> Sel(std::vector<LabelMatcher> m) {
    auto r = index_.Select(m);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<uint64_t>{};
  }
  PostingsIndex index_;
};

TEST_F(PostingsIndexTest, Equality) {
  EXPECT_THAT(Sel({LabelMatcher::Equal("__name__", "up")}), ElementsAre(1, 2, 3));
  EXPECT_THAT(Sel({LabelMatcher::Equal("__name__", "up"), LabelMatcher::Equal("job", "vllm")}),
              ElementsAre(1, 2));
  EXPECT_THAT(Sel({LabelMatcher::Equal("__name__", "nope")}), IsEmpty());
}

TEST_F(PostingsIndexTest, NotEqualKeepsSeriesWithoutTheLabel) {
  EXPECT_THAT(Sel({LabelMatcher::Equal("job", "vllm"), LabelMatcher::NotEqual("instance", "a")}),
              ElementsAre(2, 4, 5));
}

TEST_F(PostingsIndexTest, Regex) {
  EXPECT_THAT(Sel({LabelMatcher::Regex("__name__", "vllm:.*")}), ElementsAre(5));
  EXPECT_THAT(Sel({LabelMatcher::Regex("instance", "a|c")}), ElementsAre(1, 3));
  EXPECT_THAT(Sel({LabelMatcher::Regex("instance", "[ab]")}), ElementsAre(1, 2));
  // Anchored: "b" does not match "ab"-style partial strings.
  EXPECT_THAT(Sel({LabelMatcher::Regex("job", "vll")}), IsEmpty());
  EXPECT_THAT(Sel({LabelMatcher::Equal("job", "vllm"), LabelMatcher::NotRegex("instance", "a|b")}),
              ElementsAre(4, 5));
}

TEST_F(PostingsIndexTest, EmptyMatchers) {
  // =~".*" alone matches everything, including the empty string: rejected.
  EXPECT_FALSE(index_.Select({LabelMatcher::Regex("job", ".*")}).ok());
  EXPECT_FALSE(index_.Select({}).ok());
  // env="" selects series without env.
  EXPECT_THAT(Sel({LabelMatcher::Equal("job", "vllm"), LabelMatcher::Equal("env", "")}),
              ElementsAre(1, 2, 4));
  // env!="" selects series with env.
  EXPECT_THAT(Sel({LabelMatcher::NotEqual("env", "")}), ElementsAre(5));
  EXPECT_THAT(Sel({LabelMatcher::Regex("env", ".+")}), ElementsAre(5));
}

TEST_F(PostingsIndexTest, NamesValuesAndRemoval) {
  EXPECT_THAT(index_.LabelNames(), ElementsAre("__name__", "env", "instance", "job"));
  EXPECT_THAT(index_.LabelValues("job"), ElementsAre("tgi", "vllm"));
  index_.Remove(3, L({{"__name__", "up"}, {"job", "tgi"}, {"instance", "c"}}));
  EXPECT_THAT(index_.LabelValues("job"), ElementsAre("vllm"));
  EXPECT_THAT(Sel({LabelMatcher::Equal("__name__", "up")}), ElementsAre(1, 2));
  EXPECT_EQ(index_.num_series(), 4u);
}

TEST_F(PostingsIndexTest, NamesAndValuesOfSomeSeries) {
  // Only series 5 carries env; only series 3 has job="tgi".
  EXPECT_THAT(index_.LabelNamesWhere([](uint64_t ref) { return ref != 5; }),
              ElementsAre("__name__", "instance", "job"));
  EXPECT_THAT(index_.LabelNamesWhere([](uint64_t) { return true; }),
              ElementsAre("__name__", "env", "instance", "job"));
  EXPECT_THAT(index_.LabelNamesWhere([](uint64_t) { return false; }), ElementsAre());
  EXPECT_THAT(index_.LabelValuesWhere("job", [](uint64_t ref) { return ref != 3; }),
              ElementsAre("vllm"));
  EXPECT_THAT(index_.LabelValuesWhere("job", [](uint64_t) { return true; }),
              ElementsAre("tgi", "vllm"));
  EXPECT_THAT(index_.LabelValuesWhere("zone", [](uint64_t) { return true; }), ElementsAre());
}

TEST(LabelMatcherTest, InvalidRegexIsAnError) {
  auto m = LabelMatcher::Create(MatchType::kRegexMatch, "a", "(unclosed");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(LabelMatcher::Create(MatchType::kEqual, "", "x").ok());
}

TEST(LabelMatcherTest, LiteralAlternativesAndToString) {
  EXPECT_THAT(LabelMatcher::Regex("a", "x|y").literal_alternatives(), ElementsAre("x", "y"));
  EXPECT_THAT(LabelMatcher::Regex("a", "x.*").literal_alternatives(), IsEmpty());
  EXPECT_EQ(LabelMatcher::NotRegex("a", "q\"x").ToString(), "a!~\"q\\\"x\"");
}

}  // namespace
}  // namespace candor::store
