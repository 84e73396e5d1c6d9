#include "daemon/config.h"

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace candor::daemon {
namespace {

using ::testing::HasSubstr;

TEST(ConfigTest, EmbeddedDefaultsMatchTheDesign) {
  auto config = LoadConfigFromString("", {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->storage_path, "./candor-data");
  EXPECT_EQ(config->events.path, "./candor-data/events");
  EXPECT_EQ(config->grpc.listen_address, "127.0.0.1:4770");
  EXPECT_EQ(config->http.listen_address, "127.0.0.1:9470");
  EXPECT_TRUE(config->events.sync);
}

TEST(ConfigTest, NestedAndDottedKeysAndFlagsOverride) {
  auto config = LoadConfigFromString(
      "grpc:\n  workers: 4\n  retry_after: 1s\nstorage.path: /tmp/x\nlog:\n  format: json\n",
      {{"--grpc.listen-address", "127.0.0.1:0"}, {"--storage.path", "/tmp/y"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->grpc.workers, 4);
  EXPECT_EQ(config->grpc.retry_after, absl::Seconds(1));
  EXPECT_EQ(config->grpc.listen_address, "127.0.0.1:0");
  EXPECT_EQ(config->storage_path, "/tmp/y");
  EXPECT_EQ(config->log_format, LogFormat::kJson);
}

TEST(ConfigTest, UnknownKeysAndBadValuesNameTheKeyAndLine) {
  auto unknown = LoadConfigFromString("grpc:\n  workerz: 4\n", {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("grpc.workerz"));

  auto bad = LoadConfigFromString("grpc:\n  workers: many\n", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("grpc.workers"));

  auto duration = LoadConfigFromString("grpc:\n  retry_after: soon\n", {});
  ASSERT_FALSE(duration.ok());
  EXPECT_THAT(duration.status().message(), HasSubstr("not a duration"));

  auto level = LoadConfigFromString("", {{"--log.level", "loud"}});
  ASSERT_FALSE(level.ok());
  EXPECT_THAT(level.status().message(), HasSubstr("--log.level"));

  auto flag = LoadConfigFromString("", {{"--no.such-flag", "1"}});
  ASSERT_FALSE(flag.ok());
  EXPECT_THAT(flag.status().message(), HasSubstr("no.such_flag"));

  auto list = LoadConfigFromString("grpc:\n  workers: [1, 2]\n", {});
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(list.status().message(), HasSubstr("not a list"));

  auto yaml = LoadConfigFromString("grpc: [\n", {});
  ASSERT_FALSE(yaml.ok());
  EXPECT_THAT(yaml.status().message(), HasSubstr("invalid YAML"));

  auto address = LoadConfigFromString("http:\n  listen_address: nowhere\n", {});
  ASSERT_FALSE(address.ok());
  EXPECT_THAT(address.status().message(), HasSubstr("http.listen_address"));
}

TEST(ConfigTest, IngestWindowMayNotExceedRetention) {
  auto config = LoadConfigFromString("ingest:\n  max_age: 30d\n", {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("ingest.max_age"));
}

TEST(ConfigTest, ExampleFileDocumentsEveryOptionAndLoads) {
  const std::string path = testing::SourcePath("daemon/candor.example.yaml");
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  auto config = LoadConfigFromString(text.str(), {});
  ASSERT_TRUE(config.ok()) << config.status();
  // Every option appears in the example under its last key component.
  for (const std::string& key : ConfigKeys()) {
    const std::string leaf = key.substr(key.rfind('.') + 1) + ":";
    EXPECT_THAT(text.str(), HasSubstr(leaf)) << "example file lacks " << key;
  }
  // And the example's values are the defaults, option by option.
  auto defaults = LoadConfigFromString("", {});
  EXPECT_EQ(ConfigValues(*config), ConfigValues(*defaults));
}

TEST(ConfigTest, PrintedConfigLoadsBackToTheDefaults) {
  auto printed = LoadConfigFromString(DescribeConfig(), {});
  ASSERT_TRUE(printed.ok()) << printed.status();
  EXPECT_EQ(ConfigValues(*printed), ConfigValues(*LoadConfigFromString("", {})));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadConfig("/nonexistent/candor.yaml", {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ParseTest, DurationsAndSizes) {
  EXPECT_EQ(*ParseDuration("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("7d"), absl::Hours(168));
  EXPECT_EQ(*ParseDuration("1w"), absl::Hours(168));
  EXPECT_FALSE(ParseDuration("5").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
  EXPECT_EQ(*ParseByteSize("16MiB"), 16u << 20);
  EXPECT_EQ(*ParseByteSize("1024"), 1024u);
  EXPECT_FALSE(ParseByteSize("16MB").ok());
  EXPECT_FALSE(ParseByteSize("lots").ok());
}

}  // namespace
}  // namespace candor::daemon
