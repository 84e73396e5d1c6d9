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

namespace candor::daemon {
namespace {

TEST(ConfigListTest, ScrapeProbeAndTokenListsLoad) {
  testing::TempDir dir;
  const std::string token_file = dir.path() + "/t";
  std::ofstream(token_file) << "  from-a-file-0123456789 \n";
  auto config = LoadConfigFromString(
      "auth:\n"
      "  tokens:\n"
      "    - client: a\n"
      "      token_file: " +
          token_file +
          "\n"
          "    - {client: b, token: inline-0123456789abc}\n"
          "scrape:\n"
          "  targets:\n"
          "    - url: http://10.0.0.7:8000/metrics\n"
          "      engine: vllm\n"
          "      interval: 5s\n"
          "probe:\n"
          "  targets:\n"
          "    - url: http://10.0.0.7:8000\n"
          "      model: llama\n"
          "      expect_regex: ok\n",
      {});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->auth_tokens.size(), 2u);
  EXPECT_EQ(config->auth_tokens[0].token, "from-a-file-0123456789");
  EXPECT_EQ(config->auth_tokens[1].client, "b");
  ASSERT_EQ(config->scrape.targets.size(), 1u);
  EXPECT_EQ(config->scrape.targets[0].interval, absl::Seconds(5));
  ASSERT_EQ(config->probes.size(), 1u);
  EXPECT_EQ(config->probes[0].model, "llama");
}

TEST(ConfigListTest, ErrorsNameTheListTheKeyAndTheLine) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"scrape:\n  targets:\n    - url: http://x:1/m\n      colour: blue\n",
            "line 4: unknown key \"colour\" in an item of \"scrape.targets\""},
           {"scrape:\n  targets:\n    - url: http://x:1/m\n      interval: soon\n",
            "line 4: \"scrape.targets\" item key \"interval\""},
           {"scrape:\n  targets:\n    - engine: vllm\n", "lacks \"url\""},
           {"scrape:\n  targets:\n    - url: http://x:1/m\n      engine: llama.cpp\n",
            "unknown engine"},
           {"scrape:\n  targets: http://x\n", "takes a list of mappings"},
           {"probe:\n  targets:\n    - url: http://x\n", "lacks \"model\""},
           {"auth:\n  tokens:\n    - client: a\n      token: short\n", "at least 16 bytes"},
           {"auth:\n  tokens:\n    - client: a\n      token_file: /nonexistent/t\n",
            "cannot read /nonexistent/t"},
           {"grpc:\n  low_watermark: 0.9\n", "0 < low ≤ normal ≤ 1"},
           {"grpc:\n  tls:\n    cert_file: /x.pem\n", "must be set together"},
       }) {
    auto config = LoadConfigFromString(c.yaml, {});
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_THAT(config.status().message(), ::testing::HasSubstr(c.error)) << c.yaml;
  }
  EXPECT_FALSE(LoadConfigFromString("", {{"--scrape.targets", "x"}}).ok());
}

}  // namespace
}  // namespace candor::daemon
