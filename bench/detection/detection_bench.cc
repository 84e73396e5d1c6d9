// Detection-quality benchmark (see bench/README.md, "Detection quality").
//
//   detection_bench --scenario FILE [--print]   one scenario, transitions and verdicts
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "detectors/fleet_types.h"
#include "sim/scenario.h"
#include "tests/testing/scenario_eval.h"

namespace {

int RunOne(const std::string& path, bool print) {
  absl::StatusOr<candor::sim::Scenario> s = candor::sim::LoadScenarioFile(path);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.status().message()).c_str());
    return 2;
  }
  candor::RealClock clock;
  const absl::Time t0 = clock.MonotonicNow();
  uint64_t items = 0;
  auto transitions = candor::testing::RunInProcess(*s, {}, &items);
  const double secs = absl::ToDoubleSeconds(clock.MonotonicNow() - t0);
  if (!transitions.ok()) {
    std::fprintf(stderr, "%s\n", std::string(transitions.status().message()).c_str());
    return 2;
  }
  std::vector<candor::testing::TransitionRecord> records;
  for (const auto& t : *transitions) {
    records.push_back(candor::testing::ToRecord(t));
    if (print) std::printf("%s\n", candor::detectors::TransitionOneLine(t).c_str());
  }
  const auto outcome = candor::testing::Evaluate(*s, records);
  std::printf("%s: %llu items in %.1f s (%.0f items/s)\n%s", s->name.c_str(),
              static_cast<unsigned long long>(items), secs, static_cast<double>(items) / secs,
              outcome.Describe().c_str());
  return outcome.Passed() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string scenario;
  bool print = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--scenario" && i + 1 < args.size()) scenario = args[++i];
    if (args[i] == "--print") print = true;
  }
  if (!scenario.empty()) return RunOne(scenario, print);
  std::fprintf(stderr, "usage: detection_bench --scenario FILE [--print]\n");
  return 2;
}
