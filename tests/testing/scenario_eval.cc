#include "tests/testing/scenario_eval.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/states.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "sim/simulator.h"

namespace candor::testing {

TransitionRecord ToRecord(const detectors::Transition& t) {
  return {t.time, t.entity.ToString(), std::string(FleetStateName(t.from)),
          std::string(FleetStateName(t.to)), t.evidence.root};
}

absl::StatusOr<std::vector<TransitionRecord>> ParseTransitionsJsonl(std::string_view text) {
  std::vector<TransitionRecord> out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(Sv(text), '\n')) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("time") || !j.contains("entity") ||
        !j.contains("from") || !j.contains("to")) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": not a transition"));
    }
    TransitionRecord r;
    absl::StatusOr<absl::Time> t = ParseRfc3339(j["time"].get<std::string>());
    if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": bad time"));
    r.time = *t;
    r.entity = j["entity"].get<std::string>();
    r.from = j["from"].get<std::string>();
    r.to = j["to"].get<std::string>();
    if (j.contains("evidence") && j["evidence"].is_object() && j["evidence"].contains("root")) {
      r.root = j["evidence"]["root"].get<std::string>();
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool ScenarioOutcome::Passed() const {
  if (!false_alarms.empty()) return false;
  for (const ExpectationResult& r : results) {
    if (!r.detected || !r.root_ok) return false;
  }
  return true;
}

std::string ScenarioOutcome::Describe() const {
  std::string out;
  for (const ExpectationResult& r : results) {
    absl::StrAppend(&out, r.expect.entity, " -> ", Sv(FleetStateName(r.expect.state)), ": ",
                    r.detected
                        ? absl::StrCat("detected after ", absl::FormatDuration(r.time_to_detect))
                        : "NOT detected",
                    r.first_state.empty() ? "" : absl::StrCat(" (first state ", r.first_state, ")"),
                    r.root_ok ? "" : " (wrong root)", "\n");
  }
  for (const TransitionRecord& f : false_alarms) {
    absl::StrAppend(&out, "false alarm before onset: ", FormatRfc3339(f.time), " ", f.entity, " ",
                    f.from, " -> ", f.to, "\n");
  }
  absl::StrAppend(&out, "other entities leaving healthy after onset: ", other_transitions, "\n");
  return out;
}

ScenarioOutcome Evaluate(const sim::Scenario& scenario,
                         const std::vector<TransitionRecord>& transitions) {
  ScenarioOutcome out;
  const std::optional<absl::Duration> first = scenario.FirstOnset();
  const absl::Time onset = first.has_value() ? scenario.start + *first : absl::InfiniteFuture();
  for (const TransitionRecord& t : transitions) {
    if (t.from == "healthy" && t.time < onset) out.false_alarms.push_back(t);
  }
  for (const sim::Expectation& e : scenario.expect) {
    ExpectationResult r;
    r.expect = e;
    r.reference = scenario.start + e.from.value_or(first.value_or(absl::ZeroDuration()));
    const absl::Time deadline = r.reference + e.deadline;
    const std::string state(FleetStateName(e.state));
    for (const TransitionRecord& t : transitions) {
      if (t.entity != e.entity || t.time < r.reference) continue;
      if (r.first_state.empty() && t.to != "healthy") r.first_state = t.to;
      if (t.time <= deadline && t.to != "healthy") r.right_entity = true;
      if (t.to == state && !r.detected) {
        r.time_to_detect = t.time - r.reference;
        r.detected = t.time <= deadline;
        if (!e.root.empty()) r.root_ok = t.root == e.root;
      }
    }
    out.results.push_back(r);
  }
  for (const TransitionRecord& t : transitions) {
    if (t.time < onset || t.from != "healthy") continue;
    const bool expected =
        std::any_of(scenario.expect.begin(), scenario.expect.end(),
                    [&](const sim::Expectation& e) { return e.entity == t.entity; });
    if (!expected) ++out.other_transitions;
  }
  return out;
}

absl::StatusOr<std::vector<detectors::Transition>> RunInProcess(
    const sim::Scenario& scenario, const collector::PipelineOptions& options, uint64_t* items) {
  absl::StatusOr<std::unique_ptr<sim::FleetSimulator>> sim = sim::FleetSimulator::Create(scenario);
  if (!sim.ok()) return sim.status();
  collector::CollectingTransitionSink sink;
  collector::Pipeline pipeline(options, &sink);
  absl::Status s = (*sim)->Run([&](const candor::v1::IngestItem& item) {
    pipeline.Observe(item);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  pipeline.Finish();
  if (items != nullptr) *items = (*sim)->items_emitted();
  return sink.transitions();
}

}  // namespace candor::testing
