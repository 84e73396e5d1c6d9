#include "daemon/command.h"

#include "gtest/gtest.h"

namespace candor::daemon {
namespace {

TEST(ParseArgsTest, SplitsFlagsValuesAndPositionals) {
  auto p = ParseArgs({"--config", "c.yaml", "--a=1", "--print-config", "file", "-h"},
                     {"--print-config"});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->flags.size(), 3u);
  EXPECT_EQ(p->flags[0], (std::pair<std::string, std::string>{"--config", "c.yaml"}));
  EXPECT_EQ(p->flags[1].second, "1");
  EXPECT_EQ(p->flags[2].second, "true");
  ASSERT_EQ(p->positional.size(), 1u);
  EXPECT_TRUE(p->help);
  EXPECT_EQ(TakeFlag(*p, "--config"), "c.yaml");
  EXPECT_EQ(p->flags.size(), 2u);
  EXPECT_FALSE(ParseArgs({"--"}).ok());
}

}  // namespace
}  // namespace candor::daemon
