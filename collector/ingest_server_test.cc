#include "collector/ingest_server.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "candor/v1/ingest.grpc.pb.h"
#include "exporters/prometheus_metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/event_log.h"
#include "tests/testing/subprocess.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;

candor::v1::IngestItem Event(std::string id, absl::Time t) {
  candor::v1::IngestItem item;
  auto* e = item.mutable_inference_event();
  e->set_request_id(std::move(id));
  e->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(t));
  e->set_model("m");
  e->set_status(candor::v1::OK);
  e->set_latency_ms(100);
  return item;
}

class IngestServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(IngestServerOptions options) {
    server_.reset();
    store::EventLogOptions log_options;
    log_options.path = dir_.path() + "/events";
    log_options.sync = false;
    if (!log_) log_ = *store::EventLog::Open(log_options, clock_);
    processor_ = std::make_unique<BatchProcessor>(BatchProcessorOptions{}, *log_, metrics_, clock_);
    options.listen_address = "127.0.0.1:0";
    auto server = IngestServer::Start(options, *processor_, metrics_, clock_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = candor::v1::Ingest::NewStub(channel_);
  }

  candor::v1::IngestBatch Batch(uint64_t id, std::vector<candor::v1::IngestItem> items) {
    candor::v1::IngestBatch b;
    b.set_batch_id(id);
    for (auto& i : items) *b.add_items() = std::move(i);
    return b;
  }

  absl::Time Now() { return clock_.Now(); }

  testing::TempDir dir_;
  RealClock clock_;
  exporters::PrometheusMetrics metrics_;
  std::unique_ptr<store::EventLog> log_;
  std::unique_ptr<BatchProcessor> processor_;
  std::unique_ptr<IngestServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<candor::v1::Ingest::Stub> stub_;
};

TEST_F(IngestServerTest, UnaryAcceptsValidAndRejectsInvalidItemsOfOneBatch) {
  auto bad = Event("r2", Now());
  bad.mutable_inference_event()->set_kv_cache_usage(3.0);
  grpc::ClientContext ctx;
  candor::v1::IngestAck ack;
  grpc::Status st =
      stub_->Write(&ctx, Batch(7, {Event("r1", Now()), bad, Event("r3", Now())}), &ack);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(ack.batch_id(), 7u);
  EXPECT_EQ(ack.accepted(), 2u);
  ASSERT_EQ(ack.rejects_size(), 1);
  EXPECT_EQ(ack.rejects(0).index(), 1u);
  EXPECT_EQ(ack.rejects(0).field(), "inference_event.kv_cache_usage");
  EXPECT_EQ(ack.rejects(0).code(), candor::v1::OUT_OF_RANGE);
  EXPECT_EQ(log_->FindByRequestId("r3")->size(), 1u);
  EXPECT_TRUE(log_->FindByRequestId("r2")->empty());
  EXPECT_THAT(metrics_.Render(),
              HasSubstr("candor_ingest_rejected_items_total{reason=\"out_of_range\"} 1"));
}

TEST_F(IngestServerTest, GarbageBytesGetInvalidArgument) {
  grpc::GenericStub generic(channel_);
  grpc::ClientContext ctx;
  const std::string garbage = "\xff\xff\xff\x07garbage that is not protobuf";
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  absl::Mutex mu;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&ctx, "/candor.v1.Ingest/Write", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      absl::MutexLock lock(&mu);
                      status = s;
                      done = true;
                    });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(&done));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("malformed IngestBatch"));
  EXPECT_THAT(metrics_.Render(), HasSubstr("candor_ingest_batches_total{outcome=\"invalid\"} 1"));
}

TEST_F(IngestServerTest, StreamAcksEveryBatchInOrder) {
  grpc::ClientContext ctx;
  auto stream = stub_->Stream(&ctx);
  constexpr int kBatches = 40;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<candor::v1::IngestItem> items;
    for (int i = 0; i < 5; ++i) items.push_back(Event(absl::StrCat("s", b, "-", i), Now()));
    if (b % 10 == 3) items[0].mutable_inference_event()->clear_request_id();
    ASSERT_TRUE(stream->Write(Batch(static_cast<uint64_t>(b + 100), std::move(items))));
  }
  stream->WritesDone();
  candor::v1::IngestAck ack;
  int n = 0;
  while (stream->Read(&ack)) {
    EXPECT_EQ(ack.batch_id(), static_cast<uint64_t>(n + 100));
    EXPECT_EQ(ack.code(), 0);
    EXPECT_EQ(ack.accepted(), n % 10 == 3 ? 4u : 5u);
    ++n;
  }
  EXPECT_EQ(n, kBatches);
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(log_->LastSeq(), static_cast<uint64_t>(kBatches * 5 - 4));
}

TEST_F(IngestServerTest, FullQueueRefusesWithResourceExhaustedAndRetryHint) {
  IngestServerOptions options;
  options.max_queued_batches = 0;  // Every batch finds the queue full.
  options.retry_after = absl::Milliseconds(750);
  Start(options);
  grpc::ClientContext ctx;
  candor::v1::IngestAck ack;
  grpc::Status st = stub_->Write(&ctx, Batch(1, {Event("x", Now())}), &ack);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto trailers = ctx.GetServerTrailingMetadata();
  auto hint = trailers.find("retry-after-ms");
  ASSERT_NE(hint, trailers.end());
  EXPECT_EQ(std::string(hint->second.data(), hint->second.size()), "750");

  grpc::ClientContext sctx;
  auto stream = stub_->Stream(&sctx);
  ASSERT_TRUE(stream->Write(Batch(2, {Event("y", Now())})));
  ASSERT_TRUE(stream->Read(&ack));
  EXPECT_EQ(ack.code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(ack.retry_after().nanos(), 750'000'000);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_TRUE(log_->FindByRequestId("x")->empty());
}

TEST_F(IngestServerTest, OverloadShedsLowAndNormalBatchesBeforeCriticalOnes) {
  IngestServerOptions options;
  options.max_queued_batches = 1;  // Only critical batches may take the one slot.
  options.low_watermark = 0.5;
  options.normal_watermark = 0.5;
  Start(options);
  auto with_priority = [&](std::string id, std::string priority) {
    candor::v1::IngestItem item = Event(std::move(id), Now());
    item.mutable_inference_event()->set_priority(std::move(priority));
    return item;
  };
  candor::v1::IngestItem gpu;
  auto* g = gpu.mutable_gpu_sample();
  g->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(Now()));
  g->set_node("n1");
  g->set_gpu("GPU-1");
  struct Case {
    candor::v1::IngestItem item;
    grpc::StatusCode expected;
  };
  std::vector<Case> cases = {
      {with_priority("shadow-1", "shadow"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {with_priority("normal-1", "normal"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {with_priority("critical-1", "critical"), grpc::StatusCode::OK},
      {gpu, grpc::StatusCode::OK},
  };
  for (Case& c : cases) {
    grpc::ClientContext ctx;
    candor::v1::IngestAck ack;
    EXPECT_EQ(stub_->Write(&ctx, Batch(1, {c.item}), &ack).error_code(), c.expected)
        << c.item.ShortDebugString();
  }
  EXPECT_TRUE(log_->FindByRequestId("shadow-1")->empty());
  EXPECT_TRUE(log_->FindByRequestId("normal-1")->empty());
  EXPECT_EQ(log_->FindByRequestId("critical-1")->size(), 1u);
  const std::string m = metrics_.Render();
  EXPECT_THAT(
      m,
      HasSubstr("candor_ingest_refused_batches_total{priority=\"low\",reason=\"overloaded\"} 1"));
  EXPECT_THAT(
      m, HasSubstr(
             "candor_ingest_refused_batches_total{priority=\"normal\",reason=\"overloaded\"} 1"));
  EXPECT_THAT(m, HasSubstr("candor_ingest_admitted_batches_total{priority=\"critical\"} 2"));
}

TEST_F(IngestServerTest, NewEntitiesPastTheCardinalityLimitAreRejectedPerItem) {
  BatchProcessorOptions limited;
  limited.cardinality.max_entities_per_kind = 2;
  BatchProcessor processor(limited, *log_, metrics_, clock_);
  std::vector<candor::v1::IngestItem> items;
  for (const char* model : {"a", "b", "c", "a"}) {
    items.push_back(Event(absl::StrCat("card-", model, items.size()), Now()));
    items.back().mutable_inference_event()->set_model(model);
  }
  candor::v1::IngestAck ack = processor.Process(Batch(5, items));
  EXPECT_EQ(ack.accepted(), 3u);
  ASSERT_EQ(ack.rejects_size(), 1);
  EXPECT_EQ(ack.rejects(0).index(), 2u);
  EXPECT_EQ(ack.rejects(0).code(), candor::v1::CARDINALITY_LIMIT);
  EXPECT_EQ(ack.rejects(0).field(), "inference_event.model");
  EXPECT_THAT(ack.rejects(0).reason(), HasSubstr("limit of 2 distinct model"));
  EXPECT_THAT(metrics_.Render(),
              HasSubstr("candor_ingest_rejected_items_total{reason=\"cardinality_limit\"} 1"));
}

TEST_F(IngestServerTest, OversizeMessagesAreRefusedByTheTransport) {
  IngestServerOptions options;
  options.max_message_bytes = 4096;
  Start(options);
  std::vector<candor::v1::IngestItem> items;
  for (int i = 0; i < 400; ++i) items.push_back(Event(absl::StrCat("big-", i), Now()));
  grpc::ClientContext ctx;
  candor::v1::IngestAck ack;
  grpc::Status st = stub_->Write(&ctx, Batch(1, items), &ack);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(), HasSubstr("larger than max"));
  EXPECT_TRUE(log_->FindByRequestId("big-0")->empty());
}

TEST_F(IngestServerTest, ShutdownAcknowledgesInFlightAndRefusesNew) {
  grpc::ClientContext ctx;
  candor::v1::IngestAck ack;
  ASSERT_TRUE(stub_->Write(&ctx, Batch(1, {Event("before", Now())}), &ack).ok());
  server_->Shutdown(absl::Seconds(5));
  grpc::ClientContext late;
  grpc::Status st = stub_->Write(&late, Batch(2, {Event("after", Now())}), &ack);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(log_->FindByRequestId("before")->size(), 1u);
  EXPECT_TRUE(log_->FindByRequestId("after")->empty());
}

}  // namespace
}  // namespace candor::collector
