#include "cuda-profiler/aggregator.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kMs = 1'000'000;
// 2023-11-14T22:13:20Z, on a 10 s boundary.
constexpr uint64_t kT0 = 1'700'000'000 * kSec;

absl::Time At(uint64_t ns) { return absl::FromUnixNanos(static_cast<int64_t>(ns)); }

ProcessIdentity Identity() {
  return ProcessIdentity{.node = "gpu-17",
                         .pid = 4242,
                         .process_name = "vllm-worker",
                         .provider = "aws",
                         .replica = "llama70b-3",
                         .model = "llama-3-70b"};
}

KernelActivity Kernel(uint64_t start, uint64_t end, std::string_view name, uint32_t device = 0,
                      uint32_t correlation = 0) {
  KernelActivity k;
  k.start_ns = start;
  k.end_ns = end;
  k.name = name;
  k.device_id = device;
  k.correlation_id = correlation;
  return k;
}

class AggregatorTest : public ::testing::Test {
 protected:
  AggregatorTest() : agg_(Identity(), AggregatorOptions{}, &registry_) { agg_.SetNow(At(kT0)); }

  RequestRegistry registry_;
  KernelAggregator agg_;
};

TEST_F(AggregatorTest, SummarisesOneIntervalPerDevice) {
  agg_.OnDevice(DeviceActivity{.device_id = 0, .uuid = "GPU-aaaa"});
  agg_.OnDevice(DeviceActivity{.device_id = 1, .uuid = "GPU-bbbb"});
  agg_.OnContext(ContextActivity{.context_id = 5, .device_id = 1});
  // Device 0: two overlapping kernels on different streams and one after a gap.
  agg_.OnKernel(Kernel(kT0 + 1 * kMs, kT0 + 3 * kMs, "gemm"));
  agg_.OnKernel(Kernel(kT0 + 2 * kMs, kT0 + 4 * kMs, "softmax"));
  agg_.OnKernel(Kernel(kT0 + 10 * kMs, kT0 + 15 * kMs, "gemm"));
  agg_.OnMemcpy(MemcpyActivity{.start_ns = kT0 + 20 * kMs,
                               .end_ns = kT0 + 21 * kMs,
                               .bytes = 4096,
                               .direction = CopyDirection::kHostToDevice});
  agg_.OnMemcpy(MemcpyActivity{.start_ns = kT0 + 22 * kMs,
                               .end_ns = kT0 + 24 * kMs,
                               .bytes = 1000,
                               .direction = CopyDirection::kHostToDevice});
  agg_.OnMemcpy(MemcpyActivity{.start_ns = kT0 + 22 * kMs,
                               .end_ns = kT0 + 23 * kMs,
                               .bytes = 8,
                               .direction = CopyDirection::kDeviceToHost});
  agg_.OnMemset(MemsetActivity{.start_ns = kT0 + 30 * kMs, .end_ns = kT0 + 31 * kMs, .bytes = 64});
  agg_.OnMemory(MemoryActivity{.timestamp_ns = kT0 + 40 * kMs, .bytes = 1 << 20});
  agg_.OnMemory(
      MemoryActivity{.timestamp_ns = kT0 + 41 * kMs, .bytes = 1 << 10, .allocation = false});
  agg_.OnOverhead(OverheadActivity{.start_ns = kT0 + 50 * kMs,
                                   .end_ns = kT0 + 52 * kMs,
                                   .kind = OverheadKind::kCommandBufferFull,
                                   .has_device = true});
  agg_.OnGraphLaunch(GraphLaunchActivity{.start_ns = kT0 + 60 * kMs, .end_ns = kT0 + 70 * kMs});
  // Device 1: a sync on its context, and one kernel.
  agg_.OnSync(SyncActivity{.start_ns = kT0 + 5 * kMs, .end_ns = kT0 + 8 * kMs, .context_id = 5});
  agg_.OnKernel(Kernel(kT0 + 1 * kMs, kT0 + 2 * kMs, "gemm", 1));

  EXPECT_THAT(agg_.Close(At(kT0 + 15 * kSec)), IsEmpty());  // Within allowed lateness.
  const auto out = agg_.Close(At(kT0 + 20 * kSec));
  ASSERT_THAT(out, SizeIs(2));
  const candor::v1::KernelSummary& s = out[0];
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(s.interval_start()), static_cast<int64_t>(kT0));
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(s.interval_end()),
            static_cast<int64_t>(kT0 + 10 * kSec));
  EXPECT_EQ(s.node(), "gpu-17");
  EXPECT_EQ(s.gpu(), "GPU-aaaa");
  EXPECT_EQ(s.pid(), 4242u);
  EXPECT_EQ(s.process_name(), "vllm-worker");
  EXPECT_EQ(s.provider(), "aws");
  EXPECT_EQ(s.replica(), "llama70b-3");
  EXPECT_EQ(s.model(), "llama-3-70b");
  EXPECT_EQ(s.kernel_count(), 3u);
  // Union of [1,3) [2,4) [10,15) ms plus the graph launch [60,70) ms.
  EXPECT_DOUBLE_EQ(s.kernel_busy_ms(), 3.0 + 5.0 + 10.0);
  ASSERT_THAT(s.top_kernels(), SizeIs(2));
  EXPECT_EQ(s.top_kernels(0).name(), "gemm");
  EXPECT_EQ(s.top_kernels(0).count(), 2u);
  EXPECT_DOUBLE_EQ(s.top_kernels(0).total_ms(), 7.0);
  EXPECT_DOUBLE_EQ(s.top_kernels(0).min_ms(), 2.0);
  EXPECT_DOUBLE_EQ(s.top_kernels(0).max_ms(), 5.0);
  EXPECT_EQ(s.top_kernels(1).name(), "softmax");
  ASSERT_THAT(s.copies(), SizeIs(2));
  EXPECT_EQ(s.copies(0).kind(), candor::v1::HTOD);
  EXPECT_EQ(s.copies(0).count(), 2u);
  EXPECT_EQ(s.copies(0).bytes(), 5096u);
  EXPECT_DOUBLE_EQ(s.copies(0).time_ms(), 3.0);
  EXPECT_EQ(s.copies(1).kind(), candor::v1::DTOH);
  EXPECT_EQ(s.memset_count(), 1u);
  EXPECT_EQ(s.memset_bytes(), 64u);
  EXPECT_EQ(s.memory_alloc_count(), 1u);
  EXPECT_EQ(s.memory_alloc_bytes(), 1u << 20);
  EXPECT_EQ(s.memory_free_count(), 1u);
  EXPECT_EQ(s.memory_free_bytes(), 1u << 10);
  EXPECT_DOUBLE_EQ(s.overhead_ms(), 2.0);
  EXPECT_EQ(s.command_buffer_full_count(), 1u);
  EXPECT_EQ(s.graph_launch_count(), 1u);
  EXPECT_DOUBLE_EQ(s.graph_ms(), 10.0);
  EXPECT_EQ(s.dropped_records(), 0u);

  EXPECT_EQ(out[1].gpu(), "GPU-bbbb");
  EXPECT_EQ(out[1].kernel_count(), 1u);
  EXPECT_EQ(out[1].sync_count(), 1u);
  EXPECT_DOUBLE_EQ(out[1].sync_ms(), 3.0);
  EXPECT_EQ(agg_.open_intervals(), 0u);
}

TEST_F(AggregatorTest, AssignsRecordsByEndTimeAndSplitsBusyTimeAcrossIntervals) {
  // Ends in the second interval; 1 s of it runs in the first.
  agg_.OnKernel(Kernel(kT0 + 9 * kSec, kT0 + 11 * kSec, "long"));
  const auto out = agg_.CloseAll();
  ASSERT_THAT(out, SizeIs(2));
  EXPECT_EQ(out[0].kernel_count(), 0u);
  EXPECT_DOUBLE_EQ(out[0].kernel_busy_ms(), 1000.0);
  EXPECT_EQ(out[1].kernel_count(), 1u);
  EXPECT_DOUBLE_EQ(out[1].kernel_busy_ms(), 1000.0);
  EXPECT_DOUBLE_EQ(out[1].top_kernels(0).total_ms(), 2000.0);
  // The uuid is unknown without a DEVICE record: the device index stands in.
  EXPECT_EQ(out[1].gpu(), "0");
}

TEST_F(AggregatorTest, LateUntimedAndFutureRecordsAreCountedAsDropped) {
  agg_.OnKernel(Kernel(kT0 + 1 * kMs, kT0 + 2 * kMs, "k"));
  ASSERT_THAT(agg_.Close(At(kT0 + 20 * kSec)), SizeIs(1));
  agg_.OnKernel(Kernel(kT0 + 3 * kMs, kT0 + 4 * kMs, "late"));  // Interval already closed.
  agg_.OnKernel(Kernel(0, kT0 + 25 * kSec, "no start"));
  agg_.OnKernel(Kernel(kT0 + 26 * kSec, kT0 + 25 * kSec, "ends before it starts"));
  agg_.OnMemory(MemoryActivity{.timestamp_ns = 0});
  agg_.OnKernel(Kernel(kT0 + 1000 * kSec, kT0 + 1001 * kSec, "future"));
  agg_.OnKernel(Kernel(UINT64_MAX - 1, UINT64_MAX, "garbage"));
  agg_.OnKernel(Kernel(kT0 + 22 * kSec, kT0 + 23 * kSec, "ok"));
  EXPECT_EQ(agg_.stats().late, 1u);
  EXPECT_EQ(agg_.stats().untimed, 3u);
  EXPECT_EQ(agg_.stats().future, 2u);
  const auto out = agg_.CloseAll();
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].kernel_count(), 1u);
  EXPECT_EQ(out[0].dropped_records(), 6u);
}

TEST_F(AggregatorTest, ExternalDropsRideOnTheNextSummary) {
  agg_.AddDropped(40);
  EXPECT_THAT(agg_.CloseAll(), IsEmpty());
  EXPECT_EQ(agg_.pending_dropped(), 40u);
  agg_.OnKernel(Kernel(kT0 + 30 * kSec, kT0 + 31 * kSec, "k", 0));
  agg_.OnKernel(Kernel(kT0 + 30 * kSec, kT0 + 31 * kSec, "k", 1));
  const auto out = agg_.CloseAll();
  ASSERT_THAT(out, SizeIs(2));
  EXPECT_EQ(out[0].dropped_records() + out[1].dropped_records(), 40u);
  EXPECT_EQ(agg_.pending_dropped(), 0u);
  EXPECT_EQ(agg_.stats().external_dropped, 40u);
}

TEST_F(AggregatorTest, JoinsRequestIdsThroughExternalCorrelationInEitherOrder) {
  const uint64_t a = *registry_.Register("req-a");
  const uint64_t b = *registry_.Register("req-b");
  // External record first, then the kernel it tagged.
  agg_.OnExternalCorrelation(ExternalCorrelationActivity{.external_id = a, .correlation_id = 1});
  agg_.OnKernel(Kernel(kT0 + 1 * kMs, kT0 + 2 * kMs, "k", 0, 1));
  // Kernel first (its buffer was delivered earlier), then its external record.
  agg_.OnKernel(Kernel(kT0 + 3 * kMs, kT0 + 4 * kMs, "k", 0, 2));
  agg_.OnExternalCorrelation(ExternalCorrelationActivity{.external_id = b, .correlation_id = 2});
  // A numeric id the server pushed itself, on a memcpy.
  agg_.OnExternalCorrelation(ExternalCorrelationActivity{.external_id = 99, .correlation_id = 3});
  agg_.OnMemcpy(
      MemcpyActivity{.start_ns = kT0 + 5 * kMs, .end_ns = kT0 + 6 * kMs, .correlation_id = 3});
  // Same request again: listed once.
  agg_.OnExternalCorrelation(ExternalCorrelationActivity{.external_id = a, .correlation_id = 4});
  agg_.OnKernel(Kernel(kT0 + 7 * kMs, kT0 + 8 * kMs, "k", 0, 4));
  // An id the registry never issued.
  agg_.OnExternalCorrelation(
      ExternalCorrelationActivity{.external_id = kRegisteredIdBit | 12345, .correlation_id = 5});
  agg_.OnKernel(Kernel(kT0 + 9 * kMs, kT0 + 10 * kMs, "k", 0, 5));
  const auto out = agg_.CloseAll();
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_THAT(out[0].request_ids(), ElementsAre("99", "req-a", "req-b"));
  EXPECT_EQ(agg_.stats().unresolved_ids, 1u);
}

TEST(AggregatorLimitsTest, CapsRequestIdsKernelNamesAndTopKernels) {
  AggregatorOptions o;
  o.max_request_ids = 2;
  o.max_kernel_names = 3;
  o.top_kernels = 2;
  KernelAggregator agg(Identity(), o, nullptr);
  for (uint32_t i = 1; i <= 5; ++i) {
    agg.OnExternalCorrelation(ExternalCorrelationActivity{.external_id = i, .correlation_id = i});
  }
  const std::string names[] = {"k0", "k1", "k2", "k3", "k4"};
  for (uint32_t i = 0; i < 5; ++i) {
    // k0 runs longest in total, then the names past the cap together under "[other]".
    const uint64_t d = (i == 0 ? 10 : 2) * kMs;
    agg.OnKernel(Kernel(kT0 + kSec, kT0 + kSec + d, names[i], 0, i + 1));
  }
  const auto out = agg.CloseAll();
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_THAT(out[0].request_ids(), SizeIs(2));
  EXPECT_EQ(agg.stats().request_ids_overflow, 3u);
  EXPECT_EQ(agg.stats().other_names, 2u);
  ASSERT_THAT(out[0].top_kernels(), SizeIs(2));
  EXPECT_EQ(out[0].top_kernels(0).name(), "k0");
  EXPECT_EQ(out[0].top_kernels(1).name(), "[other]");
  EXPECT_EQ(out[0].top_kernels(1).count(), 2u);
  EXPECT_EQ(out[0].kernel_count(), 5u);
}

TEST(AggregatorLimitsTest, BusySpanCapOnlyEverOverstates) {
  AggregatorOptions o;
  o.max_busy_spans = 4;
  KernelAggregator agg(Identity(), o, nullptr);
  // 10 disjoint 1 ms kernels with 1 ms gaps: exact union 10 ms, span [0, 19) ms.
  for (uint64_t i = 0; i < 10; ++i) {
    agg.OnKernel(Kernel(kT0 + 2 * i * kMs + 1, kT0 + (2 * i + 1) * kMs + 1, "k"));
  }
  const auto out = agg.CloseAll();
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_GE(out[0].kernel_busy_ms(), 10.0);
  EXPECT_LE(out[0].kernel_busy_ms(), 19.0);
}

TEST(AggregatorLimitsTest, DevicesBeyondTheCapAreDropped) {
  AggregatorOptions o;
  o.max_devices = 1;
  KernelAggregator agg(Identity(), o, nullptr);
  agg.OnKernel(Kernel(kT0 + kSec, kT0 + kSec + kMs, "k", 0));
  agg.OnKernel(Kernel(kT0 + kSec, kT0 + kSec + kMs, "k", 3));
  EXPECT_EQ(agg.stats().unattributed, 1u);
  const auto out = agg.CloseAll();
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].dropped_records(), 1u);
}

TEST(AggregatorLimitsTest, SanitisesKernelNames) {
  KernelAggregator agg(Identity(), AggregatorOptions{}, nullptr);
  agg.OnKernel(Kernel(kT0 + kSec, kT0 + kSec + kMs, std::string_view("bad\xff\n", 5)));
  const auto out = agg.CloseAll();
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].top_kernels(0).name(), "bad??");
}

TEST(AggregatorOptionsTest, ValidatesRanges) {
  EXPECT_TRUE(ValidateAggregatorOptions(AggregatorOptions{}).ok());
  AggregatorOptions o;
  o.interval = absl::Milliseconds(10);
  EXPECT_FALSE(ValidateAggregatorOptions(o).ok());
  o = {};
  o.top_kernels = 65;
  EXPECT_FALSE(ValidateAggregatorOptions(o).ok());
  o = {};
  o.max_request_ids = 5000;
  EXPECT_FALSE(ValidateAggregatorOptions(o).ok());
  o = {};
  o.max_busy_spans = 1;
  EXPECT_FALSE(ValidateAggregatorOptions(o).ok());
}

}  // namespace
}  // namespace candor::cuda_profiler
