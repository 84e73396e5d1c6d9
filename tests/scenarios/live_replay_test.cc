// The live daemon decides the same transitions as `candor replay`: a recorded stream is sent
// over gRPC to an ingest server whose event log feeds LiveDetection (everything on a
// SimulatedClock that never moves, so only event time drives detection), and the transitions
// it prints, keeps and persists are byte-identical to replay's output for the same stream.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collector/batch_processor.h"
#include "collector/ingest_client.h"
#include "collector/ingest_server.h"
#include "collector/jsonl.h"
#include "common/clock.h"
#include "daemon/live_detection.h"
#include "daemon/replay_command.h"
#include "daemon/sim_command.h"
#include "detectors/fleet_types.h"
#include "exporters/prometheus_metrics.h"
#include "gtest/gtest.h"
#include "sim/scenario.h"
#include "store/event_log.h"
#include "tests/testing/subprocess.h"

namespace candor {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(LiveReplayTest, StreamingIntoTheDaemonGivesTheReplayTransitions) {
  const char* src = std::getenv("CANDOR_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  const std::string scenario_path =
      std::string(src) + "/tests/scenarios/cases/queue_deadlock_step.yaml";
  absl::StatusOr<sim::Scenario> scenario = sim::LoadScenarioFile(scenario_path);
  ASSERT_TRUE(scenario.ok());
  testing::TempDir dir;
  const std::string events = dir.path() + "/events.jsonl";
  const std::string replayed = dir.path() + "/replayed.jsonl";
  ASSERT_EQ(daemon::RunSimCommand({"--scenario", scenario_path, "--out", events}), 0);
  ASSERT_EQ(
      daemon::RunReplayCommand({"--events", events, "--transitions-out", replayed, "--quiet"}), 0);
  const std::string expected = ReadFile(replayed);
  ASSERT_FALSE(expected.empty());

  // The daemon side runs on a clock parked at the end of the recording.
  SimulatedClock clock(scenario->start + scenario->duration);
  store::EventLogOptions log_options;
  log_options.path = dir.path() + "/events-db";
  log_options.sync = false;
  absl::StatusOr<std::unique_ptr<store::EventLog>> log = store::EventLog::Open(log_options, clock);
  ASSERT_TRUE(log.ok()) << log.status();
  exporters::PrometheusMetrics metrics;
  collector::BatchProcessor processor({}, **log, metrics, clock);
  daemon::LiveDetectionOptions live_options;
  live_options.print = false;
  daemon::LiveDetection live(live_options, **log, clock, nullptr);
  live.Attach();
  collector::IngestServerOptions server_options;
  server_options.listen_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<collector::IngestServer>> server =
      collector::IngestServer::Start(server_options, processor, metrics, clock);
  ASSERT_TRUE(server.ok()) << server.status();

  // One batch in flight at a time, so the log commits in file order.
  collector::IngestClientOptions client_options;
  client_options.address = (*server)->address();
  absl::StatusOr<std::unique_ptr<collector::IngestClient>> client =
      collector::IngestClient::Create(client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  std::unique_ptr<collector::IngestStream> stream = (*client)->OpenStream();
  std::ifstream in(events);
  candor::v1::IngestBatch batch;
  uint64_t accepted = 0;
  const auto send = [&]() {
    candor::v1::IngestAck ack;
    ASSERT_TRUE(stream->Write(batch));
    ASSERT_TRUE(stream->Read(&ack));
    ASSERT_EQ(ack.code(), 0) << ack.message();
    accepted += ack.accepted();
    batch.clear_items();
  };
  absl::Status read = collector::ReadJsonl(in, [&](int64_t, candor::v1::IngestItem& item) {
    *batch.add_items() = std::move(item);
    if (batch.items_size() == 500) send();
    return absl::OkStatus();
  });
  ASSERT_TRUE(read.ok()) << read;
  if (batch.items_size() > 0) send();
  stream->WritesDone();
  candor::v1::IngestAck drain;
  while (stream->Read(&drain)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  (*server)->Shutdown(absl::Seconds(5));
  live.Detach();
  ASSERT_TRUE(live.Finish().ok());

  std::string decided;
  for (const detectors::Transition& t : live.Transitions()) {
    decided += detectors::TransitionToJson(t) + "\n";
  }
  EXPECT_EQ(decided, expected);
  EXPECT_GT(accepted, 10000u);

  // What was persisted is what was decided, and /api/v1/states answers from the same truth.
  store::TransitionQuery query;
  query.limit = 100000;
  absl::StatusOr<std::vector<store::StoredTransition>> stored = (*log)->Transitions(query);
  ASSERT_TRUE(stored.ok());
  std::string persisted;
  for (const store::StoredTransition& t : *stored) persisted += t.json + "\n";
  EXPECT_EQ(persisted, expected);
  HttpRequest req;
  req.method = "GET";
  req.path = "/api/v1/states";
  req.params = {{"entity", "replica:mistral-gcp-1"}};
  const HttpResponse states = live.StatesHandler()(req);
  EXPECT_EQ(states.status, 200);
  EXPECT_NE(states.body.find("\"state\":\"queue-deadlock\""), std::string::npos) << states.body;
}

}  // namespace
}  // namespace candor
