// Replay is deterministic: the same recorded stream gives byte-identical transitions, run
// after run, and the same transitions as feeding the pipeline directly in process.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "collector/pipeline.h"
#include "daemon/replay_command.h"
#include "daemon/sim_command.h"
#include "detectors/fleet_types.h"
#include "gtest/gtest.h"
#include "sim/scenario.h"
#include "tests/testing/scenario_eval.h"

namespace candor {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ReplayDeterminismTest, SameStreamGivesByteIdenticalTransitions) {
  const char* src = std::getenv("CANDOR_SOURCE_DIR");
  const char* bin = std::getenv("CANDOR_BINARY_DIR");
  ASSERT_NE(src, nullptr);
  ASSERT_NE(bin, nullptr);
  const fs::path dir = fs::path(bin) / "scenario-scratch" / "determinism";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string scenario = std::string(src) + "/tests/scenarios/cases/primary_errors_step.yaml";
  const std::string events = (dir / "events.jsonl").string();
  ASSERT_EQ(daemon::RunSimCommand({"--scenario", scenario, "--out", events}), 0);
  std::string outputs[2];
  for (int i = 0; i < 2; ++i) {
    const std::string out = (dir / ("transitions" + std::to_string(i) + ".jsonl")).string();
    ASSERT_EQ(daemon::RunReplayCommand({"--events", events, "--transitions-out", out, "--quiet"}),
              0);
    outputs[i] = ReadFile(out);
  }
  EXPECT_GT(outputs[0].size(), 0u);
  EXPECT_EQ(outputs[0], outputs[1]);

  // The same scenario fed in process (no JSON) decides the same transitions.
  absl::StatusOr<sim::Scenario> s = sim::LoadScenarioFile(scenario);
  ASSERT_TRUE(s.ok());
  absl::StatusOr<std::vector<detectors::Transition>> direct = testing::RunInProcess(*s);
  ASSERT_TRUE(direct.ok());
  std::string expected;
  for (const detectors::Transition& t : *direct) {
    expected += detectors::TransitionToJson(t) + "\n";
  }
  EXPECT_EQ(outputs[0], expected);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace candor
