// The fleet classifier: the on-call runbook written as rules. For one entity and one closed
// window, each rule says whether its state's entry predicate holds (strict: effect-size floor
// plus a detector's statistical evidence plus the runbook's corroboration) and whether its
// hold predicate holds (relaxed, about 0.7 of the entry thresholds), with the evidence. The
// state machine (fleet_state_machine.h) adds persistence and hysteresis on top.
//
// The runbook encoded here (DESIGN §4):
// - tokens/s down against peers and own baseline with errors stable → hardware-degraded when
//   GPU clocks, thermals, XID or ECC corroborate; kv-thrashing when the KV cache is near full
//   and preemptions rise (then it is not called hardware);
// - queue rising with idle GPUs and completions near zero → queue-deadlock; with idle GPUs but
//   requests still completing → an upstream/downstream bottleneck (degraded-primary); queue
//   rising with busy GPUs → compute-saturated;
// - route timeouts preceded by a dependency's latency rise → cascading-timeout, the
//   earliest-onset slow dependency named as root; timeouts that dependencies explain are not
//   held against the model or replica that was waiting;
// - fallback activation far above its baseline → degraded-fallback even with HTTP success high;
// - circuit open, or failures past a breaker policy → provider-circuit-open;
// - validation failures, quality scores, output lengths or silent truncation shifted →
//   quality-degraded, unless longer prompts explain the truncation (then input-drift);
// - prompt lengths or tenant mix shifted → input-drift;
// - canary worse than stable on a rank test with an effect-size floor → canary-regressed;
// - annotations and fallback tier 5 → canary-paused, rollback-active, feature-disabled;
// - a failing synthetic probe on the entity raises every active condition's severity to
//   critical and shortens its persistence.
//
// Thread safety: pure functions.

#ifndef CANDOR_DETECTORS_FLEET_RULES_H_
#define CANDOR_DETECTORS_FLEET_RULES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/entity.h"
#include "common/states.h"
#include "detectors/entity_monitor.h"
#include "detectors/finding.h"
#include "detectors/fleet_signals.h"
#include "detectors/fleet_types.h"
#include "detectors/peer.h"

namespace candor::detectors {

// The entity's decode speed judged against its peers (same model version on other entities of
// the same kind), over every model version it serves.
struct PeerEval {
  bool available = false;
  double value = kNoValue;     // Count-weighted geometric mean of its decode tokens/s.
  double baseline = kNoValue;  // Same weighting of peer median × the learned reference ratio.
  double ratio = kNoValue;     // value / baseline.
  int peers = 0;
  Finding finding;  // The PeerRatioCusum finding of its largest cohort.
};

// GPU health of the entity (its own GpuSamples; a replica's GPU for replicas).
struct GpuEval {
  bool present = false;
  double clock_ratio = kNoValue;
  double throttle = kNoValue;
  double temperature = kNoValue;
  double xid = kNoValue;
  double ecc = kNoValue;
  // Clocks held below 90 %, throttle reasons in ≥ 30 % of samples, ≥ 85 °C, XID or ECC.
  bool Corroborates() const;
};

// A dependency's latency judged against its own baseline (for cascading-timeout).
struct DependencyEval {
  EntityId id;
  bool slow = false;     // Latency far above baseline now (entry strength).
  bool slowish = false;  // Still clearly above baseline (hold strength).
  absl::Time onset = absl::InfinitePast();
  EvidenceItem item;
};

// A canary version judged against the stable version(s) of the same model.
struct CanaryEval {
  bool available = false;
  std::string stable;  // The stable version compared with, "model:NAME@VERSION".
  MannWhitneyResult latency;
  double error_rate = kNoValue;
  double stable_error_rate = kNoValue;
  double error_p_value = kNoValue;  // Two-proportion Z test, canary vs stable.
  double validation_rate = kNoValue;
  double stable_validation_rate = kNoValue;
  double validation_p_value = kNoValue;  // Two-proportion Z test, canary vs stable.
  int64_t requests = 0;
};

// Operator facts from annotations, as of the end of the window.
struct AnnotationFacts {
  absl::Time canary_paused = absl::InfinitePast();  // Since when; InfinitePast if not.
  absl::Time rollback = absl::InfinitePast();
  absl::Time feature_disabled = absl::InfinitePast();
  std::string canary_paused_message, rollback_message, feature_disabled_message;
};

struct RuleInput {
  const WindowSummary* window = nullptr;
  const EntityEval* eval = nullptr;
  PeerEval peer;
  GpuEval gpu;
  // Providers: share of their nodes whose decode speed is ≤ 85 % of their peers'.
  double nodes_degraded_share = kNoValue;
  // Routes: the dependencies their events call.
  std::vector<DependencyEval> dependencies;
  // Dependencies: the routes currently timing out with this dependency as root.
  std::vector<std::string> cascading_routes;
  CanaryEval canary;
  AnnotationFacts facts;
  // Routes and models: tenant mix of this window against the reference mix, as a
  // Jensen-Shannon distance (natural log), and the requests it covers; NaN when not judged.
  double tenant_js = kNoValue;
  int64_t tenant_requests = 0;
  // Why latency may rise here without a fault on the primary path (a warming replica behind
  // the entity); empty when nothing explains it.
  std::string latency_explained;
  // Replicas, nodes and providers: the median error rate and service P95 of the entity's peers
  // (same kind; replicas of the same model version) this window; NaN with fewer than 2 peers.
  double peer_error_rate = kNoValue;
  double peer_service_p95 = kNoValue;
};

// What one rule concluded for one entity in one window.
struct RuleResult {
  FleetState state = FleetState::kHealthy;
  bool entry = false;  // Entry predicate held (implies hold).
  bool hold = false;   // Hold predicate held.
  // Consecutive entry windows required before the condition becomes active, and consecutive
  // windows without the hold predicate before it clears.
  int entry_windows = 3;
  int exit_windows = 3;
  Evidence evidence;
};

// Every rule that applies to the entity's kind, in severity order. Only rules whose entry or
// hold predicate held are returned.
std::vector<RuleResult> EvaluateRules(const RuleInput& in);

// A failing synthetic probe on the entity in this window (≥ 1 failed, ≥ half of the probes).
bool ProbeFailing(const WindowSummary& w);

// Judges a dependency's latency for cascading-timeout (used on dependency entities first, so
// routes can consult the result).
DependencyEval JudgeDependency(const WindowSummary& w, const EntityEval& eval);

// Helpers shared by the rules and the analyzer.
EvidenceItem FromSignal(Signal s, const SignalEval& e);
EvidenceItem FromRate(Rate r, const RateEval& e);

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_FLEET_RULES_H_
