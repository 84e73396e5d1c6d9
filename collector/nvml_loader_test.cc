#include "collector/nvml_loader.h"

#include <dlfcn.h>

#include "collector/nvml_sampler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

TEST(NvmlLoaderTest, MissingLibraryIsReportedAsUnavailable) {
  auto api = LoadNvml("libcandor-no-such-nvml.so.1");
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(api.status().message(), HasSubstr("NVML unavailable"));
  EXPECT_THAT(api.status().message(), HasSubstr("libcandor-no-such-nvml.so.1"));
}

TEST(NvmlLoaderTest, TheSystemLibraryLoadsOrSaysWhyNot) {
  // On machines without an NVIDIA driver (CI), the sampler must say NVML is unavailable.
  SimulatedClock clock;
  NvmlSampler sampler(clock, NvmlSamplerOptions{.node = "n"}, LoadNvml());
  if (void* lib = dlopen(kNvmlLibrary, RTLD_NOW | RTLD_LOCAL); lib == nullptr) {
    EXPECT_FALSE(sampler.available());
    EXPECT_THAT(sampler.status_message(), HasSubstr("NVML unavailable"));
    EXPECT_EQ(sampler.RunOnce().status().code(), absl::StatusCode::kUnavailable);
  } else {
    dlclose(lib);
    EXPECT_TRUE(sampler.available());
    (void)sampler.RunOnce();  // Works or fails cleanly, depending on the GPUs present.
  }
}

TEST(NvmlLoaderTest, RefusesALibraryWithoutARequiredSymbol) {
  auto api = LoadNvml(CANDOR_FAKE_NVML_NO_UUID);
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(api.status().message(), HasSubstr("nvmlDeviceGetUUID"));
}

TEST(NvmlLoaderTest, SamplesThroughACurrentDriverLibrary) {
  auto api = LoadNvml(CANDOR_FAKE_NVML_CURRENT);
  ASSERT_TRUE(api.ok()) << api.status();
  SimulatedClock clock;
  NvmlSampler sampler(clock, NvmlSamplerOptions{.node = "gpu-17"}, std::move(api));
  auto samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_THAT(*samples, SizeIs(2));
  const candor::v1::GpuSample& a = (*samples)[0];
  EXPECT_EQ(a.gpu(), "GPU-11111111-2222-3333-4444-555555555555");
  EXPECT_DOUBLE_EQ(a.sm_clock_mhz(), 1980);
  // Versioned queries got the right struct version words, or these would be absent.
  EXPECT_DOUBLE_EQ(a.temperature_c(), 65);
  EXPECT_EQ(a.memory_total_bytes(), 80ULL << 30);
  EXPECT_EQ(a.memory_used_bytes(), 60ULL << 30);
  EXPECT_DOUBLE_EQ(a.power_w(), 350);
  EXPECT_DOUBLE_EQ(a.power_limit_w(), 700);
  EXPECT_DOUBLE_EQ(a.utilization(), 0.87);
  EXPECT_EQ(a.clock_event_reasons(), 0x1u);
  EXPECT_EQ(a.ecc_uncorrected_total(), 0u);
  const candor::v1::GpuSample& b = (*samples)[1];
  EXPECT_FALSE(b.has_max_sm_clock_mhz());  // 0xFFFFFFFF sentinel.
  EXPECT_EQ(b.clock_event_reasons(), 0x60u);
  EXPECT_EQ(b.ecc_uncorrected_total(), 2u);
  EXPECT_EQ(b.xid_last(), 79u);
  EXPECT_EQ(sampler.stats().read_errors, 0u);
  EXPECT_EQ(sampler.stats().invalid_values, 1u);
}

TEST(NvmlLoaderTest, FallsBackToDeprecatedQueriesOnAnOlderDriver) {
  auto api = LoadNvml(CANDOR_FAKE_NVML_OLD_DRIVER);
  ASSERT_TRUE(api.ok()) << api.status();
  SimulatedClock clock;
  NvmlSampler sampler(clock, NvmlSamplerOptions{.node = "gpu-17"}, std::move(api));
  auto samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_THAT(*samples, SizeIs(2));
  EXPECT_DOUBLE_EQ((*samples)[1].temperature_c(), 88);
  EXPECT_EQ((*samples)[1].memory_used_bytes(), 79ULL << 30);
  EXPECT_EQ((*samples)[1].clock_event_reasons(), 0x60u);
  EXPECT_DOUBLE_EQ((*samples)[1].power_limit_w(), 700);
  EXPECT_EQ((*samples)[1].xid_last(), 0u);  // No event API: no XIDs, no errors.
  EXPECT_EQ(sampler.stats().read_errors, 0u);
}

}  // namespace
}  // namespace candor::collector
