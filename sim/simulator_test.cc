#include "sim/simulator.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/scenario.h"

namespace candor::sim {
namespace {

using ::testing::HasSubstr;

absl::Time T(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

Scenario Parse(const std::string& yaml) {
  absl::StatusOr<Scenario> s = ParseScenario(yaml);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Scenario{};
}

std::vector<candor::v1::IngestItem> RunAll(const Scenario& s) {
  absl::StatusOr<std::unique_ptr<FleetSimulator>> sim = FleetSimulator::Create(s);
  EXPECT_TRUE(sim.ok()) << sim.status();
  std::vector<candor::v1::IngestItem> out;
  EXPECT_TRUE((*sim)
                  ->Run([&](const candor::v1::IngestItem& i) {
                    out.push_back(i);
                    return absl::OkStatus();
                  })
                  .ok());
  return out;
}

TEST(ScenarioTest, ParsesEverySection) {
  const Scenario s = Parse(R"(
name: x
seed: 9
duration: 20m
start: 2026-01-05T06:00:00Z
fleet: {requests_per_replica: 25, providers: 2, nodes_per_provider: 1, canary: false}
faults:
  - {kind: hardware_slowdown, target: "node:aws-gpu-1", onset: 12m, shape: ramp, ramp: 90s,
     magnitude: 0.4, duration: 5m}
annotations:
  - {at: 13m, entity: "route:chat", kind: FEATURE_DISABLED, message: "off"}
expect:
  - {entity: "node:aws-gpu-1", state: hardware-degraded, deadline: 2m, root: "dependency:x"}
)");
  EXPECT_EQ(s.name, "x");
  EXPECT_EQ(s.seed, 9u);
  EXPECT_EQ(s.duration, absl::Minutes(20));
  EXPECT_EQ(s.fleet.providers, 2);
  EXPECT_FALSE(s.fleet.canary);
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::kHardwareSlowdown);
  EXPECT_EQ(s.faults[0].shape, OnsetShape::kRamp);
  EXPECT_EQ(s.faults[0].ramp, absl::Seconds(90));
  EXPECT_EQ(s.faults[0].duration, absl::Minutes(5));
  ASSERT_EQ(s.expect.size(), 1u);
  EXPECT_EQ(s.expect[0].state, FleetState::kHardwareDegraded);
  EXPECT_EQ(s.expect[0].root, "dependency:x");
  EXPECT_EQ(s.FirstOnset(), absl::Minutes(12));
  // Intensity of the ramp: 0 before onset, linear, 1 after the ramp, 0 after the duration.
  EXPECT_EQ(s.faults[0].Intensity(absl::Minutes(11)), 0.0);
  EXPECT_DOUBLE_EQ(s.faults[0].Intensity(absl::Minutes(12) + absl::Seconds(45)), 0.5);
  EXPECT_EQ(s.faults[0].Intensity(absl::Minutes(16)), 1.0);
  EXPECT_EQ(s.faults[0].Intensity(absl::Minutes(17)), 0.0);
}

TEST(ScenarioTest, RejectsMistakesWithTheirPath) {
  const struct {
    const char* yaml;
    const char* error;
  } cases[] = {
      {"duration: 10m\nfualts: []\n", "fualts: unknown key"},
      {"faults:\n  - {kind: kv_trash, target: \"replica:x\"}\n", "unknown fault kind"},
      {"faults:\n  - {kind: kv_thrash, target: \"replcia:x\"}\n", "faults[0].target"},
      {"faults:\n  - {kind: kv_thrash, target: \"replica:x\", onset: soon}\n", "faults[0].onset"},
      {"faults:\n  - {kind: kv_thrash, target: \"replica:x\", magnitude: -1}\n", "magnitude"},
      {"expect:\n  - {entity: \"route:a\", state: broken}\n", "unknown fleet state"},
      {"fleet: {providers: 4}\n", "fleet.providers"},
      {"annotations:\n  - {entity: \"route:a\", kind: PAUSED}\n", "annotations[0].kind"},
      {"duration: [1, 2]\n", "duration"},
      {"{{{", "not valid YAML"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<Scenario> s = ParseScenario(c.yaml);
    ASSERT_FALSE(s.ok()) << c.yaml;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(c.error)) << c.yaml;
  }
}

TEST(SimulatorTest, FaultTargetsMustExistAndFit) {
  Scenario s = Parse("duration: 1m\nfaults:\n  - {kind: kv_thrash, target: \"replica:nope\"}\n");
  EXPECT_THAT(std::string(FleetSimulator::Create(s).status().message()),
              HasSubstr("not part of the simulated fleet"));
  s = Parse("duration: 1m\nfaults:\n  - {kind: kv_thrash, target: \"route:chat\"}\n");
  EXPECT_THAT(std::string(FleetSimulator::Create(s).status().message()),
              HasSubstr("does not apply"));
}

TEST(SimulatorTest, SameSeedSameStreamOtherSeedOtherStream) {
  Scenario s = Parse("duration: 90s\nseed: 5\nfleet: {nodes_per_provider: 1}\n");
  const auto a = RunAll(s);
  const auto b = RunAll(s);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].SerializeAsString(), b[i].SerializeAsString()) << i;
  }
  s.seed = 6;
  const auto c = RunAll(s);
  EXPECT_NE(a.size() == c.size() && a[100].SerializeAsString() == c[100].SerializeAsString(), true);
}

TEST(SimulatorTest, RealisticTrafficAtLeastTwentyRequestsPerReplica) {
  // Midnight UTC is the diurnal trough: 30 × (1 − 1/3) = 20 requests/s per replica.
  const Scenario s = Parse("duration: 5m\nseed: 2\n");
  std::map<std::string, int> per_replica;
  int samples = 0, gpu = 0, probes = 0;
  absl::Time last_arrival_bound = absl::InfinitePast();
  double max_disorder_s = 0;
  for (const candor::v1::IngestItem& item : RunAll(s)) {
    if (item.has_inference_event()) {
      const auto& e = item.inference_event();
      if (!e.replica().empty() && !e.synthetic()) ++per_replica[e.replica()];
      probes += e.synthetic() ? 1 : 0;
      // Items come in arrival order: a request's start trails the newest one seen by at most
      // its latency plus the shipping delay.
      const absl::Time start = T(e.timestamp());
      if (last_arrival_bound != absl::InfinitePast()) {
        max_disorder_s =
            std::max(max_disorder_s, absl::ToDoubleSeconds(last_arrival_bound - start));
      }
      last_arrival_bound = std::max(last_arrival_bound, start);
    }
    samples += item.has_replica_sample() ? 1 : 0;
    gpu += item.has_gpu_sample() ? 1 : 0;
  }
  EXPECT_EQ(per_replica.size(), 12u);
  // 20 arrivals/s per replica; requests still running when the recording ends are not in it,
  // and about 1 % of the llama traffic falls back to mistral.
  for (const auto& [replica, n] : per_replica) {
    EXPECT_GE(n / 300.0, 18.5) << replica;
    EXPECT_LE(n / 300.0, 26.0) << replica;
  }
  EXPECT_NEAR(samples, 12 * 60, 12);  // every 5 s per replica
  EXPECT_NEAR(gpu, 12 * 60, 12);
  EXPECT_NEAR(probes, 4 * 30, 8);   // every 10 s per route
  EXPECT_GT(max_disorder_s, 5.0);   // long requests arrive late…
  EXPECT_LT(max_disorder_s, 70.0);  // …but never beyond the route timeout and shipping.
}

TEST(SimulatorTest, FaultsShowInTheSignalsAServerWouldEmit) {
  const Scenario s = Parse(R"(
duration: 4m
seed: 3
faults:
  - {kind: kv_thrash, target: "replica:llama-aws-1", onset: 2m}
  - {kind: hardware_slowdown, target: "node:gcp-gpu-1", onset: 2m, magnitude: 0.4}
  - {kind: circuit_open, target: "provider:openai", onset: 2m}
  - {kind: replica_silent, target: "replica:mistral-azure-2", onset: 2m}
  - {kind: model_warming, target: "replica:mistral-azure-1", onset: 2m}
)");
  const absl::Time onset = s.start + absl::Minutes(2);
  double kv_before = 0, kv_after = 0;
  int64_t preempt_before = -1, preempt_after = 0;
  bool thermal_before = false, thermal_after = false, open = false, warming = false;
  int silent_after = 0;
  for (const candor::v1::IngestItem& item : RunAll(s)) {
    if (item.has_replica_sample()) {
      const auto& r = item.replica_sample();
      const bool after = T(r.timestamp()) >= onset + absl::Seconds(10);
      const bool before = T(r.timestamp()) < onset;
      if (r.replica() == "llama-aws-1" && before) {
        kv_before = r.kv_cache_usage();
        preempt_before = r.preemptions_total();
      }
      if (r.replica() == "llama-aws-1" && after) {
        kv_after = r.kv_cache_usage();
        preempt_after = r.preemptions_total();
      }
      if (r.replica() == "mistral-azure-2" && after) ++silent_after;
      warming |= r.replica() == "mistral-azure-1" && r.warming();
    }
    if (item.has_gpu_sample() && item.gpu_sample().node() == "gcp-gpu-1") {
      const bool thermal = (item.gpu_sample().clock_event_reasons() & 0x40) != 0;
      (T(item.gpu_sample().timestamp()) >= onset ? thermal_after : thermal_before) |= thermal;
    }
    if (item.has_inference_event()) {
      const auto& e = item.inference_event();
      open |= e.provider() == "openai" && e.circuit_state() == candor::v1::OPEN;
      if (e.replica() == "mistral-azure-2" && T(e.timestamp()) >= onset + absl::Seconds(1)) {
        ++silent_after;
      }
    }
  }
  EXPECT_LT(kv_before, 0.8);
  EXPECT_GE(kv_after, 0.9);
  EXPECT_GT(preempt_after - preempt_before, 100);
  EXPECT_FALSE(thermal_before);
  EXPECT_TRUE(thermal_after);
  EXPECT_TRUE(open);
  EXPECT_TRUE(warming);
  EXPECT_EQ(silent_after, 0);
}

TEST(SimulatorTest, RunUntilDeliversInOrderAcrossCalls) {
  const Scenario s = Parse("duration: 2m\nseed: 4\nfleet: {nodes_per_provider: 1}\n");
  const auto whole = RunAll(s);
  absl::StatusOr<std::unique_ptr<FleetSimulator>> sim = FleetSimulator::Create(s);
  ASSERT_TRUE(sim.ok());
  std::vector<candor::v1::IngestItem> pieces;
  for (absl::Time t = s.start; t <= s.start + s.duration; t += absl::Seconds(7)) {
    ASSERT_TRUE((*sim)
                    ->RunUntil(t,
                               [&](const candor::v1::IngestItem& i) {
                                 pieces.push_back(i);
                                 return absl::OkStatus();
                               })
                    .ok());
  }
  ASSERT_TRUE((*sim)
                  ->Run([&](const candor::v1::IngestItem& i) {
                    pieces.push_back(i);
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(pieces.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    ASSERT_EQ(pieces[i].SerializeAsString(), whole[i].SerializeAsString());
  }
  EXPECT_EQ((*sim)->items_emitted(), whole.size());
}

}  // namespace
}  // namespace candor::sim
