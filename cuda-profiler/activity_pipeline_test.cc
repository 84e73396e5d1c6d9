#include "cuda-profiler/activity_pipeline.h"

#include <cupti_activity.h>

#include <cstring>
#include <vector>

#include "cuda-profiler/testing/synthetic_records.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

using ::testing::SizeIs;

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kT0 = 1'700'000'000 * kSec;

class ActivityPipelineTest : public ::testing::Test {
 protected:
  ActivityPipelineTest() : clock_(absl::FromUnixNanos(static_cast<int64_t>(kT0))) {}

  std::unique_ptr<ActivityPipeline> Make(PipelineOptions o) {
    EXPECT_TRUE(ValidatePipelineOptions(o).ok());
    return std::make_unique<ActivityPipeline>(clock_, ProcessIdentity{.node = "n1", .pid = 7},
                                              AggregatorOptions{}, o, &registry_);
  }

  SimulatedClock clock_;
  RequestRegistry registry_;
  PackedRecordIterator iterator_;
};

TEST_F(ActivityPipelineTest, DrivesBuffersAsCuptiWould) {
  auto p = Make(PipelineOptions{.buffer_bytes = 64 << 10, .memory_cap_bytes = 256 << 10});
  const uint64_t req = *registry_.Register("req-1");
  testing::SyntheticActivityBuffer records;
  records.Device(0, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, "H100");
  records.ExternalCorrelation(req, 100);
  for (uint32_t i = 0; i < 100; ++i) {
    records.Kernel(kT0 + i * kMs, kT0 + i * kMs + kMs / 2, 0, 100 + i, i % 2 ? "attn" : "mlp");
  }
  records.Memcpy(kT0 + 200 * kMs, kT0 + 201 * kMs, 1 << 20, 0, 300,
                 CUPTI_ACTIVITY_MEMCPY_KIND_DTOH);

  ActivityPipeline::Buffer b = p->RequestBuffer();
  ASSERT_NE(b.data, nullptr);
  ASSERT_EQ(b.size, size_t{64} << 10);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data) % 8, 0u);
  const size_t valid = records.CopyTo(b.data, b.size);
  ASSERT_GT(valid, 0u);
  p->CompleteBuffer(b.data, valid, iterator_);
  p->AddDropped(3, DropSource::kCupti);

  clock_.AdvanceTime(absl::Seconds(21));
  const auto out = p->Close();
  ASSERT_THAT(out, SizeIs(1));
  EXPECT_EQ(out[0].gpu(), "GPU-01020304-0506-0708-090a-0b0c0d0e0f10");
  EXPECT_EQ(out[0].kernel_count(), 100u);
  EXPECT_DOUBLE_EQ(out[0].kernel_busy_ms(), 50.0);
  ASSERT_THAT(out[0].request_ids(), SizeIs(1));
  EXPECT_EQ(out[0].request_ids(0), "req-1");
  EXPECT_EQ(out[0].dropped_records(), 3u);
  const PipelineStats s = p->stats();
  EXPECT_EQ(s.buffers_completed, 1u);
  EXPECT_EQ(s.outstanding_bytes, 0u);
  EXPECT_EQ(s.cupti_dropped, 3u);
  EXPECT_EQ(s.decode.records, 103u);
  EXPECT_EQ(s.aggregate.kernels, 100u);
}

TEST_F(ActivityPipelineTest, EnforcesTheMemoryCapAndRecoversAfterCompletion) {
  auto p = Make(PipelineOptions{.buffer_bytes = 64 << 10, .memory_cap_bytes = 200 << 10});
  std::vector<ActivityPipeline::Buffer> held;
  for (int i = 0; i < 10; ++i) {
    ActivityPipeline::Buffer b = p->RequestBuffer();
    if (b.data != nullptr) held.push_back(b);
  }
  EXPECT_THAT(held, SizeIs(3));  // 3 × 64 KiB ≤ 200 KiB < 4 × 64 KiB.
  PipelineStats s = p->stats();
  EXPECT_EQ(s.buffers_refused, 7u);
  EXPECT_EQ(s.outstanding_bytes, size_t{192} << 10);
  EXPECT_LE(s.peak_outstanding_bytes, size_t{200} << 10);
  p->CompleteBuffer(held.back().data, 0, iterator_);
  held.pop_back();
  EXPECT_NE(p->RequestBuffer().data, nullptr);  // Room again (reusing the spare).
  s = p->stats();
  EXPECT_EQ(s.outstanding_bytes, size_t{192} << 10);
  EXPECT_LE(s.peak_outstanding_bytes, size_t{200} << 10);
}

TEST_F(ActivityPipelineTest, IgnoresForeignBuffersAndClampsValidSize) {
  auto p = Make(PipelineOptions{.buffer_bytes = 64 << 10, .memory_cap_bytes = 64 << 10});
  std::vector<uint8_t> foreign(128, 0);
  p->CompleteBuffer(foreign.data(), foreign.size(), iterator_);
  p->CompleteBuffer(nullptr, 0, iterator_);
  ActivityPipeline::Buffer b = p->RequestBuffer();
  std::memset(b.data, 0, b.size);  // Lent buffers hold stale bytes; make the tail known.
  testing::SyntheticActivityBuffer records;
  records.Kernel(kT0 + kMs, kT0 + 2 * kMs, 0, 1, "k");
  records.CopyTo(b.data, b.size);
  // Claims more valid bytes than the buffer holds: clamped; the tail is unreadable garbage.
  p->CompleteBuffer(b.data, b.size * 4, iterator_);
  // Completing the same buffer twice: the second is foreign.
  p->CompleteBuffer(b.data, 0, iterator_);
  const PipelineStats s = p->stats();
  EXPECT_EQ(s.foreign_buffers, 3u);
  EXPECT_EQ(s.bad_valid_size, 1u);
  EXPECT_EQ(s.aggregate.kernels, 1u);
  EXPECT_EQ(s.decode_errors, 1u);  // The zeroed tail is no record.
  EXPECT_EQ(s.outstanding_bytes, 0u);
}

TEST_F(ActivityPipelineTest, FloodBeyondTheCapIsCountedNotHeld) {
  // CUPTI asks for buffers faster than it returns them: memory stays under the cap, every
  // refusal is counted, and the records CUPTI reports dropped reach the summaries.
  auto p = Make(PipelineOptions{.buffer_bytes = 64 << 10, .memory_cap_bytes = 512 << 10});
  testing::SyntheticActivityBuffer records;
  for (uint32_t i = 0; i < 200; ++i) records.Kernel(kT0 + i * kMs, kT0 + i * kMs + 10, 0, i, "k");
  std::vector<ActivityPipeline::Buffer> in_flight;
  uint64_t refused = 0;
  for (int round = 0; round < 1000; ++round) {
    for (int r = 0; r < 3; ++r) {
      ActivityPipeline::Buffer b = p->RequestBuffer();
      if (b.data == nullptr) {
        ++refused;
        continue;
      }
      records.CopyTo(b.data, b.size);
      in_flight.push_back(b);
    }
    if (round % 2 == 0 && !in_flight.empty()) {
      p->CompleteBuffer(in_flight.front().data, records.size(), iterator_);
      in_flight.erase(in_flight.begin());
    }
  }
  PipelineStats s = p->stats();
  EXPECT_LE(s.peak_outstanding_bytes, size_t{512} << 10);
  EXPECT_EQ(s.buffers_refused, refused);
  EXPECT_GT(refused, 0u);
  p->AddDropped(refused * 200, DropSource::kCupti);
  for (auto& b : in_flight) p->CompleteBuffer(b.data, records.size(), iterator_);
  const auto out = p->CloseAll();
  uint64_t kernels = 0;
  uint64_t dropped = 0;
  for (const auto& sum : out) {
    kernels += sum.kernel_count();
    dropped += sum.dropped_records();
  }
  s = p->stats();
  EXPECT_EQ(kernels, s.buffers_completed * 200);
  EXPECT_EQ(dropped, refused * 200);
}

TEST(PipelineOptionsTest, ValidatesRanges) {
  EXPECT_TRUE(ValidatePipelineOptions(PipelineOptions{}).ok());
  EXPECT_FALSE(ValidatePipelineOptions(PipelineOptions{.buffer_bytes = 1000}).ok());
  EXPECT_FALSE(
      ValidatePipelineOptions(PipelineOptions{.buffer_bytes = 1 << 20, .memory_cap_bytes = 1 << 19})
          .ok());
  EXPECT_FALSE(ValidatePipelineOptions(PipelineOptions{.spare_buffers = 100}).ok());
}

}  // namespace
}  // namespace candor::cuda_profiler
