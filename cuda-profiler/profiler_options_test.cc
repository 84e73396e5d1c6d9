#include "cuda-profiler/profiler_options.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<ProfilerOptions> From(const std::map<std::string, std::string>& env) {
  return ProfilerOptionsFromEnv([&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(ProfilerOptionsTest, DefaultsWithAnEmptyEnvironment) {
  const auto o = From({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->disabled);
  EXPECT_EQ(o->endpoint, "127.0.0.1:4770");
  EXPECT_EQ(o->aggregator.interval, absl::Seconds(10));
  EXPECT_EQ(o->flush_period, absl::Seconds(1));
  EXPECT_EQ(o->pipeline.buffer_bytes, size_t{4} << 20);
  EXPECT_EQ(o->pipeline.memory_cap_bytes, size_t{64} << 20);
  EXPECT_FALSE(o->graph_trace);
}

TEST(ProfilerOptionsTest, ReadsEverySetting) {
  const auto o = From({{"CANDOR_CUPTI_ENDPOINT", "candor.local:4770"},
                       {"CANDOR_CUPTI_NODE", "gpu-17"},
                       {"CANDOR_CUPTI_PROVIDER", "aws"},
                       {"CANDOR_CUPTI_REPLICA", "r3"},
                       {"CANDOR_CUPTI_MODEL", "llama"},
                       {"CANDOR_CUPTI_INTERVAL_S", "30"},
                       {"CANDOR_CUPTI_FLUSH_MS", "250"},
                       {"CANDOR_CUPTI_LATENESS_S", "5"},
                       {"CANDOR_CUPTI_BUFFER_KB", "1024"},
                       {"CANDOR_CUPTI_MEMORY_CAP_MB", "16"},
                       {"CANDOR_CUPTI_QUEUE", "10"},
                       {"CANDOR_CUPTI_GRAPH_TRACE", "1"},
                       {"CANDOR_CUPTI_DUMP", "/tmp/x.jsonl"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->endpoint, "candor.local:4770");
  EXPECT_EQ(o->node, "gpu-17");
  EXPECT_EQ(o->provider, "aws");
  EXPECT_EQ(o->replica, "r3");
  EXPECT_EQ(o->model, "llama");
  EXPECT_EQ(o->aggregator.interval, absl::Seconds(30));
  EXPECT_EQ(o->aggregator.allowed_lateness, absl::Seconds(5));
  EXPECT_EQ(o->flush_period, absl::Milliseconds(250));
  EXPECT_EQ(o->pipeline.buffer_bytes, size_t{1} << 20);
  EXPECT_EQ(o->pipeline.memory_cap_bytes, size_t{16} << 20);
  EXPECT_EQ(o->shipper.queue_capacity, 10u);
  EXPECT_TRUE(o->graph_trace);
  EXPECT_EQ(o->dump_path, "/tmp/x.jsonl");
  EXPECT_TRUE(From({{"CANDOR_CUPTI_ENDPOINT", "none"}})->endpoint.empty());
  EXPECT_TRUE(From({{"CANDOR_CUPTI_DISABLE", "1"}})->disabled);
}

TEST(ProfilerOptionsTest, RefusesBadValuesNamingTheVariable) {
  const std::pair<const char*, const char*> bad[] = {
      {"CANDOR_CUPTI_INTERVAL_S", "0"},      {"CANDOR_CUPTI_INTERVAL_S", "ten"},
      {"CANDOR_CUPTI_FLUSH_MS", "5"},        {"CANDOR_CUPTI_BUFFER_KB", "1"},
      {"CANDOR_CUPTI_MEMORY_CAP_MB", "0"},   {"CANDOR_CUPTI_QUEUE", "-1"},
      {"CANDOR_CUPTI_GRAPH_TRACE", "maybe"}, {"CANDOR_CUPTI_ENDPOINT", "a b"},
      {"CANDOR_CUPTI_NODE", "bad\n"},        {"CANDOR_CUPTI_BUFFER_KB", "99999999999999999999"},
  };
  for (const auto& [name, value] : bad) {
    const auto o = From({{name, value}});
    ASSERT_FALSE(o.ok()) << name << "=" << value;
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(o.status().message(), HasSubstr(name));
  }
  const auto small_cap =
      From({{"CANDOR_CUPTI_BUFFER_KB", "8192"}, {"CANDOR_CUPTI_MEMORY_CAP_MB", "4"}});
  ASSERT_FALSE(small_cap.ok());
  EXPECT_THAT(small_cap.status().message(), HasSubstr("CANDOR_CUPTI_MEMORY_CAP_MB"));
}

}  // namespace
}  // namespace candor::cuda_profiler
