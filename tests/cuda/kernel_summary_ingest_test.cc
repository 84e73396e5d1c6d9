// cuda-profiler → candor, in one process: synthetic CUPTI activity buffers go through the
// library's pipeline (decode, aggregate), its shipper and gRPC transport, into candor's real
// Ingest server, validator and event log, and from the log's commit listener into the series
// store (collector/kernel_series.h), as in `candor serve`. Every KernelSummary must be accepted
// (no rejects: the library's output respects the ingest limits), read back from the log as
// sent, with its entities, and be queryable as series through the query engine.

#include <cupti_activity.h>

#include <memory>
#include <string>
#include <vector>

#include "candor/v1/ingest.pb.h"
#include "collector/batch_processor.h"
#include "collector/ingest_server.h"
#include "collector/kernel_series.h"
#include "common/clock.h"
#include "cuda-profiler/activity_pipeline.h"
#include "cuda-profiler/grpc_transport.h"
#include "cuda-profiler/request_registry.h"
#include "cuda-profiler/shipper.h"
#include "cuda-profiler/testing/synthetic_records.h"
#include "exporters/prometheus_metrics.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "store/engine.h"
#include "store/event_log.h"
#include "store/series_store.h"
#include "tests/testing/subprocess.h"

namespace candor {
namespace {

using ::testing::Contains;
using ::testing::SizeIs;

TEST(KernelSummaryIngestTest, SyntheticActivityReachesCandorsEventLog) {
  testing::TempDir dir;
  RealClock clock;
  exporters::PrometheusMetrics metrics;
  store::EventLogOptions log_options;
  log_options.path = dir.path() + "/events";
  log_options.sync = false;
  auto log = store::EventLog::Open(log_options, clock);
  ASSERT_TRUE(log.ok()) << log.status();
  store::SeriesStoreOptions series_options;
  series_options.path = dir.path() + "/tsdb";
  series_options.wal_sync = false;
  auto series = store::SeriesStore::Open(series_options, clock);
  ASSERT_TRUE(series.ok()) << series.status();
  collector::KernelSeries kernel_series(**series, &metrics);
  (*log)->SetCommitListener([&](uint64_t, std::span<const store::LogRecord> records) {
    for (const store::LogRecord& r : records) {
      if (r.attachment != nullptr) {
        kernel_series.OnItem(*static_cast<const candor::v1::IngestItem*>(r.attachment));
      }
    }
  });
  collector::BatchProcessor processor(collector::BatchProcessorOptions{}, **log, metrics, clock);
  collector::IngestServerOptions server_options;
  server_options.listen_address = "127.0.0.1:0";
  auto server = collector::IngestServer::Start(server_options, processor, metrics, clock);
  ASSERT_TRUE(server.ok()) << server.status();

  // What a server's GPUs did a minute ago, as CUPTI would deliver it.
  cuda_profiler::RequestRegistry registry;
  cuda_profiler::AggregatorOptions aggregation;
  aggregation.allowed_lateness = absl::ZeroDuration();
  cuda_profiler::ActivityPipeline pipeline(
      clock,
      cuda_profiler::ProcessIdentity{.node = "gpu-17",
                                     .pid = 4242,
                                     .process_name = "vllm-worker",
                                     .provider = "aws",
                                     .replica = "llama70b-3",
                                     .model = "llama-3-70b"},
      aggregation,
      cuda_profiler::PipelineOptions{.buffer_bytes = 1 << 20, .memory_cap_bytes = 4 << 20},
      &registry);
  const auto t0 = static_cast<uint64_t>(absl::ToUnixNanos(clock.Now() - absl::Seconds(60)) /
                                        10'000'000'000 * 10'000'000'000);
  const uint64_t request = *registry.Register("req-42");
  cuda_profiler::testing::SyntheticActivityBuffer records;
  records.Device(0, {0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, "H100");
  records.Device(1, {0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, "H100");
  records.Context(1, 0);
  records.ExternalCorrelation(request, 1000);
  for (uint32_t i = 0; i < 500; ++i) {
    const uint64_t t = t0 + i * 10'000'000;  // Spread over 5 s.
    records.Kernel(t, t + 2'000'000, i % 2, 1000 + i, i % 3 == 0 ? "gemm" : "attention");
  }
  records.Memcpy(t0, t0 + 100'000, 1 << 20, 0, 2000, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD);
  records.Memset(t0, t0 + 10'000, 4096, 1, 2001);
  records.Sync(t0, t0 + 50'000, 1, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE);
  records.Memory(t0 + 1, 1 << 30, 0, true);
  records.Overhead(t0, t0 + 1000, CUPTI_ACTIVITY_OVERHEAD_COMMAND_BUFFER_FULL,
                   CUPTI_ACTIVITY_OBJECT_DEVICE, 1);
  const auto buffer = pipeline.RequestBuffer();
  ASSERT_NE(buffer.data, nullptr);
  cuda_profiler::PackedRecordIterator iterator;
  pipeline.CompleteBuffer(buffer.data, records.CopyTo(buffer.data, buffer.size), iterator);
  pipeline.AddDropped(3, cuda_profiler::DropSource::kCupti);
  std::vector<candor::v1::KernelSummary> summaries = pipeline.Close();
  ASSERT_THAT(summaries, SizeIs(2));  // One interval, two GPUs.

  auto transport = cuda_profiler::MakeGrpcIngestTransport(clock, (*server)->address());
  cuda_profiler::Shipper shipper(clock, *transport, cuda_profiler::ShipperOptions{}, nullptr);
  shipper.Enqueue(summaries);
  ASSERT_EQ(shipper.RunOnce(), cuda_profiler::Shipper::Step::kSent) << shipper.stats().last_error;
  const cuda_profiler::ShipperStats st = shipper.stats();
  EXPECT_EQ(st.accepted, 2u);
  EXPECT_EQ(st.rejected_items, 0u) << st.last_error;

  store::RecordQuery query;
  query.kind = static_cast<uint8_t>(candor::v1::IngestItem::kKernelSummary);
  auto stored = (*log)->Query(query);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_THAT(*stored, SizeIs(2));
  uint64_t kernels = 0;
  uint64_t dropped = 0;
  bool tagged = false;
  for (const store::StoredRecord& r : *stored) {
    candor::v1::IngestItem item;
    ASSERT_TRUE(item.ParseFromString(r.payload));
    const candor::v1::KernelSummary& s = item.kernel_summary();
    bool sent = false;
    for (const auto& original : summaries) {
      sent |= google::protobuf::util::MessageDifferencer::Equals(original, s);
    }
    EXPECT_TRUE(sent) << s.DebugString();
    EXPECT_THAT(r.entities, Contains("node:gpu-17"));
    EXPECT_THAT(r.entities, Contains("gpu:" + s.gpu()));
    EXPECT_THAT(r.entities, Contains("model:llama-3-70b"));
    kernels += s.kernel_count();
    dropped += s.dropped_records();
    for (const auto& id : s.request_ids()) tagged |= id == "req-42";
  }
  EXPECT_EQ(kernels, 500u);
  EXPECT_EQ(dropped, 3u);
  EXPECT_TRUE(tagged);
  (*server)->Shutdown(absl::Seconds(5));
  (*log)->SetCommitListener(nullptr);

  // The last hop: the summaries as series, through PromQL.
  ASSERT_TRUE(kernel_series.Flush().ok());
  EXPECT_EQ(kernel_series.Stats().summaries, 2u);
  store::QueryEngine engine(**series, clock);
  const int64_t at_ms = static_cast<int64_t>(t0 / 1'000'000) + 20'000;
  auto launches = engine.Instant("sum(candor_kernel_launches{node=\"gpu-17\"})", at_ms);
  ASSERT_TRUE(launches.ok()) << launches.status();
  ASSERT_THAT(launches->vector, SizeIs(1));
  EXPECT_EQ(launches->vector[0].point.v, 500);
  auto gemm = engine.Instant("candor_kernel_duration_mean_ms{kernel=\"gemm\"}", at_ms);
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  ASSERT_THAT(gemm->vector, SizeIs(2));  // Both GPUs ran it.
  for (const auto& v : gemm->vector) EXPECT_NEAR(v.point.v, 2.0, 1e-9);
  auto lost = engine.Instant("sum(candor_kernel_dropped_records)", at_ms);
  ASSERT_TRUE(lost.ok()) << lost.status();
  ASSERT_THAT(lost->vector, SizeIs(1));
  EXPECT_EQ(lost->vector[0].point.v, 3);
}

}  // namespace
}  // namespace candor
