// The data-driven scenario suite: every file in tests/scenarios/cases/ is one case — a fleet,
// a fault (kind, target, magnitude, onset shape) and the state candor must name on which
// entity within what deadline. Each case is simulated with `candor sim`, replayed with
// `candor replay`, and the transitions are judged: the expected state on the expected entity
// in time, the expected root cause, and no transition away from healthy before the onset.
// Adding a case is adding a file.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/replay_command.h"
#include "daemon/sim_command.h"
#include "gtest/gtest.h"
#include "sim/scenario.h"
#include "tests/testing/scenario_eval.h"

namespace candor {
namespace {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* dir = std::getenv("CANDOR_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

std::vector<std::string> Cases() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(SourceDir() + "/tests/scenarios/cases", ec)) {
    if (entry.path().extension() == ".yaml") out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A scratch directory under the build tree, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    const char* base = std::getenv("CANDOR_BINARY_DIR");
    path_ = fs::path(base != nullptr ? base : fs::temp_directory_path().string()) /
            "scenario-scratch" / name;
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

class ScenarioSuiteTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioSuiteTest, ReplayNamesTheFaultOnTheRightEntityInTime) {
  const std::string path = GetParam();
  absl::StatusOr<sim::Scenario> scenario = sim::LoadScenarioFile(path);
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  ASSERT_FALSE(scenario->expect.empty()) << path << " expects nothing";
  const ScratchDir dir(fs::path(path).stem().string());
  const std::string events = dir.File("events.jsonl");
  const std::string transitions = dir.File("transitions.jsonl");
  ASSERT_EQ(daemon::RunSimCommand({"--scenario", path, "--out", events}), 0);
  ASSERT_EQ(
      daemon::RunReplayCommand({"--events", events, "--transitions-out", transitions, "--quiet"}),
      0);
  absl::StatusOr<std::vector<testing::TransitionRecord>> records =
      testing::ParseTransitionsJsonl(ReadFile(transitions));
  ASSERT_TRUE(records.ok()) << records.status();
  const testing::ScenarioOutcome outcome = testing::Evaluate(*scenario, *records);
  EXPECT_TRUE(outcome.Passed()) << scenario->name << "\n" << outcome.Describe();
}

INSTANTIATE_TEST_SUITE_P(Cases, ScenarioSuiteTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return fs::path(param.param).stem().string();
                         });

// The scenario folder must not silently be empty (a wrong path would pass vacuously).
TEST(ScenarioSuite, FindsItsCases) { EXPECT_GE(Cases().size(), 17u); }

}  // namespace
}  // namespace candor
