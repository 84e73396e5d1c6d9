// System-side rules: silence, warming, the engine's queue and KV cache, and hardware speed.
// Thresholds are effect-size floors chosen far outside healthy variation (a replica at its
// diurnal peak runs at ~70 % GPU utilisation with a queue of a few requests and KV below
// 0.8); the detectors' findings supply the statistical evidence and onset on top.

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "detectors/fleet_rules_internal.h"

namespace candor::detectors::rules {

using S = Signal;

void NoData(const RuleInput& in, std::vector<RuleResult>& out) {
  const EntityEval& e = *in.eval;
  if (!e.reporting || e.silent_windows == 0) return;
  const double win = WindowSeconds(in);
  // Silence must be long enough that a Poisson source with the entity's usual rate would
  // produce it with probability below e^-15, and at least two windows.
  const double needed = std::max(2.0, std::ceil(15.0 / std::max(e.items_per_window, 1e-9)));
  const bool entry = e.silent_windows >= needed;
  RuleResult r = Result(FleetState::kNoData, entry, true, 1);
  r.exit_windows = 1;
  EvidenceItem& p = r.evidence.primary;
  p.signal = "items";
  p.value = 0.0;
  p.baseline = e.items_per_window;
  p.baseline_source = "own";
  p.detector = "silence";
  p.statistic = "silent_seconds";
  p.statistic_value = e.silent_windows * win;
  p.threshold = needed * win;
  r.evidence.onset = e.last_data_end;
  r.evidence.summary =
      absl::StrCat("was reporting about ", Num(e.items_per_window),
                   " items per window; silent for ", Num(e.silent_windows * win), " s");
  out.push_back(std::move(r));
}

void Warming(const RuleInput& in, std::vector<RuleResult>& out) {
  const double wf = in.window->Get(S::kWarmingFraction);
  // With no sample this window the replica's last word stands.
  const bool entry = wf > 0.0;
  const bool hold = entry || std::isnan(wf);
  if (!hold) return;
  RuleResult r = Result(FleetState::kModelWarming, entry, hold, 1);
  r.exit_windows = 2;
  r.evidence.primary = Policy("warming_fraction", wf, 0.0);
  r.evidence.primary.detector = "reported";
  r.evidence.onset = in.window->start;
  r.evidence.summary = "the engine reports it is warming (recently started or reloaded)";
  out.push_back(std::move(r));
}

void QueueDeadlock(const RuleInput& in, std::vector<RuleResult>& out) {
  const WindowSummary& w = *in.window;
  if (!(w.Get(S::kReplicaSamples) >= 1.0)) return;
  const SignalEval* fin = Ready(in, S::kFinishedRate);
  if (fin == nullptr || !(fin->expected >= 1.0)) return;  // It used to complete requests.
  const SignalEval* qs = in.eval->Signal(S::kQueueDepthMean);
  const double q = w.Get(S::kQueueDepthMean);
  const double qbase = qs != nullptr && qs->ready ? std::max(0.0, qs->expected) : 0.0;
  const double util = w.Get(S::kGpuUtilMean);
  const double rate = fin->value;
  const bool gpu_idle = !(util > 0.3);
  // Completions at a fifth of normal or less, with a growing queue and an idle GPU: the engine
  // is stuck (a partial deadlock still leaves a trickle of completions).
  const bool entry =
      rate <= std::max(0.1, 0.2 * fin->expected) && q >= std::max(5.0, 2.0 * qbase) && gpu_idle;
  const bool hold = rate <= 0.3 * fin->expected && q >= std::max(3.0, 1.5 * qbase);
  if (!entry && !hold) return;
  RuleResult r = Result(FleetState::kQueueDeadlock, entry, hold, 2);
  r.evidence.primary = FromSignal(S::kFinishedRate, *fin);
  EvidenceItem queue =
      qs != nullptr ? FromSignal(S::kQueueDepthMean, *qs) : Policy("queue_depth_mean", q, 5.0);
  queue.value = q;
  r.evidence.corroboration.push_back(queue);
  r.evidence.corroboration.push_back(Policy("gpu_utilization_mean", util, 0.3));
  r.evidence.onset = OnsetOr(fin->finding, w.start);
  r.evidence.summary =
      absl::StrCat("queue at ", Num(q), " (usual ", Num(qbase), ") while GPU ", "utilisation is ",
                   Pct(util), " and completions fell to ", Num(rate), "/s from ",
                   Num(fin->expected), "/s: the engine is stuck");
  out.push_back(std::move(r));
}

void ComputeSaturated(const RuleInput& in, std::vector<RuleResult>& out) {
  const WindowSummary& w = *in.window;
  const SignalEval* qs = Ready(in, S::kQueueDepthMean);
  const double util = w.Get(S::kGpuUtilMean);
  if (qs == nullptr || std::isnan(util)) return;
  const double q = qs->value;
  const double qbase = std::max(0.0, qs->expected);
  // A replica that stopped completing is deadlocked, not saturated.
  const SignalEval* fin = Ready(in, S::kFinishedRate);
  if (fin != nullptr && fin->value < 0.5 * fin->expected) return;
  const bool entry = q >= std::max(8.0, 3.0 * qbase) && util >= 0.8 && Up(qs->finding);
  const bool hold = q >= std::max(5.0, 2.0 * qbase) && util >= 0.7;
  if (!entry && !hold) return;
  RuleResult r = Result(FleetState::kComputeSaturated, entry, hold, 3);
  r.evidence.primary = FromSignal(S::kQueueDepthMean, *qs);
  r.evidence.corroboration.push_back(Policy("gpu_utilization_mean", util, 0.8));
  if (const SignalEval* lat = Ready(in, S::kServiceP95)) {
    r.evidence.corroboration.push_back(FromSignal(S::kServiceP95, *lat));
  }
  r.evidence.onset = OnsetOr(qs->finding, w.start);
  r.evidence.summary =
      absl::StrCat("queue at ", Num(q), " (usual ", Num(qbase), ") with GPUs busy at ", Pct(util),
                   ": demand is past the compute ceiling");
  out.push_back(std::move(r));
}

void KvThrashing(const RuleInput& in, std::vector<RuleResult>& out) {
  const WindowSummary& w = *in.window;
  double kv = w.Get(S::kKvUsageMean);
  double preempt = w.Get(S::kPreemptionRate);
  std::string kv_signal = "kv_cache_usage_mean";
  if (std::isnan(kv)) {
    // No engine samples: judge from what requests saw at admission.
    kv = w.Get(S::kKvAtAdmissionMean);
    preempt = w.Get(S::kPreemptions) / WindowSeconds(in);
    kv_signal = "kv_at_admission_mean";
  }
  if (std::isnan(kv) || std::isnan(preempt)) return;
  const SignalEval* ps = in.eval->Signal(S::kPreemptionRate);
  const double pbase = ps != nullptr && ps->ready ? std::max(0.0, ps->expected) : 0.0;
  const bool entry = kv >= 0.9 && preempt >= std::max(0.2, 5.0 * pbase);
  const bool hold = kv >= 0.85 && preempt >= std::max(0.1, 2.0 * pbase);
  if (!entry && !hold) return;
  RuleResult r = Result(FleetState::kKvThrashing, entry, hold, 3);
  EvidenceItem& p = r.evidence.primary;
  if (ps != nullptr && ps->present) {
    p = FromSignal(S::kPreemptionRate, *ps);
  } else {
    p = Policy("preemptions_per_second", preempt, 0.2);
  }
  p.value = preempt;
  r.evidence.corroboration.push_back(Policy(kv_signal, kv, 0.9));
  if (const SignalEval* lat = Ready(in, S::kServiceP95)) {
    r.evidence.corroboration.push_back(FromSignal(S::kServiceP95, *lat));
  }
  r.evidence.onset = ps != nullptr ? OnsetOr(ps->finding, w.start) : w.start;
  r.evidence.summary =
      absl::StrCat("KV cache at ", Pct(kv), " with ", Num(preempt), " preemptions/s (usual ",
                   Num(pbase), "): requests are evicted and recomputed");
  out.push_back(std::move(r));
}

namespace {

void AddGpuEvidence(const GpuEval& g, Evidence& e) {
  if (!g.present) return;
  e.corroboration.push_back(Policy("sm_clock_ratio", g.clock_ratio, 0.9));
  e.corroboration.push_back(Policy("throttle_fraction", g.throttle, 0.3));
  e.corroboration.push_back(Policy("temperature_c_mean", g.temperature, 85.0));
  if (g.xid > 0.0) e.corroboration.push_back(Policy("xid_events", g.xid, 0.0));
  if (g.ecc > 0.0) e.corroboration.push_back(Policy("ecc_uncorrected_errors", g.ecc, 0.0));
}

}  // namespace

void HardwareDegraded(const RuleInput& in, std::vector<RuleResult>& out) {
  const PeerEval& p = in.peer;
  if (!p.available || std::isnan(p.ratio)) return;
  const WindowSummary& w = *in.window;
  // Tokens/s down with the KV cache full and preemptions rising is the KV cache, not hardware.
  const double kv = w.Get(S::kKvUsageMean);
  const double preempt = w.Get(S::kPreemptionRate);
  if (kv >= 0.9 && preempt >= 0.2) return;
  // "Errors stable" means the engine is not failing: timeouts of requests that simply take
  // longer on slow hardware do not count against it.
  const RateEval* err = ReadyRate(in, Rate::kErrors);
  const double requests = w.Get(S::kRequests);
  const double engine_errors = requests > 0 ? w.Get(S::kErrors) / requests : 0.0;
  const bool errors_stable = !(engine_errors > 0.05);
  const SignalEval* own = Ready(in, S::kDecodeTpsP50);
  const double own_ratio = own != nullptr ? own->value / own->expected : kNoValue;
  const bool corroborated = in.gpu.Corroborates();
  // Without GPU telemetry the speed drop alone must be larger, and visible against the
  // entity's own history too. (With it, the peer chart's learned reference ratio already
  // absorbs a node that was always a little slower.)
  const double needed = in.gpu.present ? 0.8 : 0.7;
  const bool broad = std::isnan(in.nodes_degraded_share) || in.nodes_degraded_share >= 0.5;
  const bool own_drop = in.gpu.present || std::isnan(own_ratio) || own_ratio <= 0.85;
  const bool entry = p.ratio <= needed && p.finding.active && errors_stable && broad && own_drop &&
                     (corroborated || !in.gpu.present);
  const bool hold = p.ratio <= 0.88 && (corroborated || !in.gpu.present);
  if (!entry && !hold) return;
  RuleResult r = Result(FleetState::kHardwareDegraded, entry, hold, 3);
  EvidenceItem& e = r.evidence.primary;
  e.signal = "decode_tps_p50";
  e.value = p.value;
  e.baseline = p.baseline;
  e.baseline_source = "peers";
  e.detector = std::string(p.finding.detector.empty() ? "peer_ratio_cusum" : p.finding.detector);
  e.statistic = std::string(p.finding.statistic);
  e.statistic_value = p.finding.statistic_value;
  e.threshold = p.finding.threshold;
  if (own != nullptr) r.evidence.corroboration.push_back(FromSignal(S::kDecodeTpsP50, *own));
  if (err != nullptr) r.evidence.corroboration.push_back(FromRate(Rate::kErrors, *err));
  AddGpuEvidence(in.gpu, r.evidence);
  r.evidence.onset = OnsetOr(p.finding, w.start);
  std::string gpu = "no GPU telemetry";
  if (in.gpu.present) {
    gpu = absl::StrCat("SM clocks at ", Pct(in.gpu.clock_ratio), ", throttling in ",
                       Pct(in.gpu.throttle), " of samples, ", Num(in.gpu.temperature), " °C");
  }
  r.evidence.summary = absl::StrCat("decode tokens/s ", Pct(1.0 - p.ratio), " below ", p.peers,
                                    " peers with errors stable; ", gpu);
  out.push_back(std::move(r));
}

}  // namespace candor::detectors::rules
