// The fleet state machine's outputs: evidence, active conditions and transitions, with the
// JSON form DESIGN §5 fixes for `candor replay` and the HTTP API:
//
//   {"time": RFC3339, "entity": "provider:aws", "from": "healthy", "to": "hardware-degraded",
//    "conditions": [{"state": ..., "since": RFC3339, "evidence": {...}}, ...],
//    "evidence": {...}}
//
// Evidence names the signal, its value, its baseline (own history, peers, the stable version,
// a reference window or a fixed policy), the detector and its statistic, the estimated onset,
// the one-line runbook reasoning, the supporting signals and, for cascading-timeout, the root
// dependency and its onset. Numbers are written with up to 6 significant digits and times in
// RFC 3339, so the same transitions always give the same bytes.
//
// Thread safety: plain values; the functions are pure.

#ifndef CANDOR_DETECTORS_FLEET_TYPES_H_
#define CANDOR_DETECTORS_FLEET_TYPES_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/entity.h"
#include "common/states.h"
#include "detectors/fleet_signals.h"

namespace candor::detectors {

// One signal's part in a judgement.
struct EvidenceItem {
  std::string signal;           // e.g. "decode_tps_p50"
  double value = kNoValue;      // What was observed.
  double baseline = kNoValue;   // What was expected.
  std::string baseline_source;  // "own" | "peers" | "stable" | "reference" | "policy"
  std::string detector;         // e.g. "peer_ratio_cusum", "bernoulli_cusum", "signal"
  std::string statistic;        // e.g. "cusum_lower"
  double statistic_value = kNoValue;
  double threshold = kNoValue;
};

struct Evidence {
  EvidenceItem primary;
  std::vector<EvidenceItem> corroboration;
  absl::Time onset = absl::InfinitePast();  // Estimated start; InfinitePast if unknown.
  std::string summary;                      // One line of runbook reasoning.
  std::string root;                         // cascading-timeout: "dependency:vector-db".
  absl::Time root_onset = absl::InfinitePast();
  std::string severity = "warning";  // "warning", or "critical" when probes fail too.
};

struct Condition {
  FleetState state = FleetState::kHealthy;
  absl::Time since;  // When the condition became active (event time).
  Evidence evidence;
};

struct Transition {
  absl::Time time;  // Event time of the decision (the end of the window that decided it).
  EntityId entity;
  FleetState from = FleetState::kHealthy;
  FleetState to = FleetState::kHealthy;
  std::vector<Condition> conditions;  // Every condition active after the transition.
  Evidence evidence;                  // Why `to` (for `healthy`: what cleared).
};

// An entity's current standing, for the HTTP API.
struct EntityStatus {
  EntityId entity;
  FleetState state = FleetState::kHealthy;
  absl::Time since;  // When the entity entered `state`.
  std::vector<Condition> conditions;
};

// One JSON object on one line, in DESIGN §5's form.
std::string TransitionToJson(const Transition& t);
std::string EvidenceToJson(const Evidence& e);
std::string ConditionToJson(const Condition& c);
std::string EntityStatusToJson(const EntityStatus& s);

// `x` for JSON: up to 6 significant digits, integers without a fraction, "null" if not finite.
std::string JsonNumber(double x);

// "provider:aws healthy -> hardware-degraded: decode_tps_p50 28.1 vs peers 47.9 (...)": the
// one-line form printed live in the terminal.
std::string TransitionOneLine(const Transition& t);

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_FLEET_TYPES_H_
