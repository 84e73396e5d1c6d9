// libcandor_cupti.so injected into a real CUDA program on a GPU (ctest label `gpu`): the
// kernels the library decodes must match the kernels the program launched, nothing may be
// dropped, request tags must come through, and summaries must reach candor over gRPC.
// Skipped where there is no usable GPU, and in sanitizer builds (the injected library would
// need the sanitizer runtime inside the CUDA program).

#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/clock.h"
#include "cuda-profiler/gpu/workload_runner.h"
#include "cuda-profiler/testing/fake_ingest_server.h"
#include "gtest/gtest.h"

namespace candor::cuda_profiler::gpu {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

class CuptiGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kSanitized) GTEST_SKIP() << "needs a build without sanitizers";
    auto probe = RunProcess(CANDOR_CUDA_WORKLOAD, {"--mix", "short", "--scale", "1"}, {}, clock_);
    ASSERT_TRUE(probe.ok()) << probe.status();
    if (probe->exit_code == kNoDevice) GTEST_SKIP() << "no GPU: " << probe->err;
    ASSERT_EQ(probe->exit_code, 0) << probe->err;
  }

  std::string Dump(const char* name) {
    const std::string path = ::testing::TempDir() + "/" + name + "." + std::to_string(getpid());
    std::remove(path.c_str());
    return path;
  }

  RealClock clock_;
};

TEST_F(CuptiGpuTest, DecodedKernelsMatchLaunchesWithNoDrops) {
  const std::string dump = Dump("all.jsonl");
  auto run = RunProcess(CANDOR_CUDA_WORKLOAD, {"--mix", "all", "--scale", "1", "--tag"},
                        {{"CUDA_INJECTION64_PATH", CANDOR_CUPTI_LIBRARY},
                         {"CANDOR_CUPTI_ENDPOINT", "none"},
                         {"CANDOR_CUPTI_DUMP", dump}},
                        clock_);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0) << run->err;
  auto report = ParseWorkloadReport(run->out);
  ASSERT_TRUE(report.ok()) << report.status();
  auto totals = ReadDump(dump);
  ASSERT_TRUE(totals.ok()) << totals.status() << "\n" << run->err;
  EXPECT_EQ(totals->dropped, 0);
  EXPECT_EQ(totals->kernels, report->kernels_total);
  for (const auto& [name, launched] : report->launches) {
    EXPECT_EQ(totals->kernels_by_name[name], launched) << name;
  }
  EXPECT_GT(totals->busy_ms, 0);
  // Every tagged inference step shows up as a request id.
  ASSERT_GT(report->tagged_steps, 0);
  int64_t steps = 0;
  for (const auto& id : totals->request_ids) steps += id.rfind("step-", 0) == 0 ? 1 : 0;
  EXPECT_EQ(steps, report->tagged_steps);
}

TEST_F(CuptiGpuTest, GraphTraceCountsGraphLaunches) {
  const std::string dump = Dump("graphs.jsonl");
  auto run = RunProcess(CANDOR_CUDA_WORKLOAD, {"--mix", "graphs", "--scale", "1"},
                        {{"CUDA_INJECTION64_PATH", CANDOR_CUPTI_LIBRARY},
                         {"CANDOR_CUPTI_ENDPOINT", "none"},
                         {"CANDOR_CUPTI_GRAPH_TRACE", "1"},
                         {"CANDOR_CUPTI_DUMP", dump}},
                        clock_);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0) << run->err;
  auto report = ParseWorkloadReport(run->out);
  auto totals = ReadDump(dump);
  ASSERT_TRUE(report.ok() && totals.ok());
  EXPECT_EQ(totals->graph_launches, report->graph_launches);
  EXPECT_EQ(totals->dropped, 0);
}

TEST_F(CuptiGpuTest, ShipsSummariesToCandor) {
  auto candor = testing::FakeIngestServer::Start();
  ASSERT_TRUE(candor.ok()) << candor.status();
  auto run = RunProcess(CANDOR_CUDA_WORKLOAD, {"--mix", "inference", "--scale", "1"},
                        {{"CUDA_INJECTION64_PATH", CANDOR_CUPTI_LIBRARY},
                         {"CANDOR_CUPTI_ENDPOINT", (*candor)->target()},
                         {"CANDOR_CUPTI_NODE", "gpu-test"}},
                        clock_);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0) << run->err;
  auto report = ParseWorkloadReport(run->out);
  ASSERT_TRUE(report.ok());
  int64_t kernels = 0;
  for (const auto& s : (*candor)->accepted_summaries()) {
    EXPECT_EQ(s.node(), "gpu-test");
    EXPECT_EQ(s.gpu().rfind("GPU-", 0), 0u) << s.gpu();  // The uuid from the DEVICE record.
    kernels += static_cast<int64_t>(s.kernel_count());
  }
  EXPECT_EQ(kernels, report->kernels_total);
}

}  // namespace
}  // namespace candor::cuda_profiler::gpu
