#include "cuda-profiler/grpc_transport.h"

#include "absl/synchronization/mutex.h"
#include "cuda-profiler/testing/fake_ingest_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

using testing::FakeIngestServer;

// Passes calls through and lets the test wait until one has failed.
class ObservedTransport final : public IngestTransport {
 public:
  explicit ObservedTransport(IngestTransport& inner) : inner_(inner) {}
  absl::StatusOr<candor::v1::IngestAck> Write(const candor::v1::IngestBatch& batch,
                                              absl::Duration timeout) override {
    auto r = inner_.Write(batch, timeout);
    absl::MutexLock lock(&mu_);
    if (!r.ok()) ++failures_;
    return r;
  }
  bool WaitForFailure(Clock& clock, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto failed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return failures_ > 0; };
    return clock.AwaitWithDeadline(&mu_, absl::Condition(&failed), deadline);
  }

 private:
  IngestTransport& inner_;
  absl::Mutex mu_;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
};

candor::v1::IngestBatch Batch(int n) {
  candor::v1::IngestBatch batch;
  batch.set_batch_id(77);
  for (int i = 0; i < n; ++i) {
    auto* s = batch.add_items()->mutable_kernel_summary();
    s->set_node("gpu-17");
    s->set_gpu("GPU-abc");
    s->set_kernel_count(static_cast<uint64_t>(i));
  }
  return batch;
}

TEST(GrpcTransportTest, WritesToIngestAndReturnsTheAck) {
  auto server = FakeIngestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  RealClock clock;
  auto transport = MakeGrpcIngestTransport(clock, (*server)->target());
  auto ack = transport->Write(Batch(3), absl::Seconds(10));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->batch_id(), 77u);
  EXPECT_EQ(ack->code(), 0);
  EXPECT_EQ(ack->accepted(), 3u);
  ASSERT_EQ((*server)->accepted_summaries().size(), 3u);
  EXPECT_EQ((*server)->accepted_summaries()[2].kernel_count(), 2u);
}

TEST(GrpcTransportTest, TurnsOverloadIntoAnAckWithTheRetryHint) {
  auto server = FakeIngestServer::Start();
  ASSERT_TRUE(server.ok());
  (*server)->ScriptOverload(absl::Milliseconds(1500));
  RealClock clock;
  auto transport = MakeGrpcIngestTransport(clock, (*server)->target());
  auto ack = transport->Write(Batch(1), absl::Seconds(10));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->code(), 8);
  EXPECT_EQ(ack->retry_after().seconds(), 1);
  EXPECT_EQ(ack->retry_after().nanos(), 500'000'000);
}

TEST(GrpcTransportTest, CarriesCallStatusCodes) {
  auto server = FakeIngestServer::Start();
  ASSERT_TRUE(server.ok());
  (*server)->ScriptStatus(absl::PermissionDeniedError("overloaded"));
  RealClock clock;
  auto transport = MakeGrpcIngestTransport(clock, (*server)->target());
  auto ack = transport->Write(Batch(1), absl::Seconds(10));
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ack.status().message(), "overloaded");
}

TEST(GrpcTransportTest, UnreachableTargetIsUnavailable) {
  auto server = FakeIngestServer::Start();
  ASSERT_TRUE(server.ok());
  const std::string target = (*server)->target();
  (*server)->Shutdown();
  RealClock clock;
  auto transport = MakeGrpcIngestTransport(clock, target);
  auto ack = transport->Write(Batch(1), absl::Seconds(10));
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kUnavailable);
}

TEST(GrpcTransportTest, ShipperReconnectsWhenCandorComesBack) {
  auto first = FakeIngestServer::Start();
  ASSERT_TRUE(first.ok());
  const int port = (*first)->port();
  (*first)->Shutdown();

  RealClock clock;
  auto grpc_transport = MakeGrpcIngestTransport(clock, (*first)->target());
  ObservedTransport transport(*grpc_transport);
  ShipperOptions o;
  o.backoff = BackoffOptions{.initial = absl::Milliseconds(20), .max = absl::Milliseconds(200)};
  Shipper shipper(clock, transport, o, nullptr);
  shipper.Start();
  std::vector<candor::v1::KernelSummary> summaries(2);
  summaries[0].set_node("a");
  summaries[1].set_node("b");
  shipper.Enqueue(summaries);
  ASSERT_TRUE(transport.WaitForFailure(clock, clock.MonotonicNow() + absl::Seconds(60)));

  // candor comes back on the same address; the shipper's retries find it.
  auto second = FakeIngestServer::Start(port);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(
      (*second)->WaitForAcceptedSummaries(2, clock, clock.MonotonicNow() + absl::Seconds(60)));
  shipper.Stop(absl::Seconds(5));
  const auto got = (*second)->accepted_summaries();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].node(), "a");
  EXPECT_EQ(got[1].node(), "b");
  EXPECT_EQ(shipper.stats().sent, 2u);
}

}  // namespace
}  // namespace candor::cuda_profiler
