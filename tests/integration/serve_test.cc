// End-to-end checks of `candor serve` as a real process: gRPC ingest with acks and rejects,
// durability across SIGKILL, a clean SIGTERM shutdown, and /metrics accepted by promtool.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "candor/v1/ingest.grpc.pb.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/daemon_harness.h"
#include "tests/testing/http_client.h"
#include "tests/testing/subprocess.h"

namespace candor::testing {
namespace {

using ::testing::HasSubstr;

candor::v1::IngestItem Event(const std::string& id, int64_t unix_seconds) {
  candor::v1::IngestItem item;
  auto* e = item.mutable_inference_event();
  e->set_request_id(id);
  e->set_trace_id("trace-" + id);
  e->mutable_timestamp()->set_seconds(unix_seconds);
  e->set_provider("aws");
  e->set_model("llama-3-70b");
  e->set_model_version("v184");
  e->set_node("gpu-17");
  e->set_status(candor::v1::OK);
  e->set_latency_ms(850);
  e->set_ttft_ms(120);
  e->set_queue_depth(3);
  e->set_quantization("fp8");
  return item;
}

int64_t NowSeconds() {
  RealClock clock;
  return absl::ToUnixSeconds(clock.Now());
}

// The request ids of every inference event in the daemon's request log.
std::set<std::string> LoggedRequestIds(int http_port) {
  std::set<std::string> ids;
  auto r = HttpGet(http_port, "/api/v1/events?type=inference_event&limit=10000");
  if (!r.ok() || r->status != 200) return ids;
  auto json = nlohmann::json::parse(r->body);
  for (const auto& rec : json["data"]) {
    ids.insert(rec["item"]["inference_event"]["request_id"].get<std::string>());
  }
  return ids;
}

class ServeTest : public ::testing::Test {
 protected:
  void Start() {
    auto d = StartDaemon(dir_.path() + "/data");
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    channel_ = grpc::CreateChannel(daemon_.grpc_address, grpc::InsecureChannelCredentials());
    stub_ = candor::v1::Ingest::NewStub(channel_);
  }
  TempDir dir_;
  RunningDaemon daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<candor::v1::Ingest::Stub> stub_;
};

TEST_F(ServeTest, AcksValidRejectsInvalidAndRefusesGarbage) {
  Start();
  const int64_t now = NowSeconds();
  candor::v1::IngestBatch batch;
  batch.set_batch_id(1);
  *batch.add_items() = Event("ok-1", now);
  auto negative = Event("bad-1", now);
  negative.mutable_inference_event()->set_latency_ms(-3);
  *batch.add_items() = negative;
  auto future = Event("bad-2", now + 3600);
  *batch.add_items() = future;
  *batch.add_items() = Event("ok-2", now);
  grpc::ClientContext ctx;
  candor::v1::IngestAck ack;
  ASSERT_TRUE(stub_->Write(&ctx, batch, &ack).ok());
  EXPECT_EQ(ack.accepted(), 2u);
  ASSERT_EQ(ack.rejects_size(), 2);
  EXPECT_EQ(ack.rejects(0).index(), 1u);
  EXPECT_EQ(ack.rejects(0).field(), "inference_event.latency_ms");
  EXPECT_EQ(ack.rejects(1).index(), 2u);
  EXPECT_EQ(ack.rejects(1).code(), candor::v1::TOO_NEW);

  grpc::GenericStub generic(channel_);
  grpc::ClientContext gctx;
  const std::string garbage(64, '\xfe');
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  absl::Mutex mu;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&gctx, "/candor.v1.Ingest/Write", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      absl::MutexLock lock(&mu);
                      status = s;
                      done = true;
                    });
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&done));
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(LoggedRequestIds(daemon_.http_port), (std::set<std::string>{"ok-1", "ok-2"}));
  auto by_id = HttpGet(daemon_.http_port, "/api/v1/events?request_id=ok-2");
  ASSERT_TRUE(by_id.ok());
  EXPECT_THAT(by_id->body, HasSubstr("\"quantization\":\"fp8\""));
  EXPECT_THAT(by_id->body, HasSubstr("\"model:llama-3-70b@v184\""));
  auto metrics = HttpGet(daemon_.http_port, "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(
      metrics->body,
      HasSubstr("candor_ingest_items_total{result=\"accepted\",type=\"inference_event\"} 2"));
  EXPECT_THAT(metrics->body, HasSubstr("candor_ingest_rejected_items_total{reason=\"too_new\"} 1"));
  EXPECT_THAT(metrics->body, HasSubstr("candor_ingest_batches_total{outcome=\"invalid\"} 1"));
}

TEST_F(ServeTest, EveryAcknowledgedEventSurvivesSigkill) {
  Start();
  const int64_t now = NowSeconds();
  std::set<std::string> acknowledged;
  grpc::ClientContext ctx;
  auto stream = stub_->Stream(&ctx);
  // Several rounds of streaming; the process is killed right after the last ack arrives.
  for (int b = 0; b < 30; ++b) {
    candor::v1::IngestBatch batch;
    batch.set_batch_id(static_cast<uint64_t>(b));
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) {
      ids.push_back(absl::StrCat("k", b, "-", i));
      *batch.add_items() = Event(ids.back(), now);
    }
    ASSERT_TRUE(stream->Write(batch));
    candor::v1::IngestAck ack;
    ASSERT_TRUE(stream->Read(&ack));
    ASSERT_EQ(ack.code(), 0);
    ASSERT_EQ(ack.accepted(), 20u);
    acknowledged.insert(ids.begin(), ids.end());
  }
  daemon_.process->Signal(SIGKILL);
  EXPECT_EQ(daemon_.process->Wait(), 128 + SIGKILL);
  stream.reset();
  daemon_ = RunningDaemon{};

  Start();
  const std::set<std::string> logged = LoggedRequestIds(daemon_.http_port);
  for (const std::string& id : acknowledged) {
    EXPECT_TRUE(logged.contains(id)) << "acknowledged event " << id << " lost";
  }
  EXPECT_EQ(logged.size(), acknowledged.size());
}

TEST_F(ServeTest, SigtermShutsDownCleanly) {
  Start();
  grpc::ClientContext ctx;
  candor::v1::IngestBatch batch;
  *batch.add_items() = Event("last", NowSeconds());
  candor::v1::IngestAck ack;
  ASSERT_TRUE(stub_->Write(&ctx, batch, &ack).ok());
  daemon_.process->Signal(SIGTERM);
  EXPECT_EQ(daemon_.process->Wait(), 0);
  EXPECT_THAT(daemon_.process->Output(), HasSubstr("msg=stopped last_seq=1"));
}

TEST_F(ServeTest, MetricsPassPromtoolCheck) {
  const std::string promtool = FindOnPath("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool (Debian package prometheus) is not installed";
  Start();
  // Exercise the counters first so every family has children.
  grpc::ClientContext ctx;
  candor::v1::IngestBatch batch;
  *batch.add_items() = Event("m1", NowSeconds());
  candor::v1::IngestAck ack;
  ASSERT_TRUE(stub_->Write(&ctx, batch, &ack).ok());
  ASSERT_TRUE(HttpGet(daemon_.http_port, "/-/ready").ok());
  auto metrics = HttpGet(daemon_.http_port, "/metrics");
  ASSERT_TRUE(metrics.ok());
  const std::string file = dir_.path() + "/metrics.txt";
  std::ofstream(file) << metrics->body;
  auto check = Subprocess::Start({"/bin/sh", "-c", promtool + " check metrics < " + file});
  ASSERT_TRUE(check.ok());
  const int rc = (*check)->Wait();
  const std::string report = (*check)->WaitForOutputEnd();
  EXPECT_EQ(rc, 0) << report;
  EXPECT_EQ(report, "") << "promtool reported problems";
}

TEST_F(ServeTest, HealthAndReadiness) {
  Start();
  auto healthy = HttpGet(daemon_.http_port, "/-/healthy");
  ASSERT_TRUE(healthy.ok());
  EXPECT_EQ(healthy->status, 200);
  auto ready = HttpGet(daemon_.http_port, "/-/ready");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
}

TEST(ServeCommandTest, BadConfigurationExitsWithTheKeyNamed) {
  TempDir dir;
  const std::string config = dir.path() + "/candor.yaml";
  std::ofstream(config) << "grpc:\n  listen_adress: 127.0.0.1:0\n";
  auto p = Subprocess::Start({BuildPath("daemon/candor"), "serve", "--config", config});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Wait(), 2);
  const std::string output = (*p)->WaitForOutputEnd();
  EXPECT_THAT(output, HasSubstr("grpc.listen_adress"));
  EXPECT_THAT(output, HasSubstr("line 2"));
}

}  // namespace
}  // namespace candor::testing
