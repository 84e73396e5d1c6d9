#include "cuda-profiler/cupti_decode.h"

#include <cupti_activity.h>
#include <cupti_version.h>

#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "cuda-profiler/testing/synthetic_records.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Records every callback as text, so a test states the expected decode in one line each.
class RecordingSink final : public ActivitySink {
 public:
  void OnKernel(const KernelActivity& a) override {
    log.push_back("kernel " + std::string(a.name) + " " + std::to_string(a.start_ns) + "-" +
                  std::to_string(a.end_ns) + " dev" + std::to_string(a.device_id) + " corr" +
                  std::to_string(a.correlation_id) + " stream" + std::to_string(a.stream_id) +
                  " graph" + std::to_string(a.graph_id));
  }
  void OnMemcpy(const MemcpyActivity& a) override {
    log.push_back("memcpy dir" + std::to_string(static_cast<int>(a.direction)) + " " +
                  std::to_string(a.bytes) + "B " + std::to_string(a.start_ns) + "-" +
                  std::to_string(a.end_ns) + " dev" + std::to_string(a.device_id));
  }
  void OnMemset(const MemsetActivity& a) override {
    log.push_back("memset " + std::to_string(a.bytes) + "B dev" + std::to_string(a.device_id));
  }
  void OnMemory(const MemoryActivity& a) override {
    log.push_back(std::string(a.allocation ? "alloc " : "free ") + std::to_string(a.bytes) +
                  "B at" + std::to_string(a.timestamp_ns));
  }
  void OnSync(const SyncActivity& a) override {
    log.push_back("sync type" + std::to_string(static_cast<int>(a.type)) + " ctx" +
                  std::to_string(a.context_id));
  }
  void OnOverhead(const OverheadActivity& a) override {
    log.push_back("overhead kind" + std::to_string(static_cast<int>(a.kind)) + " dev" +
                  (a.has_device ? std::to_string(a.device_id) : std::string("-")));
  }
  void OnDevice(const DeviceActivity& a) override {
    log.push_back("device " + std::to_string(a.device_id) + " " + a.uuid + " " +
                  std::string(a.name) + " sm" + std::to_string(a.num_multiprocessors));
  }
  void OnContext(const ContextActivity& a) override {
    log.push_back("context " + std::to_string(a.context_id) + " dev" + std::to_string(a.device_id));
  }
  void OnExternalCorrelation(const ExternalCorrelationActivity& a) override {
    log.push_back("external " + std::to_string(a.external_id) + " corr" +
                  std::to_string(a.correlation_id));
  }
  void OnGraphLaunch(const GraphLaunchActivity& a) override {
    log.push_back("graph " + std::to_string(a.graph_id) + " dev" + std::to_string(a.device_id));
  }
  std::vector<std::string> log;
};

TEST(CuptiDecodeTest, DecodesEveryEnabledKind) {
  testing::SyntheticActivityBuffer b;
  b.Device(0,
           {0x9a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7,
            0xe8, 0xf9},
           "NVIDIA H100");
  b.Context(1, 0);
  b.Kernel(100, 250, 0, 11, "gemm_kernel", 7, 0);
  b.Memcpy(300, 400, 4096, 0, 12, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD);
  b.Memcpy(300, 400, 64, 0, 13, CUPTI_ACTIVITY_MEMCPY_KIND_DTOH);
  b.Memcpy(300, 400, 8, 0, 14, CUPTI_ACTIVITY_MEMCPY_KIND_ATOD);
  b.MemcpyPeer(500, 600, 1 << 20, 0, 15);
  b.Memset(600, 650, 512, 0, 16);
  b.Memory(700, 1 << 30, 0, true);
  b.Memory(800, 1 << 30, 0, false);
  b.Sync(900, 950, 1, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE);
  b.Overhead(960, 970, CUPTI_ACTIVITY_OVERHEAD_COMMAND_BUFFER_FULL, CUPTI_ACTIVITY_OBJECT_DEVICE,
             0);
  b.Overhead(960, 970, CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH, CUPTI_ACTIVITY_OBJECT_THREAD, 0);
  b.ExternalCorrelation(77, 11);
  b.GraphTrace(1000, 2000, 0, 5, 17);
  b.RuntimeApi(90, 95, 11);

  RecordingSink sink;
  ActivityDecoder decoder;
  PackedRecordIterator it;
  ASSERT_TRUE(decoder.DecodeBuffer(b.data(), b.size(), it, sink).ok());
  EXPECT_THAT(sink.log,
              ElementsAre("device 0 GPU-9a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9 NVIDIA H100 sm132",
                          "context 1 dev0", "kernel gemm_kernel 100-250 dev0 corr11 stream7 graph0",
                          "memcpy dir0 4096B 300-400 dev0", "memcpy dir1 64B 300-400 dev0",
                          "memcpy dir5 8B 300-400 dev0", "memcpy dir4 1048576B 500-600 dev0",
                          "memset 512B dev0", "alloc 1073741824B at700", "free 1073741824B at800",
                          "sync type3 ctx1", "overhead kind7 dev0", "overhead kind2 dev-",
                          "external 77 corr11", "graph 5 dev0"));
  const DecodeStats& s = decoder.stats();
  EXPECT_EQ(s.records, 15u);
  EXPECT_EQ(s.skipped, 1u);  // The runtime API record is walked, not decoded.
  EXPECT_EQ(s.by_kind[static_cast<size_t>(RecordKind::kMemcpy)], 3u);
  EXPECT_EQ(s.by_kind[static_cast<size_t>(RecordKind::kOverhead)], 2u);
  EXPECT_EQ(s.invalid, 0u);
}

TEST(CuptiDecodeTest, ReadsNewerLongerLayoutsThroughTheirPrefix) {
  // A newer CUPTI appends fields (13.1's Kernel11 adds a priority): the record is longer, its
  // prefix is the 13.0 struct. The walker knows the runtime size; the decoder reads the prefix.
  testing::SyntheticActivityBuffer b;
  b.Kernel(100, 200, 0, 1, "a");
  b.Trailing(8);
  b.Kernel(300, 450, 1, 2, "b");
  b.Trailing(8);
  b.Memcpy(500, 600, 10, 0, 3, CUPTI_ACTIVITY_MEMCPY_KIND_DTOD);
  b.Trailing(16);
  PackedRecordIterator newer(
      {{CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, 224}, {CUPTI_ACTIVITY_KIND_MEMCPY, 112}});
  RecordingSink sink;
  ActivityDecoder decoder;
  ASSERT_TRUE(decoder.DecodeBuffer(b.data(), b.size(), newer, sink).ok());
  EXPECT_THAT(sink.log, ElementsAre("kernel a 100-200 dev0 corr1 stream7 graph0",
                                    "kernel b 300-450 dev1 corr2 stream7 graph0",
                                    "memcpy dir2 10B 500-600 dev0"));
}

TEST(CuptiDecodeTest, RefusesRecordsShorterThanTheStructReadThrough) {
  // An older layout (shorter record) must never be read through the newer struct.
  testing::SyntheticActivityBuffer b;
  b.Kernel(100, 200, 0, 1, "a");
  ActivityDecoder decoder;
  RecordingSink sink;
  EXPECT_FALSE(decoder.DecodeRecord(b.data(), 200, sink));
  EXPECT_TRUE(sink.log.empty());
  EXPECT_EQ(decoder.stats().short_record, 1u);
  EXPECT_FALSE(decoder.DecodeRecord(b.data(), 2, sink));
  EXPECT_TRUE(decoder.DecodeRecord(b.data(), b.size(), sink));
  EXPECT_EQ(sink.log.size(), 1u);
}

TEST(CuptiDecodeTest, StopsAtUnknownKindAndKeepsWhatCameBefore) {
  testing::SyntheticActivityBuffer b;
  b.Kernel(100, 200, 0, 1, "first");
  b.Raw({0xe7, 0x03, 0, 0, 0, 0, 0, 0});  // Kind 999.
  b.Kernel(300, 400, 0, 2, "never");
  RecordingSink sink;
  ActivityDecoder decoder;
  PackedRecordIterator it;
  const absl::Status st = decoder.DecodeBuffer(b.data(), b.size(), it, sink);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("offset 0"));
  EXPECT_THAT(sink.log, ElementsAre("kernel first 100-200 dev0 corr1 stream7 graph0"));
  EXPECT_EQ(decoder.stats().invalid, 1u);
}

TEST(CuptiDecodeTest, TruncatedTailEndsTheWalkWithoutOverread) {
  testing::SyntheticActivityBuffer b;
  b.Kernel(100, 200, 0, 1, "whole");
  b.Kernel(300, 400, 0, 2, "cut");
  // Every cut point inside the second record: the first decodes, nothing is read past the
  // valid size (ASan checks the bound on a buffer of exactly that size).
  for (size_t valid = 216; valid < b.size(); valid += 13) {
    std::vector<uint8_t> exact(b.bytes().begin(),
                               b.bytes().begin() + static_cast<std::ptrdiff_t>(valid));
    RecordingSink sink;
    ActivityDecoder decoder;
    PackedRecordIterator it;
    ASSERT_TRUE(decoder.DecodeBuffer(exact.data(), exact.size(), it, sink).ok());
    EXPECT_EQ(sink.log.size(), 1u) << valid;
  }
}

TEST(CuptiDecodeTest, EmptyAndNullBuffersDecodeToNothing) {
  RecordingSink sink;
  ActivityDecoder decoder;
  PackedRecordIterator it;
  EXPECT_TRUE(decoder.DecodeBuffer(nullptr, 100, it, sink).ok());
  uint8_t byte = 0;
  EXPECT_TRUE(decoder.DecodeBuffer(&byte, 0, it, sink).ok());
  EXPECT_TRUE(decoder.DecodeBuffer(&byte, 1, it, sink).ok());
  EXPECT_TRUE(sink.log.empty());
  EXPECT_EQ(decoder.stats().buffers, 3u);
}

TEST(CuptiDecodeTest, GarbageBuffersNeverCrash) {
  // Deterministic pseudo-random bytes whose first word is a known kind, so the walker steps
  // into record bodies full of garbage. Only kinds without pointers are used: kernel and
  // device names are CUPTI-owned pointers the decoder must trust.
  const uint32_t kinds[] = {CUPTI_ACTIVITY_KIND_MEMCPY,
                            CUPTI_ACTIVITY_KIND_MEMSET,
                            CUPTI_ACTIVITY_KIND_SYNCHRONIZATION,
                            CUPTI_ACTIVITY_KIND_CONTEXT,
                            CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION,
                            CUPTI_ACTIVITY_KIND_GRAPH_TRACE,
                            CUPTI_ACTIVITY_KIND_RUNTIME};
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 200; ++round) {
    std::vector<uint8_t> bytes(256 + next() % 2048);
    for (auto& x : bytes) x = static_cast<uint8_t>(next());
    const uint32_t kind = kinds[next() % std::size(kinds)];
    std::memcpy(bytes.data(), &kind, sizeof(kind));
    RecordingSink sink;
    ActivityDecoder decoder;
    PackedRecordIterator it;
    (void)decoder.DecodeBuffer(bytes.data(), bytes.size(), it, sink);
    EXPECT_GE(decoder.stats().records + decoder.stats().skipped, 1u);
  }
}

TEST(CuptiDecodeTest, KernelNamesAreBounded) {
  std::string huge(kMaxKernelNameBytes + 100, 'k');
  testing::SyntheticActivityBuffer b;
  b.Kernel(1, 2, 0, 1, huge);
  RecordingSink sink;
  ActivityDecoder decoder;
  PackedRecordIterator it;
  ASSERT_TRUE(decoder.DecodeBuffer(b.data(), b.size(), it, sink).ok());
  EXPECT_EQ(decoder.stats().unterminated_names, 1u);
  ASSERT_EQ(sink.log.size(), 1u);
  EXPECT_EQ(sink.log[0].size(), std::string("kernel ").size() + kMaxKernelNameBytes +
                                    std::string(" 1-2 dev0 corr1 stream7 graph0").size());
}

TEST(CuptiVersionTest, AcceptsSameOrNewerRuntime) {
  EXPECT_TRUE(CheckCuptiVersion(130001, 130001).ok());
  EXPECT_TRUE(CheckCuptiVersion(130000, 130001).ok());  // Same 13.0, older CUPTI patch.
  EXPECT_TRUE(CheckCuptiVersion(130100, 130001).ok());
  EXPECT_TRUE(CheckCuptiVersion(140000, 130001).ok());
  EXPECT_EQ(CompiledCuptiApiVersion(), static_cast<uint32_t>(CUPTI_API_VERSION));
}

TEST(CuptiVersionTest, RefusesOlderRuntime) {
  const absl::Status old_numbering = CheckCuptiVersion(28, 130001);
  EXPECT_EQ(old_numbering.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(old_numbering.message(), HasSubstr("predates CUDA 13.0"));
  const absl::Status older = CheckCuptiVersion(130001, 130100);
  EXPECT_EQ(older.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(older.message(), HasSubstr("older than the headers"));
}

}  // namespace
}  // namespace candor::cuda_profiler
