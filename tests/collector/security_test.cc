// TLS, mutual TLS and bearer-token authentication on candor's gRPC and HTTP listeners, with
// certificates generated for the test.

#include <fstream>

#include "collector/http_fetch.h"
#include "collector/ingest_client.h"
#include "collector/ingest_server.h"
#include "common/bearer_auth.h"
#include "exporters/http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/collector_fixture.h"
#include "tests/integration/daemon_harness.h"
#include "tests/testing/http_client.h"
#include "tests/testing/test_pki.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;

candor::v1::IngestBatch OneEvent(const std::string& id, absl::Time now) {
  candor::v1::IngestBatch batch;
  auto* e = batch.add_items()->mutable_inference_event();
  e->set_request_id(id);
  e->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(now));
  e->set_model("m");
  e->set_status(candor::v1::OK);
  e->set_latency_ms(10);
  return batch;
}

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto pki = testing::GenerateTestPki(dir_->path());
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new testing::TestPki(*pki);
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  void StartGrpc(IngestServerOptions options) {
    options.listen_address = "127.0.0.1:0";
    auto server = IngestServer::Start(options, *stack_.processor, stack_.metrics, clock_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  absl::Status WriteWith(IngestClientOptions o, const std::string& id) {
    o.address = server_->address();
    auto client = IngestClient::Create(o);
    if (!client.ok()) return client.status();
    return (*client)->Write(OneEvent(id, clock_.Now())).status();
  }

  bool Stored(const std::string& id) { return !stack_.log->FindByRequestId(id)->empty(); }

  static testing::TempDir* dir_;
  static testing::TestPki* pki_;
  RealClock clock_;
  testing::IngestStack stack_{clock_};
  std::unique_ptr<IngestServer> server_;
};

testing::TempDir* SecurityTest::dir_ = nullptr;
testing::TestPki* SecurityTest::pki_ = nullptr;

TEST_F(SecurityTest, GrpcTlsServesTrustingClientsOnly) {
  IngestServerOptions o;
  o.tls.cert_file = pki_->server_cert;
  o.tls.key_file = pki_->server_key;
  StartGrpc(o);
  IngestClientOptions tls;
  tls.tls = true;
  tls.ca_file = pki_->ca_cert;
  tls.server_name = "localhost";
  EXPECT_TRUE(WriteWith(tls, "tls-ok").ok());
  EXPECT_FALSE(WriteWith({}, "plaintext").ok());
  IngestClientOptions untrusting = tls;
  untrusting.ca_file = pki_->rogue_client_cert;  // Not the CA that signed the server.
  EXPECT_FALSE(WriteWith(untrusting, "untrusting").ok());
  EXPECT_TRUE(Stored("tls-ok"));
  EXPECT_FALSE(Stored("plaintext"));
}

TEST_F(SecurityTest, GrpcMutualTlsNeedsAClientCertificateFromTheCa) {
  IngestServerOptions o;
  o.tls.cert_file = pki_->server_cert;
  o.tls.key_file = pki_->server_key;
  o.tls.client_ca_file = pki_->ca_cert;
  StartGrpc(o);
  IngestClientOptions c;
  c.tls = true;
  c.ca_file = pki_->ca_cert;
  c.server_name = "localhost";
  EXPECT_FALSE(WriteWith(c, "no-cert").ok());
  IngestClientOptions rogue = c;
  rogue.cert_file = pki_->rogue_client_cert;
  rogue.key_file = pki_->rogue_client_key;
  EXPECT_FALSE(WriteWith(rogue, "rogue").ok());
  c.cert_file = pki_->client_cert;
  c.key_file = pki_->client_key;
  EXPECT_TRUE(WriteWith(c, "mtls-ok").ok());
  EXPECT_FALSE(Stored("no-cert"));
  EXPECT_FALSE(Stored("rogue"));
  EXPECT_TRUE(Stored("mtls-ok"));
}

TEST_F(SecurityTest, GrpcTlsFilesThatCannotBeReadStopStartUp) {
  IngestServerOptions o;
  o.listen_address = "127.0.0.1:0";
  o.tls.cert_file = dir_->path() + "/missing.pem";
  o.tls.key_file = pki_->server_key;
  EXPECT_EQ(IngestServer::Start(o, *stack_.processor, stack_.metrics, clock_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(SecurityTest, GrpcBearerTokenOrUnauthenticatedAndNothingWritten) {
  auto auth = BearerAuthenticator::Create({{"gateway", "gw-token-0123456789"}});
  ASSERT_TRUE(auth.ok());
  IngestServerOptions o;
  o.auth = &*auth;
  StartGrpc(o);
  EXPECT_EQ(WriteWith({}, "anonymous").code(), absl::StatusCode::kUnauthenticated);
  IngestClientOptions wrong;
  wrong.bearer_token = "gw-token-0123456780";
  EXPECT_EQ(WriteWith(wrong, "wrong").code(), absl::StatusCode::kUnauthenticated);

  // A stream without a token ends with UNAUTHENTICATED; nothing it sent is written.
  IngestClientOptions anonymous;
  anonymous.address = server_->address();
  auto client = IngestClient::Create(anonymous);
  ASSERT_TRUE(client.ok());
  auto stream = (*client)->OpenStream();
  stream->Write(OneEvent("streamed", clock_.Now()));
  candor::v1::IngestAck ack;
  EXPECT_FALSE(stream->Read(&ack));
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kUnauthenticated);

  IngestClientOptions good;
  good.bearer_token = "gw-token-0123456789";
  EXPECT_TRUE(WriteWith(good, "authorised").ok());
  EXPECT_FALSE(Stored("anonymous"));
  EXPECT_FALSE(Stored("wrong"));
  EXPECT_FALSE(Stored("streamed"));
  EXPECT_TRUE(Stored("authorised"));
  const std::string metrics = stack_.metrics.Render();
  EXPECT_THAT(metrics, HasSubstr("candor_ingest_refused_batches_total{priority=\"any\",reason="
                                 "\"unauthenticated\"} 3"));
  EXPECT_THAT(metrics, HasSubstr("candor_ingest_client_batches_total{client=\"gateway\"} 1"));
}

class HttpTlsTest : public SecurityTest {
 protected:
  void StartHttp(exporters::HttpTlsOptions tls) {
    exporters::HttpServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.num_threads = 2;
    o.tls = std::move(tls);
    auto server = exporters::HttpServer::Start(o,
                                               {{"GET", "/who", false,
                                                 [this](const HttpRequest& r) {
                                                   absl::MutexLock lock(&mu_);
                                                   subject_ = r.client_cert_subject;
                                                   return HttpResponse::Text(200, "hello");
                                                 }}},
                                               nullptr, clock_);
    ASSERT_TRUE(server.ok()) << server.status();
    http_ = *std::move(server);
  }
  absl::StatusOr<FetchResponse> Get(FetchRequest req, std::string* body) {
    req.url = "https://localhost:" + std::to_string(http_->port()) + "/who";
    req.timeout = absl::Seconds(10);
    return fetcher_.Fetch(req, [body](std::string_view c) {
      body->append(c);
      return absl::OkStatus();
    });
  }
  absl::Mutex mu_;
  std::string subject_ ABSL_GUARDED_BY(mu_);
  HttpFetcher fetcher_{clock_};
  std::unique_ptr<exporters::HttpServer> http_;
};

TEST_F(HttpTlsTest, HttpsWithTheServersCa) {
  StartHttp({pki_->server_cert, pki_->server_key, ""});
  std::string body;
  FetchRequest req;
  req.ca_file = pki_->ca_cert;
  auto resp = Get(req, &body);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(body, "hello");
  req.ca_file = pki_->rogue_client_cert;  // A CA that did not sign the server.
  EXPECT_FALSE(Get(req, &body).ok());
  // Plaintext HTTP to the TLS port gets no answer.
  EXPECT_FALSE(testing::HttpGet(http_->port(), "/who").ok() &&
               testing::HttpGet(http_->port(), "/who")->status == 200);
}

TEST_F(HttpTlsTest, MutualTlsRequiresAndReportsTheClientCertificate) {
  StartHttp({pki_->server_cert, pki_->server_key, pki_->ca_cert});
  std::string body;
  FetchRequest req;
  req.ca_file = pki_->ca_cert;
  EXPECT_FALSE(Get(req, &body).ok());
  req.client_cert_file = pki_->rogue_client_cert;
  req.client_key_file = pki_->rogue_client_key;
  EXPECT_FALSE(Get(req, &body).ok());
  req.client_cert_file = pki_->client_cert;
  req.client_key_file = pki_->client_key;
  for (int i = 0; i < 3; ++i) {  // Fresh connections each time, all served.
    body.clear();
    auto resp = Get(req, &body);
    ASSERT_TRUE(resp.ok()) << resp.status();
    EXPECT_EQ(resp->status, 200);
  }
  absl::MutexLock lock(&mu_);
  EXPECT_THAT(subject_, HasSubstr("CN=client"));
}

TEST_F(HttpTlsTest, UnusableCertificateFilesStopStartUp) {
  exporters::HttpServerOptions o;
  o.listen_address = "127.0.0.1:0";
  o.tls = {dir_->path() + "/missing.pem", pki_->server_key, ""};
  auto server = exporters::HttpServer::Start(o, {}, nullptr, clock_);
  EXPECT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("TLS"));
}

TEST_F(SecurityTest, DaemonWithTokensGuardsGrpcAndHttp) {
  testing::TempDir data;
  const std::string token_file = data.path() + "/token";
  std::ofstream(token_file) << "file-token-0123456789\n";
  const std::string config = data.path() + "/candor.yaml";
  std::ofstream(config) << "auth:\n  tokens:\n    - client: shipper\n      token_file: "
                        << token_file << "\n    - client: grafana\n      token: "
                        << "inline-token-0123456789\n";
  auto daemon = testing::StartDaemon(data.path() + "/data", {"--config", config});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  IngestClientOptions no_token;
  no_token.address = daemon->grpc_address;
  auto anonymous = IngestClient::Create(no_token);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ((*anonymous)->Write(OneEvent("a", clock_.Now())).status().code(),
            absl::StatusCode::kUnauthenticated);
  IngestClientOptions shipper = no_token;
  shipper.bearer_token = "file-token-0123456789";
  auto authorised = IngestClient::Create(shipper);
  ASSERT_TRUE(authorised.ok());
  auto ack = (*authorised)->Write(OneEvent("b", clock_.Now()));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->accepted(), 1u);

  EXPECT_EQ(testing::HttpGet(daemon->http_port, "/metrics")->status, 401);
  EXPECT_EQ(testing::HttpGet(daemon->http_port, "/api/v1/events?request_id=b")->status, 401);
  EXPECT_EQ(testing::HttpGet(daemon->http_port, "/-/healthy")->status, 200);
  auto metrics = testing::HttpRequestTo(daemon->http_port, "GET", "/metrics", "",
                                        {{"Authorization", "Bearer inline-token-0123456789"}});
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body, HasSubstr("reason=\"unauthenticated\"} 1"));
}

}  // namespace
}  // namespace candor::collector
