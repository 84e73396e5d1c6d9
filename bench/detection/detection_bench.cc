// Detection-quality benchmark (bench/README.md, "Detection quality").
//
//   detection_bench --matrix [--jobs N]        every fault kind × magnitudes × onset shapes
//   detection_bench --healthy-hours H [--seed S]  healthy diurnal traffic: transitions counted
//   detection_bench --scenario FILE [--print]  one scenario file, its transitions and verdicts
//
// Everything runs in process (simulator → pipeline, no JSON) on the full simulated fleet:
// 3 providers × 2 GPU nodes × 2 replicas, a canary and an external provider, at 20–40
// requests/s per replica (the trough of the daily cycle, 20/s, during the fault runs).
// Time to detect is event time from the fault's onset to the transition into the expected
// state on the expected entity.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/strings.h"
#include "detectors/fleet_types.h"
#include "sim/scenario.h"
#include "tests/testing/scenario_eval.h"

namespace candor {
namespace {

using sim::FaultKind;

struct MatrixRow {
  FaultKind kind;
  std::string target;
  std::string entity;  // Where the state is expected.
  FleetState state;
  std::vector<double> magnitudes;
  bool ramp = true;  // Whether a ramp onset makes sense for the kind.
  std::string root;
};

MatrixRow R(FaultKind kind, std::string target, std::string entity, FleetState state,
            std::vector<double> magnitudes, bool ramp = true, std::string root = "") {
  return {kind, std::move(target), std::move(entity), state, std::move(magnitudes),
          ramp, std::move(root)};
}

std::vector<MatrixRow> Rows() {
  using S = FleetState;
  return {
      R(FaultKind::kKvThrash, "replica:llama-aws-1", "replica:llama-aws-1", S::kKvThrashing,
        {0.5, 0.75, 1.0}),
      R(FaultKind::kQueueDeadlock, "replica:mistral-gcp-2", "replica:mistral-gcp-2",
        S::kQueueDeadlock, {0.9, 0.95, 1.0}),
      R(FaultKind::kComputeSaturation, "replica:llama-gcp-1", "replica:llama-gcp-1",
        S::kComputeSaturated, {2.5, 3.0, 4.0}),
      R(FaultKind::kHardwareSlowdown, "node:gcp-gpu-2", "node:gcp-gpu-2", S::kHardwareDegraded,
        {0.25, 0.4, 0.6}),
      R(FaultKind::kHardwareSlowdown, "provider:aws", "provider:aws", S::kHardwareDegraded,
        {0.25, 0.4, 0.6}),
      R(FaultKind::kCircuitOpen, "provider:openai", "provider:openai", S::kProviderCircuitOpen,
        {0.5, 0.8, 1.0}),
      R(FaultKind::kProviderErrors, "provider:openai", "provider:openai", S::kProviderCircuitOpen,
        {0.6, 0.8, 1.0}),
      R(FaultKind::kFallbackSurge, "route:chat", "route:chat", S::kDegradedFallback,
        {0.1, 0.2, 0.35}),
      R(FaultKind::kValidationFailures, "model:llama-3-70b@v184", "model:llama-3-70b@v184",
        S::kQualityDegraded, {0.1, 0.2, 0.4}),
      R(FaultKind::kSilentTruncation, "route:summarize", "route:summarize", S::kQualityDegraded,
        {0.1, 0.3, 0.5}),
      R(FaultKind::kInputDrift, "route:chat", "route:chat", S::kInputDrift, {1.5, 2.0, 3.0}),
      R(FaultKind::kDependencySlowdown, "dependency:vector-db", "route:search",
        S::kCascadingTimeout, {12, 20, 40}, true, "dependency:vector-db"),
      R(FaultKind::kCanaryRegression, "model:llama-3-70b@v185", "model:llama-3-70b@v185",
        S::kCanaryRegressed, {0.3, 0.5, 1.0}),
      R(FaultKind::kModelWarming, "replica:mistral-azure-1", "replica:mistral-azure-1",
        S::kModelWarming, {0.3, 0.5, 0.8}, false),
      R(FaultKind::kReplicaSilent, "replica:llama-azure-1", "replica:llama-azure-1", S::kNoData,
        {1.0}, false),
      R(FaultKind::kPrimaryErrors, "model:mistral-7b@v0.3", "model:mistral-7b@v0.3",
        S::kDegradedPrimary, {0.05, 0.1, 0.2}),
      R(FaultKind::kLatencyRegression, "model:mistral-7b@v0.3", "model:mistral-7b@v0.3",
        S::kDegradedPrimary, {0.5, 1.0, 2.0}),
      R(FaultKind::kFeatureDisabled, "route:assist", "route:assist", S::kFeatureDisabled,
        {0.6, 0.8, 1.0}),
  };
}

constexpr absl::Duration kOnset = absl::Minutes(10);
constexpr absl::Duration kAfter = absl::Minutes(6);

struct Run {
  std::string fault;
  std::string target;
  std::string entity;
  std::string state;
  double magnitude = 0;
  std::string shape;
  testing::ScenarioOutcome outcome;
  uint64_t items = 0;
  double seconds = 0;
};

sim::Scenario MakeScenario(const MatrixRow& row, double magnitude, bool ramp, uint64_t seed) {
  sim::Scenario s;
  s.name = absl::StrCat(Sv(sim::FaultKindName(row.kind)), "/", row.target, "/", magnitude, "/",
                        ramp ? "ramp" : "step");
  s.seed = seed;
  s.duration = kOnset + kAfter;
  sim::FaultSpec f;
  f.kind = row.kind;
  f.target = row.target;
  f.onset = kOnset;
  f.shape = ramp ? sim::OnsetShape::kRamp : sim::OnsetShape::kStep;
  f.ramp = absl::Minutes(2);
  f.magnitude = magnitude;
  if (row.kind == FaultKind::kModelWarming) f.duration = absl::Minutes(3);
  s.faults.push_back(f);
  sim::Expectation e;
  e.entity = row.entity;
  e.state = row.state;
  e.deadline = kAfter;
  e.root = row.root;
  s.expect.push_back(e);
  return s;
}

std::string Seconds(absl::Duration d) {
  return d == absl::InfiniteDuration() ? "—" : absl::StrCat(absl::ToInt64Seconds(d));
}

int RunMatrix(int jobs) {
  std::vector<std::pair<sim::Scenario, Run>> work;
  uint64_t seed = 1000;
  for (const MatrixRow& row : Rows()) {
    for (double m : row.magnitudes) {
      for (bool ramp : {false, true}) {
        if (ramp && !row.ramp) continue;
        Run r;
        r.fault = std::string(sim::FaultKindName(row.kind));
        r.target = row.target;
        r.entity = row.entity;
        r.state = std::string(FleetStateName(row.state));
        r.magnitude = m;
        r.shape = ramp ? "ramp 2m" : "step";
        work.emplace_back(MakeScenario(row, m, ramp, ++seed), r);
      }
    }
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  RealClock clock;
  const absl::Time started = clock.MonotonicNow();
  const auto worker = [&]() {
    for (size_t i = next++; i < work.size(); i = next++) {
      const absl::Time t0 = clock.MonotonicNow();
      uint64_t items = 0;
      auto transitions = testing::RunInProcess(work[i].first, {}, &items);
      std::vector<testing::TransitionRecord> records;
      if (transitions.ok()) {
        for (const auto& t : *transitions) records.push_back(testing::ToRecord(t));
      }
      std::lock_guard<std::mutex> lock(mu);
      work[i].second.outcome = testing::Evaluate(work[i].first, records);
      work[i].second.items = items;
      work[i].second.seconds = absl::ToDoubleSeconds(clock.MonotonicNow() - t0);
      std::fprintf(stderr, "[%zu/%zu] %s\n", i + 1, work.size(), work[i].first.name.c_str());
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < std::max(1, jobs); ++j) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  std::printf(
      "| fault | injected on | magnitude | onset | expected | detected | right entity | "
      "right state | time to detect (s) | first state there | false alarms before "
      "onset | other entities leaving healthy |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<double> ttd;
  int detected = 0, entity_ok = 0, state_ok = 0, false_alarms = 0;
  uint64_t items = 0;
  for (const auto& [scenario, r] : work) {
    const testing::ExpectationResult& e = r.outcome.results.front();
    const bool ok = e.detected && e.root_ok;
    detected += ok ? 1 : 0;
    entity_ok += e.right_entity ? 1 : 0;
    state_ok += (e.first_state == r.state || ok) ? 1 : 0;
    false_alarms += static_cast<int>(r.outcome.false_alarms.size());
    items += r.items;
    if (ok) ttd.push_back(absl::ToDoubleSeconds(e.time_to_detect));
    std::printf("| %s | %s | %g | %s | %s on %s | %s | %s | %s | %s | %s | %zu | %d |\n",
                r.fault.c_str(), r.target.c_str(), r.magnitude, r.shape.c_str(), r.state.c_str(),
                r.entity.c_str(), ok ? "yes" : "**no**", e.right_entity ? "yes" : "**no**",
                ok ? "yes" : "**no**", Seconds(e.time_to_detect).c_str(),
                e.first_state.empty() ? "—" : e.first_state.c_str(), r.outcome.false_alarms.size(),
                r.outcome.other_transitions);
  }
  // Per fault and target: runs, detections, median and worst time to detect.
  std::printf(
      "\n| fault | injected on | runs | detected | median time to detect (s) | worst (s) |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < work.size();) {
    size_t j = i;
    std::vector<double> times;
    int ok = 0;
    for (; j < work.size() && work[j].second.fault == work[i].second.fault &&
           work[j].second.target == work[i].second.target;
         ++j) {
      const testing::ExpectationResult& e = work[j].second.outcome.results.front();
      if (e.detected && e.root_ok) {
        ++ok;
        times.push_back(absl::ToDoubleSeconds(e.time_to_detect));
      }
    }
    std::sort(times.begin(), times.end());
    std::printf("| %s | %s | %zu | %d | %s | %s |\n", work[i].second.fault.c_str(),
                work[i].second.target.c_str(), j - i, ok,
                times.empty() ? "—" : absl::StrCat(times[times.size() / 2]).c_str(),
                times.empty() ? "—" : absl::StrCat(times.back()).c_str());
    i = j;
  }
  std::sort(ttd.begin(), ttd.end());
  const auto pct = [&](double q) {
    return ttd.empty() ? 0.0
                       : ttd[std::min(ttd.size() - 1,
                                      static_cast<size_t>(q * static_cast<double>(ttd.size())))];
  };
  const double secs = absl::ToDoubleSeconds(clock.MonotonicNow() - started);
  std::printf(
      "\n%zu runs: detected with the right state on the right entity in %d (%.0f %%); the "
      "expected entity left healthy in %d; time to detect median %.0f s, p90 %.0f s, worst %.0f "
      "s; %d false alarms before onset. %llu items in %.0f s.\n",
      work.size(), detected, 100.0 * detected / static_cast<double>(work.size()), entity_ok,
      pct(0.5), pct(0.9), ttd.empty() ? 0.0 : ttd.back(), false_alarms,
      static_cast<unsigned long long>(items), secs);
  (void)state_ok;
  return detected == static_cast<int>(work.size()) && false_alarms == 0 ? 0 : 1;
}

int RunHealthy(double hours, uint64_t seed) {
  sim::Scenario s = sim::HealthyScenario(absl::Seconds(hours * 3600), seed);
  RealClock clock;
  const absl::Time t0 = clock.MonotonicNow();
  uint64_t items = 0;
  auto transitions = testing::RunInProcess(s, {}, &items);
  const double secs = absl::ToDoubleSeconds(clock.MonotonicNow() - t0);
  if (!transitions.ok()) {
    std::fprintf(stderr, "%s\n", std::string(transitions.status().message()).c_str());
    return 2;
  }
  int away = 0;
  for (const auto& t : *transitions) {
    std::printf("%s\n", detectors::TransitionOneLine(t).c_str());
    away += t.from == FleetState::kHealthy ? 1 : 0;
  }
  std::printf(
      "healthy %.0f h (seed %llu): %d transitions away from healthy, %zu in all; %llu "
      "items in %.0f s (%.0f items/s, simulation and detection in one process)\n",
      hours, static_cast<unsigned long long>(seed), away, transitions->size(),
      static_cast<unsigned long long>(items), secs, static_cast<double>(items) / secs);
  return away == 0 ? 0 : 1;
}

int RunOne(const std::string& path, bool print) {
  absl::StatusOr<sim::Scenario> s = sim::LoadScenarioFile(path);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.status().message()).c_str());
    return 2;
  }
  RealClock clock;
  const absl::Time t0 = clock.MonotonicNow();
  uint64_t items = 0;
  auto transitions = testing::RunInProcess(*s, {}, &items);
  const double secs = absl::ToDoubleSeconds(clock.MonotonicNow() - t0);
  if (!transitions.ok()) {
    std::fprintf(stderr, "%s\n", std::string(transitions.status().message()).c_str());
    return 2;
  }
  std::vector<testing::TransitionRecord> records;
  for (const auto& t : *transitions) {
    records.push_back(testing::ToRecord(t));
    if (print) std::printf("%s\n", detectors::TransitionOneLine(t).c_str());
  }
  const auto outcome = testing::Evaluate(*s, records);
  std::printf("%s: %llu items in %.1f s (%.0f items/s)\n%s", s->name.c_str(),
              static_cast<unsigned long long>(items), secs, static_cast<double>(items) / secs,
              outcome.Describe().c_str());
  return outcome.Passed() ? 0 : 1;
}

}  // namespace
}  // namespace candor

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string scenario;
  bool print = false, matrix = false;
  double hours = 0;
  uint64_t seed = 101;
  int jobs = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (args[i] == "--scenario" && has_value) scenario = args[++i];
    if (args[i] == "--print") print = true;
    if (args[i] == "--matrix") matrix = true;
    if (args[i] == "--healthy-hours" && has_value) (void)absl::SimpleAtod(args[++i], &hours);
    if (args[i] == "--seed" && has_value) (void)absl::SimpleAtoi(args[++i], &seed);
    if (args[i] == "--jobs" && has_value) (void)absl::SimpleAtoi(args[++i], &jobs);
  }
  if (!scenario.empty()) return candor::RunOne(scenario, print);
  if (matrix) return candor::RunMatrix(jobs);
  if (hours > 0) return candor::RunHealthy(hours, seed);
  std::fprintf(stderr,
               "usage: detection_bench --matrix [--jobs N] | --healthy-hours H [--seed S] | "
               "--scenario FILE [--print]\n");
  return 2;
}
