// End-to-end checks of `candor serve` as a real process: gRPC ingest with acks and rejects,
// durability across SIGKILL, a clean SIGTERM shutdown, /metrics accepted by promtool, remote
// write and the Prometheus query API over the series store, and derived signals kept as series.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <snappy.h>

#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "candor/v1/ingest.grpc.pb.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "prometheus/remote.pb.h"
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

// The result of an instant query as (labels JSON, value) pairs, or an empty vector.
std::vector<std::pair<nlohmann::json, double>> InstantQuery(int http_port,
                                                            const std::string& escaped_query) {
  std::vector<std::pair<nlohmann::json, double>> out;
  auto r = HttpGet(http_port, "/api/v1/query?query=" + escaped_query);
  if (!r.ok() || r->status != 200) return out;
  auto json = nlohmann::json::parse(r->body);
  for (const auto& v : json["data"]["result"]) {
    out.emplace_back(v["metric"], std::stod(v["value"][1].get<std::string>()));
  }
  return out;
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

TEST_F(ServeTest, RemoteWriteIsQueryableAndSurvivesSigkill) {
  Start();
  prometheus::WriteRequest request;
  auto* ts = request.add_timeseries();
  for (auto [name, value] : {std::pair{"__name__", "rw_requests_total"}, {"job", "gateway"}}) {
    auto* l = ts->add_labels();
    l->set_name(name);
    l->set_value(value);
  }
  const int64_t now_ms = NowSeconds() * 1000;
  for (int i = 0; i < 10; ++i) {
    auto* sample = ts->add_samples();
    sample->set_timestamp(now_ms - (10 - i) * 15'000);
    sample->set_value(100.0 * i);
  }
  std::string body;
  snappy::Compress(request.SerializeAsString().data(), request.ByteSizeLong(), &body);
  auto written = HttpRequestTo(daemon_.http_port, "POST", "/api/v1/write", body,
                               {{"Content-Encoding", "snappy"},
                                {"Content-Type", "application/x-protobuf"},
                                {"X-Prometheus-Remote-Write-Version", "0.1.0"}});
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->status, 204) << written->body;
  // A garbage body is refused with 400 and does not disturb what was written.
  auto garbage = HttpRequestTo(daemon_.http_port, "POST", "/api/v1/write", "not snappy",
                               {{"Content-Encoding", "snappy"}});
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->status, 400);

  auto check = [&] {
    auto last = InstantQuery(daemon_.http_port, "rw_requests_total%7Bjob%3D%22gateway%22%7D");
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0].second, 900.0);
    // 100 per 15 s over the window: 400 in [t-60s, t].
    auto inc = InstantQuery(daemon_.http_port, "sum(increase(rw_requests_total%5B60s%5D))");
    ASSERT_EQ(inc.size(), 1u);
    EXPECT_NEAR(inc[0].second, 400.0, 1e-9);
  };
  check();
  // Acknowledged remote-write samples are in the series store's WAL: a SIGKILL loses none.
  daemon_.process->Signal(SIGKILL);
  daemon_.process->Wait();
  Start();
  check();
}

TEST_F(ServeTest, DerivedSignalsAreKeptAsSeries) {
  Start();
  // Three minutes of events: the windows they fill close as event time moves past them.
  const int64_t t0 = NowSeconds() - 300;
  grpc::ClientContext ctx;
  candor::v1::IngestBatch batch;
  for (int i = 0; i < 180; ++i) *batch.add_items() = Event(absl::StrCat("s", i), t0 + i);
  // Another provider's event a minute later moves event time past the last aws window.
  candor::v1::IngestItem closer = Event("closer", t0 + 240);
  closer.mutable_inference_event()->set_provider("gcp");
  *batch.add_items() = closer;
  candor::v1::IngestAck ack;
  ASSERT_TRUE(stub_->Write(&ctx, batch, &ack).ok());
  ASSERT_EQ(ack.rejects_size(), 0);
  // A clean shutdown closes the windows event time has passed and writes their signals.
  daemon_.process->Signal(SIGTERM);
  ASSERT_EQ(daemon_.process->Wait(), 0) << daemon_.process->Output();
  Start();
  // The raw samples of the provider's request count: one per closed window.
  auto r = HttpGet(daemon_.http_port,
                   "/api/v1/query?query=candor_signal_requests%7Bentity%3D%22provider%3Aaws%22%7D"
                   "%5B10m%5D&time=" +
                       absl::StrCat(t0 + 300));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  auto json = nlohmann::json::parse(r->body);
  ASSERT_EQ(json["data"]["result"].size(), 1u) << r->body;
  EXPECT_EQ(json["data"]["result"][0]["metric"]["kind"], "provider");
  // Every event was counted in exactly one window.
  double total = 0;
  for (const auto& p : json["data"]["result"][0]["values"]) {
    total += std::stod(p[1].get<std::string>());
  }
  EXPECT_EQ(total, 180.0) << r->body;
  EXPECT_GE(json["data"]["result"][0]["values"].size(), 2u);
  // /api/v1/health answers from the same series.
  auto health = HttpGet(daemon_.http_port, "/api/v1/health?entity=provider%3Aaws&window=10m&time=" +
                                               absl::StrCat(t0 + 300));
  ASSERT_TRUE(health.ok());
  ASSERT_EQ(health->status, 200) << health->body;
  const auto h = nlohmann::json::parse(health->body)["data"]["entities"];
  ASSERT_EQ(h.size(), 1u) << health->body;
  EXPECT_EQ(h[0]["requests"], 180);
  EXPECT_EQ(h[0]["availability"], 1);
  EXPECT_EQ(h[0]["latency_p95_ms"], 850);
}

TEST(ServeNvmlTest, GpuSamplesFromNvmlReachTheRequestLog) {
  TempDir dir;
  auto d = StartDaemon(dir.path() + "/data",
                       {"--gpu.nvml.enabled=true", "--gpu.nvml.library=" CANDOR_FAKE_NVML,
                        "--gpu.nvml.interval=1s", "--gpu.nvml.node=gpu-host-7"});
  ASSERT_TRUE(d.ok()) << d.status();
  // The first samples are stored before the daemon reports that it serves.
  std::set<std::string> gpus;
  auto r = HttpGet(d->http_port, "/api/v1/events?type=gpu_sample&limit=100");
  ASSERT_TRUE(r.ok());
  const nlohmann::json json = nlohmann::json::parse(r->body);
  for (const auto& rec : json["data"]) {
    const auto& g = rec["item"]["gpu_sample"];
    EXPECT_EQ(g["node"], "gpu-host-7");
    gpus.insert(g["gpu"].get<std::string>());
  }
  EXPECT_EQ(gpus.size(), 2u) << r->body << d->process->Output();
}

TEST(ServeNvmlTest, MissingNvmlIsReportedAndServingGoesOn) {
  TempDir dir;
  auto d = StartDaemon(dir.path() + "/data",
                       {"--gpu.nvml.enabled=true", "--gpu.nvml.library=/nonexistent/libnvml.so"});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(d->process->Output(), HasSubstr("NVML is unavailable"));
  auto ready = HttpGet(d->http_port, "/-/ready");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
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
