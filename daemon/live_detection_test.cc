#include "daemon/live_detection.h"

#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/event_log.h"
#include "tests/testing/subprocess.h"

namespace candor::daemon {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767571200);

class LiveDetectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::EventLogOptions o;
    o.path = dir_.path() + "/events";
    o.sync = false;
    absl::StatusOr<std::unique_ptr<store::EventLog>> log = store::EventLog::Open(o, clock_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }

  // Appends one replica sample per replica, as the ingest path does (parsed item attached).
  void Append(absl::Time t, const std::vector<std::string>& replicas) {
    std::vector<candor::v1::IngestItem> items(replicas.size());
    std::vector<std::string> payloads(replicas.size());
    std::vector<store::LogRecord> records(replicas.size());
    for (size_t i = 0; i < replicas.size(); ++i) {
      auto* s = items[i].mutable_replica_sample();
      s->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(t));
      s->set_replica(replicas[i]);
      s->set_queue_depth(1);
      payloads[i] = items[i].SerializeAsString();
      records[i].event_time = t;
      records[i].kind = 2;
      records[i].entities = {"fleet", "replica:" + replicas[i]};
      records[i].payload = payloads[i];
      records[i].attachment = &items[i];
    }
    ASSERT_TRUE(log_->Append(records).ok());
  }

  testing::TempDir dir_;
  SimulatedClock clock_{kT0 + absl::Minutes(10)};
  std::unique_ptr<store::EventLog> log_;
};

TEST_F(LiveDetectionTest, CommittedItemsDriveDetectionAndIdleTimeAdvancesEventTime) {
  std::ostringstream printed;
  LiveDetection live({}, *log_, clock_, &printed);
  live.Attach();
  absl::Time t = kT0;
  for (int i = 0; i < 60; ++i, t += absl::Seconds(5)) Append(t, {"a", "b"});
  // Two items a window, so no-data needs 15 expected items of silence: 80 s.
  for (int i = 0; i < 24; ++i, t += absl::Seconds(5)) Append(t, {"a"});
  ASSERT_TRUE(live.RunOnce().ok());
  // Replica b went silent while a kept reporting: no-data, printed and persisted.
  std::vector<detectors::Transition> seen = live.Transitions();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].entity.ToString(), "replica:b");
  EXPECT_EQ(seen[0].to, FleetState::kNoData);
  EXPECT_THAT(printed.str(), ::testing::HasSubstr("replica:b  healthy -> no-data"));
  store::TransitionQuery q;
  absl::StatusOr<std::vector<store::StoredTransition>> stored = log_->Transitions(q);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].entity, "replica:b");

  // Nothing arrives any more. Before the idle threshold, event time stands still...
  clock_.AdvanceTime(absl::Seconds(20));
  ASSERT_TRUE(live.RunOnce().ok());
  EXPECT_EQ(live.Transitions().size(), 1u);
  // ...after it, event time moves with the clock and the whole fleet turns no-data.
  clock_.AdvanceTime(absl::Seconds(40));
  ASSERT_TRUE(live.RunOnce().ok());
  seen = live.Transitions();
  bool fleet = false;
  for (const auto& tr : seen) fleet |= tr.entity.ToString() == "fleet";
  EXPECT_TRUE(fleet) << printed.str();

  // /api/v1/states answers for every entity, or one, or 404.
  HttpRequest req;
  req.method = "GET";
  EXPECT_THAT(live.StatesHandler()(req).body, ::testing::HasSubstr("\"entity\":\"replica:a\""));
  req.params = {{"entity", "replica:zzz"}};
  EXPECT_EQ(live.StatesHandler()(req).status, 404);
  live.Detach();
}

}  // namespace
}  // namespace candor::daemon
