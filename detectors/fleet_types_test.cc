#include "detectors/fleet_types.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

Transition Sample() {
  Transition t;
  t.time = absl::FromUnixSeconds(1767571230);
  t.entity = EntityId{EntityKind::kRoute, "search \"v2\""};
  t.from = FleetState::kHealthy;
  t.to = FleetState::kCascadingTimeout;
  t.evidence.primary = {
      "timeout_rate", 0.1667, 0.001, "own", "bernoulli_cusum", "cusum_upper", 1234.5678, 20.72,
  };
  t.evidence.onset = absl::FromUnixSeconds(1767571210);
  t.evidence.root = "dependency:vector-db";
  t.evidence.root_onset = absl::FromUnixSeconds(1767571200);
  t.evidence.summary = "timeouts\nafter vector-db";
  t.evidence.corroboration.push_back(
      {"latency_p95_ms", 6973, 42.6, "own", "cusum", "", kNoValue, kNoValue});
  t.conditions.push_back({FleetState::kCascadingTimeout, t.time, t.evidence});
  return t;
}

TEST(FleetTypesTest, TransitionJsonHasTheContractedShape) {
  const std::string json = TransitionToJson(Sample());
  EXPECT_EQ(json.find('\n'), std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_EQ(j["time"], "2026-01-05T00:00:30Z");
  EXPECT_EQ(j["entity"], "route:search \"v2\"");
  EXPECT_EQ(j["from"], "healthy");
  EXPECT_EQ(j["to"], "cascading-timeout");
  ASSERT_EQ(j["conditions"].size(), 1u);
  EXPECT_EQ(j["conditions"][0]["state"], "cascading-timeout");
  EXPECT_EQ(j["conditions"][0]["since"], "2026-01-05T00:00:30Z");
  const auto& e = j["evidence"];
  EXPECT_EQ(e["signal"], "timeout_rate");
  EXPECT_DOUBLE_EQ(e["value"].get<double>(), 0.1667);
  EXPECT_DOUBLE_EQ(e["baseline"].get<double>(), 0.001);
  EXPECT_EQ(e["detector"], "bernoulli_cusum");
  EXPECT_EQ(e["statistic"], "cusum_upper");
  EXPECT_DOUBLE_EQ(e["statistic_value"].get<double>(), 1234.57);  // 6 significant digits
  EXPECT_EQ(e["onset"], "2026-01-05T00:00:10Z");
  EXPECT_EQ(e["root"], "dependency:vector-db");
  EXPECT_EQ(e["root_onset"], "2026-01-05T00:00:00Z");
  EXPECT_EQ(e["summary"], "timeouts\nafter vector-db");
  // Unknown numbers are left out rather than written as NaN.
  EXPECT_FALSE(e["corroboration"][0].contains("statistic_value"));
  EXPECT_EQ(e["corroboration"][0]["value"], 6973);
}

TEST(FleetTypesTest, NumbersAreDeterministicAndValidJson) {
  EXPECT_EQ(JsonNumber(0.0), "0");
  EXPECT_EQ(JsonNumber(42.0), "42");
  EXPECT_EQ(JsonNumber(-3.0), "-3");
  EXPECT_EQ(JsonNumber(0.1 + 0.2), "0.3");
  EXPECT_EQ(JsonNumber(1e20), "1e+20");
  EXPECT_EQ(JsonNumber(kNoValue), "null");
  EXPECT_EQ(JsonNumber(1.0 / 0.0), "null");
}

TEST(FleetTypesTest, OneLineNamesEntityStatesEvidenceAndRoot) {
  const std::string line = TransitionOneLine(Sample());
  EXPECT_NE(line.find("route:search \"v2\"  healthy -> cascading-timeout"), std::string::npos);
  EXPECT_NE(line.find("timeout_rate 0.167 vs own 0.001 [bernoulli_cusum]"), std::string::npos);
  EXPECT_NE(line.find("root dependency:vector-db"), std::string::npos);
}

TEST(FleetTypesTest, EntityStatusJson) {
  EntityStatus s{EntityId::Fleet(), FleetState::kHealthy, absl::InfinitePast(), {}};
  EXPECT_EQ(EntityStatusToJson(s), R"({"entity":"fleet","state":"healthy","conditions":[]})");
}

}  // namespace
}  // namespace candor::detectors
