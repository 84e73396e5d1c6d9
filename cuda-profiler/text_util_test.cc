#include "cuda-profiler/text_util.h"

#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

TEST(TextUtilTest, ValidatesUtf8) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // Truncated.
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // Overlong.
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // Surrogate.
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // Above U+10FFFF.
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(TextUtilTest, SanitisesAndCutsOnCharacterBoundaries) {
  EXPECT_EQ(SanitizeText("ok", 10), "ok");
  EXPECT_EQ(SanitizeText("a\xff"
                         "b\n",
                         10),
            "a?b?");
  EXPECT_EQ(SanitizeText("caf\xc3\xa9", 4), "caf");  // Never half a character.
  EXPECT_EQ(SanitizeText("caf\xc3\xa9", 5), "caf\xc3\xa9");
  EXPECT_EQ(SanitizeText("", 5), "");
  EXPECT_TRUE(IsValidUtf8(SanitizeText("\xe2\x82", 10)));
}

}  // namespace
}  // namespace candor::cuda_profiler
