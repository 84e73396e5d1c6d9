#include <fstream>
#include <sstream>

#include "collector/ingest_server.h"
#include "collector/jsonl.h"
#include "daemon/ship_command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/collector_fixture.h"
#include "tests/integration/daemon_harness.h"
#include "tests/testing/subprocess.h"

namespace candor::daemon {
namespace {

using ::testing::HasSubstr;

std::string EventLine(const std::string& id, absl::Time t, const std::string& extra = "") {
  return "{\"inference_event\":{\"request_id\":\"" + id + "\",\"timestamp\":\"" +
         absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()) +
         "\",\"model\":\"m\",\"status\":\"OK\",\"latency_ms\":12" + extra + "}}";
}

class ShipTest : public ::testing::Test {
 protected:
  void StartServer(collector::IngestServerOptions o = {}) {
    o.listen_address = "127.0.0.1:0";
    auto server = collector::IngestServer::Start(o, *stack_.processor, stack_.metrics, clock_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  ShipOptions Options() {
    ShipOptions o;
    o.client.address = server_->address();
    o.batch_size = 3;
    o.initial_backoff = absl::Milliseconds(1);
    o.max_backoff = absl::Milliseconds(4);
    return o;
  }

  RealClock clock_;
  testing::IngestStack stack_{clock_};
  std::unique_ptr<collector::IngestServer> server_;
};

TEST_F(ShipTest, DeliversEverythingAndReportsRejectsByLine) {
  StartServer();
  std::stringstream in;
  for (int i = 1; i <= 10; ++i) {
    if (i == 4) {
      in << "{\"inference_event\": {\"no_such_field\": 1}}\n";
    } else if (i == 7) {
      in << EventLine("e7", clock_.Now(), ",\"kv_cache_usage\":1.5") << "\n";
    } else if (i == 9) {
      in << "\n";
    } else {
      in << EventLine("e" + std::to_string(i), clock_.Now()) << "\n";
    }
  }
  std::stringstream err;
  auto report = Ship(Options(), in, 0, clock_, err);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 9);
  EXPECT_EQ(report->accepted, 7);
  EXPECT_EQ(report->rejected, 2);
  EXPECT_EQ(report->undelivered, 0);
  EXPECT_THAT(err.str(), HasSubstr("line 4: not a valid item"));
  EXPECT_THAT(err.str(), HasSubstr("line 7: inference_event.kv_cache_usage"));
  EXPECT_THAT(err.str(), HasSubstr("OUT_OF_RANGE"));
  EXPECT_EQ(stack_.log->FindByRequestId("e10")->size(), 1u);
}

TEST_F(ShipTest, RetriesRefusedBatchesThenGivesUpAndSaysSo) {
  collector::IngestServerOptions o;
  o.max_queued_batches = 0;  // Every batch is refused with RESOURCE_EXHAUSTED.
  o.retry_after = absl::Milliseconds(2);
  StartServer(o);
  std::stringstream in;
  for (int i = 0; i < 5; ++i) in << EventLine("x" + std::to_string(i), clock_.Now()) << "\n";
  std::stringstream err;
  ShipOptions ship = Options();
  ship.max_retries = 2;
  auto report = Ship(ship, in, 0, clock_, err);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 0);
  EXPECT_EQ(report->undelivered, 5);
  EXPECT_EQ(report->retries, 4);  // Two batches, two retries each.
  EXPECT_THAT(err.str(), HasSubstr("not delivered after 3 attempts"));
}

TEST_F(ShipTest, UnauthenticatedIsFatal) {
  auto auth = BearerAuthenticator::Create({{"c", "0123456789abcdef"}});
  ASSERT_TRUE(auth.ok());
  collector::IngestServerOptions o;
  o.auth = &*auth;
  StartServer(o);
  std::stringstream in(EventLine("u1", clock_.Now()) + "\n" + EventLine("u2", clock_.Now()));
  std::stringstream err;
  auto report = Ship(Options(), in, 0, clock_, err);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(stack_.log->FindByRequestId("u1")->empty());
}

TEST_F(ShipTest, TheBinaryExitsNonZeroWhenALineIsRejected) {
  testing::TempDir dir;
  auto daemon = testing::StartDaemon(dir.path() + "/data");
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  const std::string file = dir.path() + "/events.jsonl";
  std::ofstream(file) << EventLine("ok", clock_.Now()) << "\n{\"gpu_sample\": {}}\n";
  auto ship = testing::Subprocess::Start({testing::BuildPath("daemon/candor"), "ship", "--events",
                                          file, "--to", daemon->grpc_address});
  ASSERT_TRUE(ship.ok());
  const std::string output = (*ship)->WaitForOutputEnd();
  EXPECT_EQ((*ship)->Wait(), 1) << output;
  EXPECT_THAT(output, HasSubstr("line 2: gpu_sample"));
  EXPECT_THAT(output, HasSubstr("2 lines: 1 accepted, 1 rejected, 0 not delivered"));
  EXPECT_THAT(output, ::testing::Not(HasSubstr("\r[")));  // No progress bar off a terminal.

  std::ofstream(file) << EventLine("ok2", clock_.Now()) << "\n";
  auto clean = testing::Subprocess::Start({testing::BuildPath("daemon/candor"), "ship", "--events",
                                           file, "--to", daemon->grpc_address});
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ((*clean)->Wait(), 0) << (*clean)->WaitForOutputEnd();
}

}  // namespace
}  // namespace candor::daemon
