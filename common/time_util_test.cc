#include "common/time_util.h"

#include "gtest/gtest.h"

namespace candor {
namespace {

TEST(TimeUtilTest, Rfc3339RoundTrip) {
  const absl::Time t = absl::FromUnixMillis(1763805600123);
  EXPECT_EQ(FormatRfc3339(t), "2025-11-22T10:00:00.123Z");
  absl::StatusOr<absl::Time> parsed = ParseRfc3339("2025-11-22T10:00:00.123Z");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, t);
  parsed = ParseRfc3339("2025-11-22T11:00:00.123+01:00");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, t);
  EXPECT_FALSE(ParseRfc3339("yesterday").ok());
}

TEST(TimeUtilTest, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace candor
