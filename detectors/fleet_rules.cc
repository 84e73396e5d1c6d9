#include "detectors/fleet_rules.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "detectors/fleet_rules_internal.h"

namespace candor::detectors {

using S = Signal;

bool GpuEval::Corroborates() const {
  if (!present) return false;
  return clock_ratio < 0.9 || throttle >= 0.3 || temperature >= 85.0 || xid > 0.0 || ecc > 0.0;
}

bool ProbeFailing(const WindowSummary& w) {
  const double n = w.Get(S::kSynthetic);
  const double failed = w.Get(S::kSyntheticFailed);
  return n >= 1.0 && failed >= 1.0 && failed >= 0.5 * n;
}

EvidenceItem FromSignal(Signal s, const SignalEval& e) {
  EvidenceItem item;
  item.signal = std::string(SignalName(s));
  item.value = e.value;
  item.baseline = e.ready ? e.expected : kNoValue;
  item.baseline_source = e.ready ? "own" : "";
  item.detector = e.finding.active ? std::string(e.finding.detector) : "signal";
  if (e.finding.active) {
    item.statistic = std::string(e.finding.statistic);
    item.statistic_value = e.finding.statistic_value;
    item.threshold = e.finding.threshold;
  }
  return item;
}

EvidenceItem FromRate(Rate r, const RateEval& e) {
  EvidenceItem item;
  item.signal = std::string(RateName(r));
  item.value = e.rate;
  item.baseline = e.p0;
  item.baseline_source = "own";
  item.detector = std::string(e.finding.detector.empty() ? "bernoulli_cusum" : e.finding.detector);
  item.statistic = std::string(e.finding.statistic);
  item.statistic_value = e.finding.statistic_value;
  item.threshold = e.finding.threshold;
  return item;
}

namespace rules {

const SignalEval* Ready(const RuleInput& in, Signal s) {
  const SignalEval* e = in.eval->Signal(s);
  if (e == nullptr || !e->present || !e->ready || !std::isfinite(e->expected)) return nullptr;
  return e;
}

const RateEval* ReadyRate(const RuleInput& in, Rate r) {
  const RateEval* e = in.eval->RateOf(r);
  if (e == nullptr || !e->ready || !std::isfinite(e->rate)) return nullptr;
  return e;
}

bool Up(const Finding& f) { return f.active && f.direction != Direction::kDown; }
bool Down(const Finding& f) { return f.active && f.direction != Direction::kUp; }

double WindowSeconds(const RuleInput& in) {
  return absl::ToDoubleSeconds(in.window->end - in.window->start);
}

absl::Time OnsetOr(const Finding& f, absl::Time fallback) {
  return f.active && f.onset != absl::InfinitePast() ? std::min(f.onset, fallback) : fallback;
}

EvidenceItem Policy(std::string signal, double value, double threshold) {
  EvidenceItem item;
  item.signal = std::move(signal);
  item.value = value;
  item.baseline_source = "policy";
  item.detector = "threshold";
  item.threshold = threshold;
  return item;
}

std::string Pct(double x) { return absl::StrFormat("%.1f%%", 100.0 * x); }
std::string Num(double x) {
  if (std::abs(x) < 5e-4) return "0";
  return std::abs(x) >= 100 ? absl::StrFormat("%.0f", x) : absl::StrFormat("%.3g", x);
}

RuleResult Result(FleetState state, bool entry, bool hold, int entry_windows) {
  RuleResult r;
  r.state = state;
  r.entry = entry;
  r.hold = hold || entry;
  r.entry_windows = entry_windows;
  return r;
}

}  // namespace rules

DependencyEval JudgeDependency(const WindowSummary& w, const EntityEval& eval) {
  DependencyEval d;
  d.id = w.entity;
  const SignalEval* s = eval.Signal(S::kLatencyP95);
  const RateEval* t = eval.RateOf(Rate::kTimeouts);
  const bool timing_out = t != nullptr && t->ready && t->rate >= 0.05 && t->trials >= 10;
  if (s != nullptr && s->present && s->ready) {
    d.slow =
        (s->value >= std::max(3.0 * s->expected, s->expected + 200.0) && rules::Up(s->finding));
    d.slowish = s->value >= std::max(2.0 * s->expected, s->expected + 100.0);
    d.item = FromSignal(S::kLatencyP95, *s);
    d.onset = rules::OnsetOr(s->finding, w.start);
  }
  if (timing_out) {
    d.slow = d.slowish = true;
    if (d.item.signal.empty()) d.item = FromRate(Rate::kTimeouts, *t);
    d.onset = std::min(d.onset == absl::InfinitePast() ? w.start : d.onset,
                       rules::OnsetOr(t->finding, w.start));
  }
  return d;
}

std::vector<RuleResult> EvaluateRules(const RuleInput& in) {
  std::vector<RuleResult> out;
  const EntityKind kind = in.window->entity.kind;
  rules::NoData(in, out);
  if (kind == EntityKind::kReplica) {
    rules::Warming(in, out);
    rules::QueueDeadlock(in, out);
  }
  if (kind == EntityKind::kProvider) rules::CircuitOpen(in, out);
  if (kind == EntityKind::kRoute || kind == EntityKind::kDependency) {
    rules::CascadingTimeout(in, out);
  }
  if (kind == EntityKind::kReplica || kind == EntityKind::kNode || kind == EntityKind::kProvider) {
    rules::HardwareDegraded(in, out);
  }
  if (kind == EntityKind::kReplica || kind == EntityKind::kNode) rules::KvThrashing(in, out);
  if (kind == EntityKind::kReplica || kind == EntityKind::kModel) {
    rules::ComputeSaturated(in, out);
  }
  if (kind == EntityKind::kRoute) rules::DegradedFallback(in, out);
  if (kind == EntityKind::kModel) rules::CanaryRegressed(in, out);
  if (kind == EntityKind::kModel || kind == EntityKind::kRoute) {
    rules::QualityDegraded(in, out);
  }
  if (kind != EntityKind::kRegion && kind != EntityKind::kZone && kind != EntityKind::kGpu) {
    rules::DegradedPrimary(in, out);
  }
  if (kind == EntityKind::kModel || kind == EntityKind::kRoute) rules::InputDrift(in, out);
  rules::OperatorFacts(in, out);
  if (ProbeFailing(*in.window)) {
    for (RuleResult& r : out) {
      r.evidence.severity = "critical";
      r.entry_windows = std::max(1, r.entry_windows - 1);
      r.evidence.corroboration.push_back(
          rules::Policy("synthetic_failure_fraction",
                        in.window->Get(S::kSyntheticFailed) / in.window->Get(S::kSynthetic), 0.5));
    }
  }
  return out;
}

}  // namespace candor::detectors
