// Judging candor's transitions against a scenario's expectations: was each expected state
// reached on the expected entity within its deadline, how long after onset, and how many
// transitions away from `healthy` happened before anything was injected (false alarms).
// Shared by the data-driven scenario suite (tests/scenarios) and the detection-quality
// benchmark (bench/detection).
//
// Thread safety: pure functions.

#ifndef CANDOR_TESTS_TESTING_SCENARIO_EVAL_H_
#define CANDOR_TESTS_TESTING_SCENARIO_EVAL_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/pipeline.h"
#include "detectors/fleet_types.h"
#include "sim/scenario.h"

namespace candor::testing {

// The parts of a transition the evaluation needs.
struct TransitionRecord {
  absl::Time time;
  std::string entity;
  std::string from;
  std::string to;
  std::string root;  // evidence.root, if any
};

TransitionRecord ToRecord(const detectors::Transition& t);
// Parses `candor replay` output (one JSON transition per line). InvalidArgumentError naming
// the line for malformed input.
absl::StatusOr<std::vector<TransitionRecord>> ParseTransitionsJsonl(std::string_view text);

struct ExpectationResult {
  sim::Expectation expect;
  absl::Time reference;       // Onset the deadline counts from.
  bool detected = false;      // Entered `state` on `entity` within the deadline.
  bool right_entity = false;  // The entity left `healthy` within the deadline.
  bool root_ok = true;        // `root` named as expected (when one is expected).
  absl::Duration time_to_detect = absl::InfiniteDuration();
  std::string first_state;  // The entity's first non-healthy state after the reference.
};

struct ScenarioOutcome {
  std::vector<ExpectationResult> results;
  // Transitions away from healthy before the first onset (nothing was wrong yet).
  std::vector<TransitionRecord> false_alarms;
  // Transitions away from healthy after onset on entities no expectation names.
  int other_transitions = 0;
  bool Passed() const;
  std::string Describe() const;
};

ScenarioOutcome Evaluate(const sim::Scenario& scenario,
                         const std::vector<TransitionRecord>& transitions);

// Runs `scenario` through the simulator and a Pipeline in process (no JSON), returning every
// transition. Errors from the simulator (bad targets) are returned.
absl::StatusOr<std::vector<detectors::Transition>> RunInProcess(
    const sim::Scenario& scenario, const collector::PipelineOptions& options = {},
    uint64_t* items = nullptr);

}  // namespace candor::testing

#endif  // CANDOR_TESTS_TESTING_SCENARIO_EVAL_H_
