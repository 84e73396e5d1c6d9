#include "collector/nvml_sampler.h"

#include <memory>
#include <utility>

#include "collector/nvml_fake.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

FakeGpu Healthy(std::string uuid) {
  FakeGpu g;
  g.uuid = std::move(uuid);
  g.sm_clock_mhz = 1980;
  g.max_sm_clock_mhz = 1980;
  g.temperature_c = 64;
  g.power_mw = 350500;
  g.power_limit_mw = 700000;
  g.utilization = NvmlUtilization{.gpu_percent = 87, .memory_percent = 40};
  g.memory = NvmlMemory{.total_bytes = 80ULL << 30, .used_bytes = 60ULL << 30};
  g.clock_event_reasons = 0;
  g.ecc_uncorrected = 0;
  return g;
}

class NvmlSamplerTest : public ::testing::Test {
 protected:
  NvmlSamplerTest() : clock_(absl::FromUnixSeconds(1'700'000'000)) {}

  // Keeps a pointer to the fake for the test while the sampler owns it.
  NvmlSampler Make(std::vector<FakeGpu> gpus) {
    auto fake = std::make_unique<FakeNvml>(std::move(gpus));
    fake_ = fake.get();
    return NvmlSampler(clock_,
                       NvmlSamplerOptions{.node = "gpu-17", .provider = "aws", .zone = "use1-az1"},
                       std::unique_ptr<NvmlApi>(std::move(fake)));
  }

  SimulatedClock clock_;
  FakeNvml* fake_ = nullptr;
};

TEST_F(NvmlSamplerTest, SamplesEveryGpuWithConvertedUnits) {
  NvmlSampler sampler = Make({Healthy("GPU-a"), Healthy("GPU-b")});
  auto samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_THAT(*samples, SizeIs(2));
  const candor::v1::GpuSample& s = (*samples)[0];
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToSeconds(s.timestamp()), 1'700'000'000);
  EXPECT_EQ(s.node(), "gpu-17");
  EXPECT_EQ(s.gpu(), "GPU-a");
  EXPECT_EQ(s.provider(), "aws");
  EXPECT_EQ(s.zone(), "use1-az1");
  EXPECT_DOUBLE_EQ(s.sm_clock_mhz(), 1980);
  EXPECT_DOUBLE_EQ(s.max_sm_clock_mhz(), 1980);
  EXPECT_DOUBLE_EQ(s.temperature_c(), 64);
  EXPECT_DOUBLE_EQ(s.power_w(), 350.5);
  EXPECT_DOUBLE_EQ(s.power_limit_w(), 700);
  EXPECT_DOUBLE_EQ(s.utilization(), 0.87);
  EXPECT_EQ(s.memory_used_bytes(), 60ULL << 30);
  EXPECT_EQ(s.memory_total_bytes(), 80ULL << 30);
  EXPECT_TRUE(s.has_clock_event_reasons());
  EXPECT_EQ(s.clock_event_reasons(), 0u);
  EXPECT_EQ(s.xid_last(), 0u);
  EXPECT_EQ((*samples)[1].gpu(), "GPU-b");
  EXPECT_EQ(fake_->watched(), 2u);
  EXPECT_EQ(sampler.stats().samples, 2u);
  EXPECT_EQ(sampler.stats().read_errors, 0u);
  EXPECT_THAT(sampler.status_message(), HasSubstr("2 GPU(s)"));

  // Later samples follow the GPU: a thermal throttle shows in clocks and reasons.
  clock_.AdvanceTime(absl::Seconds(5));
  fake_->gpu(1).sm_clock_mhz = 1100;
  fake_->gpu(1).temperature_c = 91;
  fake_->gpu(1).clock_event_reasons = 0x20 | 0x40;
  samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok());
  EXPECT_DOUBLE_EQ((*samples)[1].sm_clock_mhz(), 1100);
  EXPECT_DOUBLE_EQ((*samples)[1].temperature_c(), 91);
  EXPECT_EQ((*samples)[1].clock_event_reasons(), 0x60u);
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToSeconds((*samples)[1].timestamp()),
            1'700'000'005);
  EXPECT_EQ(fake_->init_calls(), 1);
}

TEST_F(NvmlSamplerTest, LeavesUnsupportedReadingsUnset) {
  FakeGpu g;
  g.uuid = "GPU-min";
  g.temperature_c = 40;
  NvmlSampler sampler = Make({g});
  auto samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok());
  const candor::v1::GpuSample& s = (*samples)[0];
  EXPECT_DOUBLE_EQ(s.temperature_c(), 40);
  EXPECT_FALSE(s.has_sm_clock_mhz());
  EXPECT_FALSE(s.has_power_w());
  EXPECT_FALSE(s.has_memory_total_bytes());
  EXPECT_FALSE(s.has_ecc_uncorrected_total());
  EXPECT_EQ(sampler.stats().read_errors, 0u);  // Not supported is not an error.
}

TEST_F(NvmlSamplerTest, DropsOutOfRangeReadingsAndCountsThem) {
  FakeGpu g = Healthy("GPU-odd");
  g.sm_clock_mhz = 0xFFFFFFFFu;  // NVML's "unavailable" sentinel.
  g.temperature_c = 255;
  g.utilization = NvmlUtilization{.gpu_percent = 250};
  g.memory = NvmlMemory{.total_bytes = 10, .used_bytes = 20};
  g.power_mw = 0xFFFFFFFFu;
  NvmlSampler sampler = Make({g});
  auto samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok());
  const candor::v1::GpuSample& s = (*samples)[0];
  EXPECT_FALSE(s.has_sm_clock_mhz());
  EXPECT_FALSE(s.has_temperature_c());
  EXPECT_FALSE(s.has_utilization());
  EXPECT_FALSE(s.has_memory_used_bytes());
  EXPECT_FALSE(s.has_power_w());
  EXPECT_TRUE(s.has_max_sm_clock_mhz());
  EXPECT_EQ(sampler.stats().invalid_values, 5u);
}

TEST_F(NvmlSamplerTest, CountsFailedReadsOfALostGpu) {
  NvmlSampler sampler = Make({Healthy("GPU-a"), Healthy("GPU-b")});
  ASSERT_TRUE(sampler.RunOnce().ok());
  fake_->gpu(0).failure = absl::UnavailableError("GPU is lost");
  auto samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok());
  ASSERT_THAT(*samples, SizeIs(2));
  EXPECT_FALSE((*samples)[0].has_sm_clock_mhz());
  EXPECT_TRUE((*samples)[1].has_sm_clock_mhz());
  EXPECT_EQ(sampler.stats().read_errors, 9u);  // Every reading of the lost GPU.
}

TEST_F(NvmlSamplerTest, KeepsTheLastXidPerGpu) {
  NvmlSampler sampler = Make({Healthy("GPU-a"), Healthy("GPU-b")});
  ASSERT_TRUE(sampler.RunOnce().ok());
  fake_->QueueXid(1, 48);
  fake_->QueueXid(1, 79);
  auto samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ((*samples)[0].xid_last(), 0u);
  EXPECT_EQ((*samples)[1].xid_last(), 79u);
  samples = sampler.RunOnce();  // Still the last one seen.
  EXPECT_EQ((*samples)[1].xid_last(), 79u);
  EXPECT_EQ(sampler.stats().xid_events, 2u);
}

TEST_F(NvmlSamplerTest, ReportsNvmlUnavailableWithTheReason) {
  NvmlSampler sampler(clock_, NvmlSamplerOptions{.node = "n"},
                      absl::UnavailableError("NVML unavailable: cannot load libnvidia-ml.so.1"));
  EXPECT_FALSE(sampler.available());
  for (int i = 0; i < 3; ++i) {
    auto samples = sampler.RunOnce();
    EXPECT_EQ(samples.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(samples.status().message(), HasSubstr("libnvidia-ml.so.1"));
  }
  EXPECT_EQ(sampler.stats().runs, 0u);
}

TEST_F(NvmlSamplerTest, RetriesInitialisationOnLaterRuns) {
  NvmlSampler sampler = Make({Healthy("GPU-a")});
  fake_->set_init_status(absl::InternalError("Driver Not Loaded"));
  auto samples = sampler.RunOnce();
  EXPECT_EQ(samples.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(sampler.status_message(), HasSubstr("Driver Not Loaded"));
  fake_->set_init_status(absl::OkStatus());
  samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_THAT(*samples, SizeIs(1));
  EXPECT_EQ(sampler.stats().init_failures, 1u);
  EXPECT_EQ(fake_->init_calls(), 2);
}

TEST_F(NvmlSamplerTest, SkipsGpusWithoutAUsableUuid) {
  FakeGpu bad = Healthy("");
  NvmlSampler sampler = Make({bad, Healthy("GPU-ok")});
  auto samples = sampler.RunOnce();
  ASSERT_TRUE(samples.ok());
  ASSERT_THAT(*samples, SizeIs(1));
  EXPECT_EQ((*samples)[0].gpu(), "GPU-ok");
  EXPECT_EQ(sampler.stats().invalid_values, 1u);
}

}  // namespace
}  // namespace candor::collector
