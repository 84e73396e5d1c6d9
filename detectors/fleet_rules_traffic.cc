// Traffic-side rules: breakers, timeouts and their root cause, fallbacks, canaries, output
// quality, input drift, the primary path's SLO, and operator facts. Rates need both a
// Bernoulli CUSUM alarm (statistical evidence, with its onset) and an effect-size floor
// against the learned rate, e.g. fallbacks at least 5 % and 4× baseline.

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "detectors/fleet_rules_internal.h"

namespace candor::detectors::rules {

using S = Signal;

namespace {

// A rate far above its learned p0: at least `floor` and `factor` × p0, with a chart alarm.
bool RateUp(const RateEval& r, double floor, double factor, int64_t min_trials) {
  return r.trials >= min_trials && r.rate >= std::max(floor, factor * r.p0) && r.finding.active;
}
bool RateHold(const RateEval& r, double floor, double factor) {
  return r.rate >= std::max(floor, factor * r.p0);
}

// A signal far above (or below) its own baseline, with the stack's alarm.
bool SignalUp(const SignalEval& s, double factor, double plus) {
  return s.value >= std::max(factor * s.expected, s.expected + plus) && Up(s.finding);
}
bool SignalHoldUp(const SignalEval& s, double factor, double plus) {
  return s.value >= std::max(factor * s.expected, s.expected + plus);
}

double Count(const WindowSummary& w, Signal s) {
  const double v = w.Get(s);
  return std::isfinite(v) ? v : 0.0;
}

}  // namespace

void CircuitOpen(const RuleInput& in, std::vector<RuleResult>& out) {
  const WindowSummary& w = *in.window;
  const double n = Count(w, S::kRequests);
  if (n <= 0.0) return;
  const double open = Count(w, S::kCircuitOpen);
  const double fails = Count(w, S::kErrors) + Count(w, S::kTimeouts) + Count(w, S::kHttp429);
  const double open_frac = open / n;
  const double fail_frac = fails / n;
  const bool open_entry = open >= 3.0 && open_frac >= 0.2;
  const bool fail_entry = n >= 20.0 && fail_frac >= 0.5;
  const bool hold = (open >= 1.0 && open_frac >= 0.05) || (n >= 10.0 && fail_frac >= 0.25);
  if (!open_entry && !fail_entry && !hold) return;
  RuleResult r = Result(FleetState::kProviderCircuitOpen, open_entry || fail_entry, hold, 1);
  if (open_frac >= 0.05 || !fail_entry) {
    r.evidence.primary = Policy("circuit_open_fraction", open_frac, 0.2);
    r.evidence.primary.detector = "breaker";
    r.evidence.corroboration.push_back(Policy("failure_fraction", fail_frac, 0.5));
    r.evidence.summary = absl::StrCat("the gateway's circuit to the provider is open for ",
                                      Pct(open_frac), " of requests");
  } else {
    r.evidence.primary = Policy("failure_fraction", fail_frac, 0.5);
    r.evidence.primary.detector = "breaker_policy";
    r.evidence.summary =
        absl::StrCat(Pct(fail_frac),
                     " of requests fail (5xx, 429, timeouts): ", "past the breaker policy of 50 %");
  }
  r.evidence.onset = w.start;
  out.push_back(std::move(r));
}

void CascadingTimeout(const RuleInput& in, std::vector<RuleResult>& out) {
  const WindowSummary& w = *in.window;
  if (w.entity.kind == EntityKind::kDependency) {
    if (in.cascading_routes.empty()) return;
    const DependencyEval d = JudgeDependency(w, *in.eval);
    if (!d.slowish) return;
    RuleResult r = Result(FleetState::kCascadingTimeout, d.slow, d.slowish, 2);
    r.evidence.primary = d.item;
    r.evidence.root = w.entity.ToString();
    r.evidence.root_onset = d.onset;
    r.evidence.onset = d.onset;
    std::string routes;
    for (const std::string& route : in.cascading_routes) {
      absl::StrAppend(&routes, routes.empty() ? "" : ", ", route);
    }
    r.evidence.summary =
        absl::StrCat("latency rise from ", FormatRfc3339(d.onset), " drives timeouts on ", routes);
    out.push_back(std::move(r));
    return;
  }
  const RateEval* t = ReadyRate(in, Rate::kTimeouts);
  if (t == nullptr) return;
  const bool timeouts_entry = RateUp(*t, 0.05, 3.0, 20);
  const bool timeouts_hold = RateHold(*t, 0.02, 2.0);
  if (!timeouts_entry && !timeouts_hold) return;
  const absl::Time route_onset = t->Onset(w.start);
  const DependencyEval* root = nullptr;
  bool root_slow = false;
  for (const DependencyEval& d : in.dependencies) {
    if (!d.slowish) continue;
    // The dependency must have slowed no later than the timeouts began (one window of
    // tolerance: both may surface in the same window).
    if (d.slow && d.onset > route_onset + (w.end - w.start)) continue;
    if (root == nullptr || (d.slow && !root_slow) ||
        (d.slow == root_slow && d.onset < root->onset)) {
      root = &d;
      root_slow = d.slow;
    }
  }
  if (root == nullptr) return;
  const bool entry = timeouts_entry && root_slow;
  RuleResult r = Result(FleetState::kCascadingTimeout, entry, timeouts_hold, 2);
  r.evidence.primary = FromRate(Rate::kTimeouts, *t);
  r.evidence.corroboration.push_back(root->item);
  r.evidence.root = root->id.ToString();
  r.evidence.root_onset = root->onset;
  r.evidence.onset = std::min(route_onset, root->onset);
  r.evidence.summary =
      absl::StrCat(Pct(t->rate), " of requests time out (usual ", Pct(t->p0), ") after ",
                   r.evidence.root, " slowed from ", FormatRfc3339(root->onset));
  out.push_back(std::move(r));
}

void DegradedFallback(const RuleInput& in, std::vector<RuleResult>& out) {
  const RateEval* f = ReadyRate(in, Rate::kFallback);
  if (f == nullptr) return;
  const bool entry = RateUp(*f, 0.05, 4.0, 30);
  const bool hold = RateHold(*f, 0.03, 2.5);
  if (!entry && !hold) return;
  RuleResult r = Result(FleetState::kDegradedFallback, entry, hold, 3);
  r.evidence.primary = FromRate(Rate::kFallback, *f);
  const WindowSummary& w = *in.window;
  const double n = Count(w, S::kRequests);
  const double ok = n > 0.0 ? Count(w, S::kOk) / n : kNoValue;
  r.evidence.corroboration.push_back(Policy("success_fraction", ok, kNoValue));
  r.evidence.onset = f->Onset(w.start);
  r.evidence.summary = absl::StrCat(Pct(f->rate), " of requests served by a fallback (usual ",
                                    Pct(f->p0), ") while ", Pct(ok), " succeed");
  out.push_back(std::move(r));
}

void CanaryRegressed(const RuleInput& in, std::vector<RuleResult>& out) {
  const CanaryEval& c = in.canary;
  if (!c.available) return;
  const MannWhitneyResult& mw = c.latency;
  const bool slower = mw.verdict == JudgeVerdict::kHigh;
  const bool errors =
      c.requests >= 50 && c.error_p_value <= 0.001 &&
      c.error_rate >= std::max(2.0 * c.stable_error_rate, c.stable_error_rate + 0.03);
  const bool invalid = c.validation_p_value <= 0.001 &&
                       c.validation_rate >= std::max(2.0 * c.stable_validation_rate,
                                                     c.stable_validation_rate + 0.03);
  const bool hold = mw.mean_ratio >= 1.12 || c.error_rate >= c.stable_error_rate + 0.015 ||
                    c.validation_rate >= c.stable_validation_rate + 0.015;
  const bool entry = slower || errors || invalid;
  if (!entry && !hold) return;
  RuleResult r = Result(FleetState::kCanaryRegressed, entry, hold, 3);
  EvidenceItem lat;
  lat.signal = "latency_ms_mean";
  lat.value = mw.mean_experiment;
  lat.baseline = mw.mean_control;
  lat.baseline_source = "stable";
  lat.detector = "mann_whitney";
  lat.statistic = "p_value";
  lat.statistic_value = mw.p_value;
  lat.threshold = 0.02;
  EvidenceItem err;
  err.signal = "error_rate";
  err.value = c.error_rate;
  err.baseline = c.stable_error_rate;
  err.baseline_source = "stable";
  err.detector = "z_proportion";
  err.statistic = "p_value";
  err.statistic_value = c.error_p_value;
  err.threshold = 0.001;
  EvidenceItem val = Policy("validation_failure_rate", c.validation_rate, kNoValue);
  val.baseline = c.stable_validation_rate;
  val.baseline_source = "stable";
  if (slower || !(errors || invalid)) {
    r.evidence.primary = lat;
    r.evidence.corroboration = {err, val};
  } else if (errors) {
    r.evidence.primary = err;
    r.evidence.corroboration = {lat, val};
  } else {
    r.evidence.primary = val;
    r.evidence.corroboration = {lat, err};
  }
  r.evidence.onset = in.window->start;
  r.evidence.summary = absl::StrCat(
      "canary vs ", c.stable, ": latency ×", Num(mw.mean_ratio), " (HL shift ", Num(mw.hl_estimate),
      " ms), errors ", Pct(c.error_rate), " vs ", Pct(c.stable_error_rate),
      ", validation failures ", Pct(c.validation_rate), " vs ", Pct(c.stable_validation_rate));
  out.push_back(std::move(r));
}

void QualityDegraded(const RuleInput& in, std::vector<RuleResult>& out) {
  const WindowSummary& w = *in.window;
  RuleResult r = Result(FleetState::kQualityDegraded, false, false, 3);
  std::vector<std::pair<bool, EvidenceItem>> items;  // (entry, evidence)
  absl::Time onset = w.start;
  std::string summary;
  if (const RateEval* v = ReadyRate(in, Rate::kValidation)) {
    const bool entry = RateUp(*v, 0.05, 3.0, 20);
    if (entry || RateHold(*v, 0.03, 2.0)) {
      items.emplace_back(entry, FromRate(Rate::kValidation, *v));
      onset = std::min(onset, v->Onset(w.start));
      summary = absl::StrCat("validation failures at ", Pct(v->rate), " (usual ", Pct(v->p0), ")");
    }
  }
  // Longer prompts explain more truncation: that is input drift, not a quality fault.
  const SignalEval* input = Ready(in, S::kInputTokensP50);
  const bool longer_inputs = input != nullptr && input->value >= 1.3 * input->expected;
  if (const RateEval* t = ReadyRate(in, Rate::kTruncation); t != nullptr && !longer_inputs) {
    const bool entry = RateUp(*t, 0.03, 3.0, 30);
    if (entry || RateHold(*t, 0.02, 2.0)) {
      items.emplace_back(entry, FromRate(Rate::kTruncation, *t));
      onset = std::min(onset, t->Onset(w.start));
      absl::StrAppend(&summary, summary.empty() ? "" : "; ", "silent truncation of ", Pct(t->rate),
                      " of prompts (usual ", Pct(t->p0), ")");
    }
  }
  // Output lengths and scores of the requests that still succeed say little while many fail
  // (the survivors are the short ones): then they are not evidence of a quality fault.
  const RateEval* errors = ReadyRate(in, Rate::kErrors);
  const bool failing = errors != nullptr && errors->rate >= std::max(0.05, 3.0 * errors->p0);
  if (const SignalEval* o = Ready(in, S::kOutputTokensMean)) {
    const double ratio = o->value / o->expected;
    const bool entry = (ratio <= 0.6 || ratio >= 1.6) && o->finding.active && !failing;
    if (entry || ratio <= 0.75 || ratio >= 1.35) {
      items.emplace_back(entry, FromSignal(S::kOutputTokensMean, *o));
      absl::StrAppend(&summary, summary.empty() ? "" : "; ", "output length ×", Num(ratio));
    }
  }
  if (const SignalEval* q = Ready(in, S::kQualityMean)) {
    const bool entry = q->value <= q->expected - 0.1 && Down(q->finding) && !failing;
    if (entry || q->value <= q->expected - 0.06) {
      items.emplace_back(entry, FromSignal(S::kQualityMean, *q));
      absl::StrAppend(&summary, summary.empty() ? "" : "; ", "quality score ", Num(q->value),
                      " vs ", Num(q->expected));
    }
  }
  if (items.empty()) return;
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.first && !b.first; });
  r.entry = items.front().first;
  r.hold = true;
  r.evidence.primary = items.front().second;
  for (size_t i = 1; i < items.size(); ++i) r.evidence.corroboration.push_back(items[i].second);
  if (const RateEval* e = ReadyRate(in, Rate::kErrors)) {
    r.evidence.corroboration.push_back(FromRate(Rate::kErrors, *e));
  }
  r.evidence.onset = onset;
  r.evidence.summary = absl::StrCat(summary, " with no system error");
  out.push_back(std::move(r));
}

void InputDrift(const RuleInput& in, std::vector<RuleResult>& out) {
  const WindowSummary& w = *in.window;
  if (!(w.Get(S::kRequests) >= 30.0)) return;
  RuleResult r = Result(FleetState::kInputDrift, false, false, 3);
  std::string summary;
  bool any = false;
  if (const SignalEval* i = Ready(in, S::kInputTokensP50)) {
    const double ratio = i->value / i->expected;
    const bool entry = (ratio >= 1.4 || ratio <= 0.7) && i->finding.active;
    if (entry || ratio >= 1.2 || ratio <= 0.83) {
      r.entry = r.entry || entry;
      r.evidence.primary = FromSignal(S::kInputTokensP50, *i);
      r.evidence.onset = OnsetOr(i->finding, w.start);
      summary = absl::StrCat("prompt length median ", Num(i->value), " tokens vs ",
                             Num(i->expected), " (×", Num(ratio), ")");
      any = true;
    }
  }
  if (std::isfinite(in.tenant_js) && in.tenant_requests >= 100) {
    const bool entry = in.tenant_js >= 0.2;
    if (entry || in.tenant_js >= 0.12) {
      EvidenceItem t = Policy("tenant_mix", in.tenant_js, 0.2);
      t.detector = "jensen_shannon";
      t.statistic = "js_distance";
      t.statistic_value = in.tenant_js;
      t.baseline_source = "reference";
      if (!any) {
        r.evidence.primary = t;
        r.evidence.onset = w.start;
      } else {
        r.evidence.corroboration.push_back(t);
      }
      r.entry = r.entry || entry;
      absl::StrAppend(&summary, summary.empty() ? "" : "; ", "tenant mix shifted (JS distance ",
                      Num(in.tenant_js), ")");
      any = true;
    }
  }
  if (!any) return;
  r.hold = true;
  if (const RateEval* t = in.eval->RateOf(Rate::kTruncation); t != nullptr && t->ready) {
    r.evidence.corroboration.push_back(FromRate(Rate::kTruncation, *t));
  }
  r.evidence.summary = summary;
  out.push_back(std::move(r));
}

namespace {

// The pieces of evidence degraded-primary collects: (entry strength, item), plus a summary.
struct Symptoms {
  std::vector<std::pair<bool, EvidenceItem>> items;
  absl::Time onset;
  std::string summary;

  void Add(bool entry, EvidenceItem item, std::string_view text) {
    items.emplace_back(entry, std::move(item));
    absl::StrAppend(&summary, summary.empty() ? "" : "; ", Sv(text));
  }
};

bool IsInfrastructure(EntityKind k) {
  return k == EntityKind::kReplica || k == EntityKind::kNode || k == EntityKind::kProvider;
}

void ErrorSymptom(const RuleInput& in, Symptoms& out) {
  const RateEval* err = ReadyRate(in, Rate::kErrors);
  if (err == nullptr) return;
  bool entry = RateUp(*err, 0.03, 3.0, 30);
  // Infrastructure is judged against its peers too: errors everywhere a model runs are the
  // model's problem, not each node's.
  if (IsInfrastructure(in.window->entity.kind) && std::isfinite(in.peer_error_rate)) {
    entry = entry && err->rate >= std::max(2.0 * in.peer_error_rate, in.peer_error_rate + 0.03);
  }
  if (!entry && !RateHold(*err, 0.02, 2.0)) return;
  out.onset = std::min(out.onset, err->Onset(in.window->start));
  out.Add(entry, FromRate(Rate::kErrors, *err),
          absl::StrCat("errors at ", Pct(err->rate), " (usual ", Pct(err->p0), ")"));
}

void LatencySymptoms(const RuleInput& in, Symptoms& out) {
  const EntityKind kind = in.window->entity.kind;
  // Longer prompts make every request slower; that is input drift, not a primary-path fault.
  const SignalEval* input = Ready(in, S::kInputTokensP50);
  std::string explained = in.latency_explained;
  if (explained.empty() && input != nullptr && input->value >= 1.3 * input->expected) {
    explained = "longer prompts";
  }
  const bool own_latency =
      kind == EntityKind::kRoute || kind == EntityKind::kFleet || kind == EntityKind::kDependency;
  const Signal lat_signal = own_latency ? S::kLatencyP95 : S::kServiceP95;
  const Signal ttft_signal = own_latency ? S::kTtftP95 : S::kServiceTtftP95;
  for (Signal s : {lat_signal, ttft_signal}) {
    const SignalEval* l = Ready(in, s);
    if (l == nullptr) continue;
    bool entry = SignalUp(*l, 1.35, 250.0) && explained.empty();
    if (IsInfrastructure(kind) && s == lat_signal && std::isfinite(in.peer_service_p95)) {
      entry = entry && l->value >= 1.3 * in.peer_service_p95;
    }
    if (!entry && !SignalHoldUp(*l, 1.2, 150.0)) continue;
    out.onset = std::min(out.onset, OnsetOr(l->finding, in.window->start));
    out.Add(entry, FromSignal(s, *l),
            absl::StrCat(Sv(SignalName(s)), " ", Num(l->value), " vs ", Num(l->expected),
                         explained.empty() ? "" : absl::StrCat(" (explained by ", explained, ")")));
  }
}

// Queue rising with idle GPUs while requests still complete: the bottleneck is upstream or
// downstream of the engine.
void BottleneckSymptom(const RuleInput& in, Symptoms& out) {
  if (in.window->entity.kind != EntityKind::kReplica) return;
  const SignalEval* q = Ready(in, S::kQueueDepthMean);
  const SignalEval* fin = Ready(in, S::kFinishedRate);
  const double util = in.window->Get(S::kGpuUtilMean);
  if (q == nullptr || fin == nullptr || !(util <= 0.3) || fin->value <= 0.3 * fin->expected ||
      q->value < std::max(8.0, 3.0 * q->expected)) {
    return;
  }
  out.Add(Up(q->finding), FromSignal(S::kQueueDepthMean, *q),
          absl::StrCat("queue rising with GPUs idle (", Pct(util),
                       ") while requests complete: upstream/downstream bottleneck"));
}

// Slower than peers without any GPU evidence: out of SLO, cause not hardware-confirmed.
void UnexplainedSlownessSymptom(const RuleInput& in, Symptoms& out) {
  if (!in.peer.available || !in.gpu.present || in.gpu.Corroborates() || in.peer.ratio > 0.75 ||
      !in.peer.finding.active) {
    return;
  }
  EvidenceItem e;
  e.signal = "decode_tps_p50";
  e.value = in.peer.value;
  e.baseline = in.peer.baseline;
  e.baseline_source = "peers";
  e.detector = std::string(in.peer.finding.detector);
  e.statistic = std::string(in.peer.finding.statistic);
  e.statistic_value = in.peer.finding.statistic_value;
  e.threshold = in.peer.finding.threshold;
  out.Add(true, e, "tokens/s below peers with no GPU evidence");
}

}  // namespace

void DegradedPrimary(const RuleInput& in, std::vector<RuleResult>& out) {
  Symptoms symptoms;
  symptoms.onset = in.window->start;
  ErrorSymptom(in, symptoms);
  LatencySymptoms(in, symptoms);
  BottleneckSymptom(in, symptoms);
  UnexplainedSlownessSymptom(in, symptoms);
  if (symptoms.items.empty()) return;
  std::stable_sort(symptoms.items.begin(), symptoms.items.end(),
                   [](const auto& a, const auto& b) { return a.first && !b.first; });
  RuleResult r = Result(FleetState::kDegradedPrimary, symptoms.items.front().first, true, 3);
  r.evidence.primary = symptoms.items.front().second;
  for (size_t i = 1; i < symptoms.items.size(); ++i) {
    r.evidence.corroboration.push_back(symptoms.items[i].second);
  }
  r.evidence.onset = symptoms.onset;
  r.evidence.summary = symptoms.summary;
  out.push_back(std::move(r));
}

void OperatorFacts(const RuleInput& in, std::vector<RuleResult>& out) {
  const WindowSummary& w = *in.window;
  const AnnotationFacts& f = in.facts;
  const auto fact = [&](FleetState state, absl::Time since, const std::string& kind,
                        const std::string& message) {
    RuleResult r = Result(state, true, true, 1);
    r.exit_windows = 1;
    r.evidence.primary.signal = "annotation";
    r.evidence.primary.detector = "annotation";
    r.evidence.primary.statistic = kind;
    r.evidence.onset = since;
    r.evidence.summary = message.empty() ? kind : absl::StrCat(kind, ": ", message);
    out.push_back(std::move(r));
  };
  if (f.rollback != absl::InfinitePast()) {
    fact(FleetState::kRollbackActive, f.rollback, "ROLLBACK_STARTED", f.rollback_message);
  }
  if (f.canary_paused != absl::InfinitePast()) {
    fact(FleetState::kCanaryPaused, f.canary_paused, "CANARY_PAUSED", f.canary_paused_message);
  }
  if (f.feature_disabled != absl::InfinitePast()) {
    fact(FleetState::kFeatureDisabled, f.feature_disabled, "FEATURE_DISABLED",
         f.feature_disabled_message);
    return;
  }
  if (w.entity.kind != EntityKind::kRoute) return;
  const double n = Count(w, S::kRequests);
  const double disabled = n >= 10.0 ? Count(w, S::kFeatureDisabled) / n : kNoValue;
  if (!(disabled >= 0.3)) return;
  RuleResult r = Result(FleetState::kFeatureDisabled, disabled >= 0.5, true, 2);
  r.evidence.primary = Policy("feature_disabled_fraction", disabled, 0.5);
  r.evidence.primary.detector = "fallback_tier_5";
  r.evidence.onset = w.start;
  r.evidence.summary = absl::StrCat(Pct(disabled), " of requests answered with the feature ",
                                    "disabled (fallback tier 5)");
  out.push_back(std::move(r));
}

}  // namespace candor::detectors::rules
