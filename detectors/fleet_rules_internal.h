// The individual rules behind EvaluateRules (fleet_rules.h) and their shared helpers.
// Internal to detectors/; each rule appends a RuleResult when its entry or hold predicate
// holds.
//
// Thread safety: pure functions.

#ifndef CANDOR_DETECTORS_FLEET_RULES_INTERNAL_H_
#define CANDOR_DETECTORS_FLEET_RULES_INTERNAL_H_

#include <string>
#include <vector>

#include "detectors/fleet_rules.h"

namespace candor::detectors::rules {

// The stack's evaluation of `s` if the window has a value and the baseline is ready.
const SignalEval* Ready(const RuleInput& in, Signal s);
// The rate chart's evaluation of `r` if p0 is learned and the window has trials.
const RateEval* ReadyRate(const RuleInput& in, Rate r);
bool Up(const Finding& f);
bool Down(const Finding& f);
double WindowSeconds(const RuleInput& in);
// The finding's onset when active, never later than `fallback`; otherwise `fallback`.
absl::Time OnsetOr(const Finding& f, absl::Time fallback);
// Evidence for a fixed-policy threshold (no baseline).
EvidenceItem Policy(std::string signal, double value, double threshold);
std::string Pct(double x);
std::string Num(double x);
RuleResult Result(FleetState state, bool entry, bool hold, int entry_windows);

// System rules (fleet_rules_system.cc).
void NoData(const RuleInput& in, std::vector<RuleResult>& out);
void Warming(const RuleInput& in, std::vector<RuleResult>& out);
void QueueDeadlock(const RuleInput& in, std::vector<RuleResult>& out);
void ComputeSaturated(const RuleInput& in, std::vector<RuleResult>& out);
void KvThrashing(const RuleInput& in, std::vector<RuleResult>& out);
void HardwareDegraded(const RuleInput& in, std::vector<RuleResult>& out);

// Traffic and quality rules (fleet_rules_traffic.cc).
void CircuitOpen(const RuleInput& in, std::vector<RuleResult>& out);
void CascadingTimeout(const RuleInput& in, std::vector<RuleResult>& out);
void DegradedFallback(const RuleInput& in, std::vector<RuleResult>& out);
void CanaryRegressed(const RuleInput& in, std::vector<RuleResult>& out);
void QualityDegraded(const RuleInput& in, std::vector<RuleResult>& out);
void InputDrift(const RuleInput& in, std::vector<RuleResult>& out);
void DegradedPrimary(const RuleInput& in, std::vector<RuleResult>& out);
void OperatorFacts(const RuleInput& in, std::vector<RuleResult>& out);

}  // namespace candor::detectors::rules

#endif  // CANDOR_DETECTORS_FLEET_RULES_INTERNAL_H_
