// libcandor_cupti.so loaded with dlopen and driven as the CUDA driver and CUPTI would drive it,
// with a stand-in libcupti (testing/mock_cupti.h) and candor played by a fake Ingest server in
// a child process. Checks the whole path: InitializeInjection → subscription and kinds →
// request tagging → buffers filled and flushed → decoding and aggregation → gRPC → candor, and
// every way the library must stay passive instead of failing its host.

#include <cupti.h>
#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/clock.h"
#include "cuda-profiler/candor_cupti.h"
#include "cuda-profiler/testing/mock_cupti.h"
#include "cuda-profiler/testing/synthetic_records.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace candor::cuda_profiler {
namespace {

using ::testing::HasSubstr;

// The library's C interface, resolved from the dlopen handle.
struct Api {
  int (*initialize)();
  int (*status)();
  size_t (*message)(char*, size_t);
  int (*push_request)(const char*);
  int (*push_external_id)(uint64_t);
  int (*pop)();
  int (*flush)();
  int (*shutdown)();
  int (*get_stats)(candor_cupti_stats*);

  std::string Message() const {
    char buf[512];
    message(buf, sizeof(buf));
    return buf;
  }
};

template <typename F>
void Resolve(void* handle, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(handle, name));
  ASSERT_NE(*out, nullptr) << name;
}

// The fake candor in a child process.
class Candor {
 public:
  explicit Candor(int fail_first) {
    int in[2];
    int out[2];
    EXPECT_EQ(pipe(in), 0);
    EXPECT_EQ(pipe(out), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const std::string fail = std::to_string(fail_first);
    char* argv[] = {const_cast<char*>(CANDOR_FAKE_INGEST), const_cast<char*>("--fail-first"),
                    const_cast<char*>(fail.c_str()), nullptr};
    EXPECT_EQ(posix_spawn(&pid_, CANDOR_FAKE_INGEST, &actions, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    to_child_ = in[1];
    from_child_ = fdopen(out[0], "r");
    const std::string first = ReadLine();
    EXPECT_EQ(first.rfind("PORT ", 0), 0u) << first;
    port_ = std::atoi(first.c_str() + 5);
  }
  ~Candor() {
    if (to_child_ >= 0) close(to_child_);
    if (from_child_ != nullptr) fclose(from_child_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }

  int port() const { return port_; }

  // Ends the child and returns the summaries it accepted, as JSON.
  std::vector<nlohmann::json> Finish() {
    close(to_child_);
    to_child_ = -1;
    std::vector<nlohmann::json> out;
    for (std::string line = ReadLine(); !line.empty() && line != "END"; line = ReadLine()) {
      out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }

 private:
  std::string ReadLine() {
    char* line = nullptr;
    size_t cap = 0;
    const ssize_t n = getline(&line, &cap, from_child_);
    std::string s = n > 0 ? std::string(line, static_cast<size_t>(n)) : std::string();
    free(line);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  pid_t pid_ = -1;
  int port_ = 0;
  int to_child_ = -1;
  FILE* from_child_ = nullptr;
};

class CuptiInjectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    handle_ = dlopen(CANDOR_CUPTI_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    Resolve(handle_, "InitializeInjection", &api_.initialize);
    Resolve(handle_, "candor_cupti_status", &api_.status);
    Resolve(handle_, "candor_cupti_status_message", &api_.message);
    Resolve(handle_, "candor_cupti_push_request", &api_.push_request);
    Resolve(handle_, "candor_cupti_push_external_id", &api_.push_external_id);
    Resolve(handle_, "candor_cupti_pop", &api_.pop);
    Resolve(handle_, "candor_cupti_flush", &api_.flush);
    Resolve(handle_, "candor_cupti_shutdown", &api_.shutdown);
    Resolve(handle_, "candor_cupti_get_stats", &api_.get_stats);
  }

  void SetUp() override {
    candor_mock_cupti_reset();
    for (const char* v : {"CANDOR_CUPTI_ENDPOINT", "CANDOR_CUPTI_NODE", "CANDOR_CUPTI_INTERVAL_S",
                          "CANDOR_CUPTI_FLUSH_MS", "CANDOR_CUPTI_LATENESS_S", "CANDOR_CUPTI_DUMP",
                          "CANDOR_CUPTI_BUFFER_KB", "CANDOR_CUPTI_MEMORY_CAP_MB",
                          "CANDOR_CUPTI_DISABLE", "CANDOR_CUPTI_MODEL"}) {
      unsetenv(v);
    }
    setenv("CANDOR_CUPTI_ENDPOINT", "none", 1);
    setenv("CANDOR_CUPTI_FLUSH_MS", "60000", 1);  // Flushes come from the test.
  }
  void TearDown() override { api_.shutdown(); }

  static void* handle_;
  static Api api_;
};

void* CuptiInjectionTest::handle_ = nullptr;
Api CuptiInjectionTest::api_ = {};

TEST_F(CuptiInjectionTest, TracesTagsAggregatesAndShipsToCandor) {
  Candor candor(/*fail_first=*/1);
  const std::string dump = ::testing::TempDir() + "/cupti_dump.jsonl";
  std::remove(dump.c_str());
  setenv("CANDOR_CUPTI_ENDPOINT", ("127.0.0.1:" + std::to_string(candor.port())).c_str(), 1);
  setenv("CANDOR_CUPTI_NODE", "gpu-test", 1);
  setenv("CANDOR_CUPTI_MODEL", "llama-3-70b", 1);
  setenv("CANDOR_CUPTI_LATENESS_S", "0", 1);
  setenv("CANDOR_CUPTI_BUFFER_KB", "64", 1);
  setenv("CANDOR_CUPTI_MEMORY_CAP_MB", "1", 1);
  setenv("CANDOR_CUPTI_DUMP", dump.c_str(), 1);

  ASSERT_EQ(api_.initialize(), 1);
  ASSERT_EQ(api_.status(), CANDOR_CUPTI_ACTIVE) << api_.Message();
  EXPECT_EQ(candor_mock_cupti_subscribed(), 1);
  for (int kind : {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY,
                   CUPTI_ACTIVITY_KIND_MEMSET, CUPTI_ACTIVITY_KIND_MEMORY2,
                   CUPTI_ACTIVITY_KIND_SYNCHRONIZATION, CUPTI_ACTIVITY_KIND_OVERHEAD,
                   CUPTI_ACTIVITY_KIND_DEVICE, CUPTI_ACTIVITY_KIND_CONTEXT,
                   CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION}) {
    EXPECT_EQ(candor_mock_cupti_enabled(kind), 1) << kind;
  }
  EXPECT_EQ(candor_mock_cupti_enabled(CUPTI_ACTIVITY_KIND_KERNEL), 0);  // Serialises kernels.

  // The server tags a request around its launches.
  ASSERT_EQ(api_.push_request("req-42"), CANDOR_CUPTI_OK);
  ASSERT_EQ(candor_mock_cupti_external_depth(), 1u);
  const uint64_t external_id = candor_mock_cupti_external_top();
  ASSERT_EQ(api_.push_external_id(7), CANDOR_CUPTI_OK);
  EXPECT_EQ(candor_mock_cupti_external_top(), 7u);
  EXPECT_EQ(api_.pop(), CANDOR_CUPTI_OK);
  EXPECT_EQ(api_.pop(), CANDOR_CUPTI_OK);
  EXPECT_EQ(candor_mock_cupti_external_depth(), 0u);
  EXPECT_EQ(api_.push_request(""), CANDOR_CUPTI_ERR_INVALID);
  EXPECT_EQ(api_.push_request(nullptr), CANDOR_CUPTI_ERR_INVALID);

  // What the GPU did 30 s ago, as CUPTI would deliver it.
  RealClock clock;
  const auto t0 = static_cast<uint64_t>(absl::ToUnixNanos(clock.Now() - absl::Seconds(30)));
  testing::SyntheticActivityBuffer records;
  records.Device(0, {0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, "H100");
  records.ExternalCorrelation(external_id, 500);
  for (uint32_t i = 0; i < 50; ++i) {
    records.Kernel(t0 + i * 1000000, t0 + i * 1000000 + 200000, 0, 500 + i, "decode_attn");
  }
  records.Memcpy(t0, t0 + 100000, 1 << 20, 0, 600, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD);
  ASSERT_EQ(candor_mock_cupti_fill(records.data(), records.size()), 0);
  // The cap is 1 MiB = 16 buffers of 64 KiB; one is taken, 15 more fit, then refusals.
  int refused = 0;
  testing::SyntheticActivityBuffer one;
  one.Kernel(t0, t0 + 1000, 0, 1, "small");
  for (int i = 0; i < 20; ++i) refused += candor_mock_cupti_fill(one.data(), one.size()) != 0;
  EXPECT_EQ(refused, 5);
  candor_mock_cupti_add_dropped(7);

  ASSERT_EQ(api_.flush(), CANDOR_CUPTI_OK);
  EXPECT_EQ(api_.shutdown(), CANDOR_CUPTI_OK);
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_NOT_STARTED);
  EXPECT_EQ(candor_mock_cupti_subscribed(), 0);
  EXPECT_EQ(candor_mock_cupti_enabled(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), 0);
  EXPECT_EQ(candor_mock_cupti_forced_flush_calls(), 1);

  candor_cupti_stats stats{};
  stats.struct_size = sizeof(stats);
  ASSERT_EQ(api_.get_stats(&stats), CANDOR_CUPTI_OK);
  EXPECT_EQ(stats.kernels, 65u);
  EXPECT_EQ(stats.buffers_refused, 5u);
  EXPECT_EQ(stats.dropped_by_cupti, 7u);
  EXPECT_EQ(stats.records_lost, 7u);
  EXPECT_LE(stats.peak_buffer_bytes, 1u << 20);
  EXPECT_GE(stats.summaries_sent, 1u);
  EXPECT_EQ(stats.summaries_dropped, 0u);

  uint64_t kernels = 0;
  uint64_t dropped = 0;
  bool tagged = false;
  const std::vector<nlohmann::json> got = candor.Finish();
  ASSERT_FALSE(got.empty());
  for (const auto& s : got) {
    EXPECT_EQ(s["node"], "gpu-test");
    EXPECT_EQ(s["gpu"], "GPU-deadbeef-0001-0203-0405-060708090a0b");
    EXPECT_EQ(s["model"], "llama-3-70b");
    EXPECT_EQ(s["pid"], getpid());
    kernels += std::stoull(s.value("kernel_count", std::string("0")));
    dropped += std::stoull(s.value("dropped_records", std::string("0")));
    if (s.contains("request_ids")) {
      tagged |= s["request_ids"] == nlohmann::json::array({"req-42"});
    }
  }
  EXPECT_EQ(kernels, 65u);
  EXPECT_EQ(dropped, 7u);
  EXPECT_TRUE(tagged);

  // The dump holds the same summaries.
  std::ifstream in(dump);
  size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, got.size());
}

TEST_F(CuptiInjectionTest, StaysPassiveWhenAnotherProfilerHoldsCupti) {
  candor_mock_cupti_set_subscribe_result(CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED,
                                         "Nsight Systems");
  EXPECT_EQ(api_.initialize(), 1);
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_PASSIVE);
  EXPECT_THAT(api_.Message(), HasSubstr("Nsight Systems"));
  EXPECT_EQ(candor_mock_cupti_enabled(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), 0);
  EXPECT_EQ(api_.push_request("r"), CANDOR_CUPTI_ERR_NOT_ACTIVE);
  EXPECT_EQ(api_.pop(), CANDOR_CUPTI_ERR_NOT_ACTIVE);
  EXPECT_EQ(api_.flush(), CANDOR_CUPTI_ERR_NOT_ACTIVE);
  EXPECT_EQ(candor_mock_cupti_flush_calls(), 0);
}

TEST_F(CuptiInjectionTest, RefusesAnOlderCupti) {
  candor_mock_cupti_set_version(28);  // CUDA 12.9 numbering.
  EXPECT_EQ(api_.initialize(), 1);
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_VERSION_MISMATCH);
  EXPECT_THAT(api_.Message(), HasSubstr("predates CUDA 13.0"));
  EXPECT_EQ(candor_mock_cupti_subscribed(), 0);
}

TEST_F(CuptiInjectionTest, ReportsBadSettings) {
  setenv("CANDOR_CUPTI_INTERVAL_S", "0", 1);
  EXPECT_EQ(api_.initialize(), 1);
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_BAD_CONFIG);
  EXPECT_THAT(api_.Message(), HasSubstr("CANDOR_CUPTI_INTERVAL_S"));
  EXPECT_EQ(candor_mock_cupti_subscribed(), 0);
}

TEST_F(CuptiInjectionTest, CanBeDisabled) {
  setenv("CANDOR_CUPTI_DISABLE", "1", 1);
  EXPECT_EQ(api_.initialize(), 1);
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_DISABLED);
  EXPECT_EQ(candor_mock_cupti_subscribed(), 0);
}

TEST_F(CuptiInjectionTest, ReleasesCuptiWhenKernelTracingIsRefused) {
  candor_mock_cupti_set_enable_result(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ERROR_UNKNOWN);
  EXPECT_EQ(api_.initialize(), 1);
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_UNAVAILABLE);
  EXPECT_THAT(api_.Message(), HasSubstr("CONCURRENT_KERNEL"));
  EXPECT_EQ(candor_mock_cupti_subscribed(), 0);
  EXPECT_EQ(candor_mock_cupti_enabled(CUPTI_ACTIVITY_KIND_DEVICE), 0);
}

TEST_F(CuptiInjectionTest, RunsWithoutAnOptionalKind) {
  candor_mock_cupti_set_enable_result(CUPTI_ACTIVITY_KIND_MEMORY2, CUPTI_ERROR_NOT_COMPATIBLE);
  EXPECT_EQ(api_.initialize(), 1);
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_ACTIVE);
  EXPECT_THAT(api_.Message(), HasSubstr("some activity kinds unavailable"));
  EXPECT_EQ(candor_mock_cupti_enabled(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), 1);
}

TEST_F(CuptiInjectionTest, RestartsAfterShutdownAndIgnoresASecondStart) {
  EXPECT_EQ(api_.initialize(), 1);
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_ACTIVE);
  EXPECT_EQ(api_.initialize(), 1);  // The driver may call it once per context; one session.
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_ACTIVE);
  EXPECT_EQ(api_.shutdown(), CANDOR_CUPTI_OK);
  EXPECT_EQ(api_.shutdown(), CANDOR_CUPTI_OK);
  EXPECT_EQ(api_.initialize(), 1);
  EXPECT_EQ(api_.status(), CANDOR_CUPTI_ACTIVE);
}

}  // namespace
}  // namespace candor::cuda_profiler
