#include "collector/engine_profiles.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "collector/jsonl.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace candor::collector {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Maps a fixture page and renders the items as JSONL.
std::string MapFixtureToJsonl(const std::string& fixture, Engine engine) {
  auto samples = ParsePromText(ReadFile(testing::SharedPath("fixtures/" + fixture)));
  EXPECT_TRUE(samples.ok()) << samples.status();
  if (!samples.ok()) return "";
  EXPECT_EQ(DetectEngine(*samples), engine) << fixture;
  ScrapeContext ctx;
  ctx.engine = engine;
  ctx.time = absl::FromUnixSeconds(1'798'761'600);  // 2027-01-01T00:00:00Z
  ctx.provider = "aws";
  ctx.node = "gpu-node-17";
  ctx.replica = "replica-1";
  CounterTracker counters;
  counters.BeginScrape();
  MappedPage page = MapPage(ctx, *samples, &counters);
  std::string out;
  for (const auto& r : page.replicas) {
    candor::v1::IngestItem item;
    *item.mutable_replica_sample() = r;
    out += IngestItemToJson(item) + "\n";
  }
  for (const auto& g : page.gpus) {
    candor::v1::IngestItem item;
    *item.mutable_gpu_sample() = g;
    out += IngestItemToJson(item) + "\n";
  }
  return out;
}

struct GoldenCase {
  const char* fixture;
  Engine engine;
  const char* golden;
};

class EngineGoldenTest : public ::testing::TestWithParam<GoldenCase> {};

// Each fixture maps to exactly the samples in its golden file. With CANDOR_UPDATE_GOLDEN=1
// the golden file is rewritten instead (review the diff).
TEST_P(EngineGoldenTest, FixtureMapsToGoldenSamples) {
  const GoldenCase& c = GetParam();
  const std::string actual = MapFixtureToJsonl(c.fixture, c.engine);
  const std::string path = testing::SourcePath(std::string("collector/testdata/") + c.golden);
  if (std::getenv("CANDOR_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  EXPECT_EQ(actual, ReadFile(path)) << "golden file " << path;
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, EngineGoldenTest,
    ::testing::Values(GoldenCase{"vllm_metrics.txt", Engine::kVllm, "vllm.golden.jsonl"},
                      GoldenCase{"sglang_metrics.txt", Engine::kSglang, "sglang.golden.jsonl"},
                      GoldenCase{"tgi_metrics.txt", Engine::kTgi, "tgi.golden.jsonl"},
                      GoldenCase{"triton_metrics.txt", Engine::kTriton, "triton.golden.jsonl"},
                      GoldenCase{"dcgm_exporter_metrics.txt", Engine::kDcgm, "dcgm.golden.jsonl"}),
    [](const auto& p) { return std::string(EngineName(p.param.engine)); });

ScrapeContext Ctx(Engine engine) {
  ScrapeContext ctx;
  ctx.engine = engine;
  ctx.time = absl::FromUnixSeconds(1'798'761'600);
  ctx.replica = "r";
  return ctx;
}

TEST(EngineProfilesTest, RenamedMetricsAreFoundThroughAliases) {
  auto old_names = ParsePromText(
      "vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.25\n"
      "vllm:num_requests_waiting{model_name=\"m\"} 3\n");
  ASSERT_TRUE(old_names.ok());
  MappedPage page = MapPage(Ctx(Engine::kVllm), *old_names, nullptr);
  ASSERT_EQ(page.replicas.size(), 1u);
  EXPECT_DOUBLE_EQ(page.replicas[0].kv_cache_usage(), 0.25);
  EXPECT_EQ(page.replicas[0].queue_depth(), 3);
  EXPECT_EQ(page.replicas[0].model(), "m");
  EXPECT_FALSE(page.replicas[0].has_running_requests());
}

TEST(EngineProfilesTest, DataParallelEnginesAreSummed) {
  auto samples = ParsePromText(
      "vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 3\n"
      "vllm:num_requests_running{engine=\"1\",model_name=\"m\"} 4\n"
      "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.2\n"
      "vllm:kv_cache_usage_perc{engine=\"1\",model_name=\"m\"} 0.4\n");
  ASSERT_TRUE(samples.ok());
  MappedPage page = MapPage(Ctx(Engine::kVllm), *samples, nullptr);
  EXPECT_EQ(page.replicas[0].running_requests(), 7);
  EXPECT_NEAR(page.replicas[0].kv_cache_usage(), 0.3, 1e-12);
}

TEST(EngineProfilesTest, CounterResetsKeepMappedCountersMonotonic) {
  CounterTracker counters;
  auto scrape = [&](const std::string& text) {
    auto samples = ParsePromText(text);
    EXPECT_TRUE(samples.ok());
    counters.BeginScrape();
    MappedPage page = MapPage(Ctx(Engine::kVllm), *samples, &counters);
    counters.EndScrape();
    return page.replicas.at(0).requests_finished_total();
  };
  auto page = [](int stop, int length, double created) {
    return "vllm:request_success_total{finished_reason=\"stop\"} " + std::to_string(stop) +
           "\nvllm:request_success_created{finished_reason=\"stop\"} " + std::to_string(created) +
           "\nvllm:request_success_total{finished_reason=\"length\"} " + std::to_string(length) +
           "\n";
  };
  EXPECT_EQ(scrape(page(100, 10, 1000)), 110);
  EXPECT_EQ(scrape(page(150, 12, 1000)), 162);
  // The engine restarted: both counters went back near zero.
  EXPECT_EQ(scrape(page(5, 1, 2000)), 168);
  // Restarted again and already past the old value: the new `_created` reveals it.
  EXPECT_EQ(scrape(page(300, 2, 3000)), 168 + 300 + 1);
  EXPECT_EQ(counters.resets(), 3u);
}

TEST(EngineProfilesTest, UnknownEngineNamesAreRefused) {
  EXPECT_TRUE(ParseEngine("trtllm").ok());
  EXPECT_FALSE(ParseEngine("llama.cpp").ok());
  EXPECT_FALSE(DetectEngine({}).has_value());
}

}  // namespace
}  // namespace candor::collector
