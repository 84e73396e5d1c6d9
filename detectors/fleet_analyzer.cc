#include "detectors/fleet_analyzer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "common/status.h"
#include "detectors/window_drift.h"

namespace candor::detectors {
namespace {

using S = Signal;

GpuEval GpuFrom(const WindowSummary& w) {
  GpuEval g;
  g.present = w.Get(S::kGpuSamples) >= 1.0;
  if (!g.present) return g;
  g.clock_ratio = w.Get(S::kSmClockRatio);
  g.throttle = w.Get(S::kThrottleFraction);
  g.temperature = w.Get(S::kTemperatureMean);
  g.xid = w.Get(S::kXidEvents);
  g.ecc = w.Get(S::kEccErrors);
  return g;
}

struct Member {
  size_t index;
  double value;
  double count;
};

struct PeerAccum {
  double weight = 0.0;
  double log_value = 0.0;
  double log_baseline = 0.0;
  int peers = 0;
  double best_count = -1.0;
  Finding best;
};

}  // namespace

FleetAnalyzerOptions::FleetAnalyzerOptions() {
  canary.direction = Sides::kUpper;
  canary.allowed_increase = 1.25;
  canary.min_samples = 30;
}

struct FleetAnalyzer::Runtime {
  Runtime(const EntityId& id, const FleetAnalyzerOptions& o)
      : monitor(id.kind), machine(id, o.machine) {}

  struct WindowCounts {
    std::vector<double> latency;
    int64_t requests = 0;
    int64_t errors = 0;
    int64_t checked = 0;
    int64_t failed = 0;
  };

  EntityMonitor monitor;
  EntityStateMachine machine;
  std::map<std::string, PeerRatioCusum> peer_charts;
  AnnotationFacts facts;
  std::deque<WindowCounts> history;
  std::string release_track;
  std::string model_name;
  // Reference tenant mix (exponentially weighted shares) and how many windows built it.
  std::map<std::string, double> tenant_reference;
  int tenant_windows = 0;
};

FleetAnalyzer::FleetAnalyzer(FleetAnalyzerOptions options) : options_(std::move(options)) {}
FleetAnalyzer::~FleetAnalyzer() = default;

FleetAnalyzer::Runtime& FleetAnalyzer::At(const EntityId& id) {
  auto it = entities_.find(id);
  if (it == entities_.end()) {
    it = entities_.emplace(id, std::make_unique<Runtime>(id, options_)).first;
  }
  return *it->second;
}

void FleetAnalyzer::UpdateFacts(Runtime& rt, const WindowSummary& w) {
  AnnotationFacts& f = rt.facts;
  for (const AnnotationRecord& a : w.annotations) {
    if (a.kind == "CANARY_PAUSED") {
      f.canary_paused = a.time;
      f.canary_paused_message = a.message;
    } else if (a.kind == "CANARY_STARTED" || a.kind == "DEPLOY_STARTED" ||
               a.kind == "ROLLBACK_FINISHED") {
      f.canary_paused = absl::InfinitePast();
    }
    if (a.kind == "ROLLBACK_STARTED") {
      f.rollback = a.time;
      f.rollback_message = a.message;
      f.canary_paused = absl::InfinitePast();
    } else if (a.kind == "ROLLBACK_FINISHED") {
      f.rollback = absl::InfinitePast();
    }
    if (a.kind == "FEATURE_DISABLED") {
      f.feature_disabled = a.time;
      f.feature_disabled_message = a.message;
    } else if (a.kind == "FEATURE_ENABLED") {
      f.feature_disabled = absl::InfinitePast();
    }
  }
}

void FleetAnalyzer::ComputePeers(const std::vector<WindowSummary>& s, absl::Time end,
                                 std::vector<PeerEval>& out) {
  std::map<std::pair<EntityKind, std::string>, std::vector<Member>> cohorts;
  const double min = static_cast<double>(options_.min_peer_requests);
  for (size_t i = 0; i < s.size(); ++i) {
    const WindowSummary& w = s[i];
    const EntityKind k = w.entity.kind;
    if (k == EntityKind::kReplica) {
      const double v = w.Get(S::kDecodeTpsP50);
      const double n = w.Get(S::kOk);
      if (!w.replica_model.empty() && v > 0.0 && n >= min) {
        cohorts[{k, w.replica_model}].push_back({i, v, n});
      }
    } else if (k == EntityKind::kNode || k == EntityKind::kProvider) {
      for (const CohortValue& c : w.cohorts) {
        const double n = static_cast<double>(c.count);
        if (c.decode_tps_p50 > 0.0 && n >= min) {
          cohorts[{k, c.model}].push_back({i, c.decode_tps_p50, n});
        }
      }
    }
  }
  std::vector<PeerAccum> acc(s.size());
  std::vector<double> peers;
  for (const auto& [key, members] : cohorts) {
    for (const Member& m : members) {
      peers.clear();
      for (const Member& o : members) {
        if (o.index != m.index) peers.push_back(o.value);
      }
      if (static_cast<int>(peers.size()) < options_.peer.min_peers) continue;
      Runtime& rt = At(s[m.index].entity);
      auto chart = rt.peer_charts.find(key.second);
      if (chart == rt.peer_charts.end()) {
        absl::StatusOr<PeerRatioCusum> c = PeerRatioCusum::Create(options_.peer);
        CANDOR_CHECK(c.ok());
        chart = rt.peer_charts.emplace(key.second, *std::move(c)).first;
      }
      absl::StatusOr<Finding> f = chart->second.Update(end, m.value, peers);
      if (!f.ok() || !(f->baseline > 0.0)) continue;
      PeerAccum& a = acc[m.index];
      a.weight += m.count;
      a.log_value += m.count * std::log(m.value);
      a.log_baseline += m.count * std::log(f->baseline);
      a.peers = std::max(a.peers, static_cast<int>(peers.size()));
      const bool better = a.best_count < 0.0 || (f->active && !a.best.active) ||
                          (f->active == a.best.active && m.count > a.best_count);
      if (better) {
        a.best = *f;
        a.best_count = m.count;
      }
    }
  }
  out.assign(s.size(), PeerEval{});
  for (size_t i = 0; i < s.size(); ++i) {
    const PeerAccum& a = acc[i];
    if (a.weight <= 0.0) continue;
    PeerEval& p = out[i];
    p.available = true;
    p.value = std::exp(a.log_value / a.weight);
    p.baseline = std::exp(a.log_baseline / a.weight);
    p.ratio = p.value / p.baseline;
    p.peers = a.peers;
    p.finding = a.best;
  }
}

void FleetAnalyzer::ComputeCanaries(const std::vector<WindowSummary>& s,
                                    std::vector<RuleInput>& in) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i].entity.kind != EntityKind::kModel) continue;
    Runtime& canary = At(s[i].entity);
    if (canary.release_track != "canary" || canary.model_name.empty()) continue;
    std::vector<double> exp_lat, ctl_lat;
    int64_t exp_n = 0, exp_err = 0, exp_chk = 0, exp_fail = 0;
    int64_t ctl_n = 0, ctl_err = 0, ctl_chk = 0, ctl_fail = 0;
    for (const auto& h : canary.history) {
      exp_lat.insert(exp_lat.end(), h.latency.begin(), h.latency.end());
      exp_n += h.requests;
      exp_err += h.errors;
      exp_chk += h.checked;
      exp_fail += h.failed;
    }
    std::string stable;
    for (const auto& [id, rt] : entities_) {
      if (id.kind != EntityKind::kModel || rt.get() == &canary) continue;
      if (rt->model_name != canary.model_name || rt->release_track != "stable") continue;
      if (stable.empty()) stable = id.ToString();
      for (const auto& h : rt->history) {
        ctl_lat.insert(ctl_lat.end(), h.latency.begin(), h.latency.end());
        ctl_n += h.requests;
        ctl_err += h.errors;
        ctl_chk += h.checked;
        ctl_fail += h.failed;
      }
    }
    if (stable.empty() || exp_n == 0 || ctl_n == 0) continue;
    absl::StatusOr<MannWhitneyResult> mw = MannWhitneyJudge(exp_lat, ctl_lat, options_.canary);
    if (!mw.ok()) continue;
    CanaryEval& c = in[i].canary;
    c.available = mw->verdict != JudgeVerdict::kNoData;
    c.stable = stable;
    c.latency = *mw;
    c.requests = exp_n;
    const auto rate = [](int64_t a, int64_t b) {
      return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
    };
    c.error_rate = rate(exp_err, exp_n);
    c.stable_error_rate = rate(ctl_err, ctl_n);
    DriftOptions z;
    z.size_switch = SIZE_MAX;  // Always the two-proportion Z test for this binary comparison.
    const std::vector<double> ctl = {static_cast<double>(ctl_n - ctl_err),
                                     static_cast<double>(ctl_err)};
    const std::vector<double> cur = {static_cast<double>(exp_n - exp_err),
                                     static_cast<double>(exp_err)};
    absl::StatusOr<DriftResult> errors = CategoricalDrift(ctl, cur, z);
    if (errors.ok()) c.error_p_value = errors->p_value;
    const std::vector<double> ctl_v = {static_cast<double>(ctl_chk - ctl_fail),
                                       static_cast<double>(ctl_fail)};
    const std::vector<double> cur_v = {static_cast<double>(exp_chk - exp_fail),
                                       static_cast<double>(exp_fail)};
    absl::StatusOr<DriftResult> invalid = CategoricalDrift(ctl_v, cur_v, z);
    if (invalid.ok()) c.validation_p_value = invalid->p_value;
    c.validation_rate = rate(exp_fail, exp_chk);
    c.stable_validation_rate = rate(ctl_fail, ctl_chk);
  }
}

namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return kNoValue;
  const size_t k = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  if (v.size() % 2 == 1) return v[k];
  const double hi = v[k];
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k));
  return 0.5 * (lo + hi);
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

void FleetAnalyzer::ComputeContext(const std::vector<WindowSummary>& s,
                                   std::vector<RuleInput>& in) {
  std::vector<std::string> models, providers, nodes;
  for (const WindowSummary& w : s) {
    if (w.entity.kind != EntityKind::kReplica) continue;
    const bool warming = w.Get(S::kWarmingFraction) > 0.0 ||
                         At(w.entity).machine.state() == FleetState::kModelWarming;
    if (!warming) continue;
    models.push_back(w.replica_model);
    providers.push_back(w.provider);
    nodes.push_back(w.node);
  }
  // Peer groups for error rate and service latency.
  std::map<std::pair<EntityKind, std::string>, std::vector<size_t>> groups;
  for (size_t i = 0; i < s.size(); ++i) {
    const WindowSummary& w = s[i];
    const EntityKind k = w.entity.kind;
    const bool grouped =
        k == EntityKind::kReplica || k == EntityKind::kNode || k == EntityKind::kProvider;
    if (grouped && w.Get(S::kRequests) >= 30.0) {
      groups[{k, k == EntityKind::kReplica ? w.replica_model : ""}].push_back(i);
    }
    RuleInput& r = in[i];
    const std::string id = w.entity.name;
    const bool explained = (k == EntityKind::kModel && Contains(models, id)) ||
                           (k == EntityKind::kProvider && Contains(providers, id)) ||
                           (k == EntityKind::kNode && Contains(nodes, id)) ||
                           (k == EntityKind::kFleet && !models.empty()) ||
                           (k == EntityKind::kRoute &&
                            std::any_of(w.models.begin(), w.models.end(),
                                        [&](const std::string& m) { return Contains(models, m); }));
    if (explained) r.latency_explained = "a warming replica";
  }
  const auto error_rate = [&](size_t i) {
    const WindowSummary& w = s[i];
    return (w.Get(S::kErrors) + w.Get(S::kOwnTimeouts)) / w.Get(S::kRequests);
  };
  std::vector<double> errs, lats;
  for (const auto& [key, members] : groups) {
    for (size_t i : members) {
      errs.clear();
      lats.clear();
      for (size_t j : members) {
        if (j == i) continue;
        errs.push_back(error_rate(j));
        const double l = s[j].Get(S::kServiceP95);
        if (std::isfinite(l)) lats.push_back(l);
      }
      if (errs.size() >= 2) in[i].peer_error_rate = Median(errs);
      if (lats.size() >= 2) in[i].peer_service_p95 = Median(lats);
    }
  }
}

void FleetAnalyzer::UpdateTenants(Runtime& rt, const WindowSummary& w, RuleInput& in) {
  int64_t total = 0;
  for (const auto& [tenant, n] : w.tenants) total += n;
  in.tenant_requests = total;
  if (total < 100) return;
  // Align the reference and current counts over the union of tenants.
  std::map<std::string, std::pair<double, double>> both;
  for (const auto& [tenant, share] : rt.tenant_reference) both[tenant].first = share;
  for (const auto& [tenant, n] : w.tenants) {
    both[tenant].second = static_cast<double>(n) / static_cast<double>(total);
  }
  if (rt.tenant_windows >= 30) {
    std::vector<double> ref, cur;
    for (const auto& [tenant, p] : both) {
      ref.push_back(p.first);
      cur.push_back(p.second);
    }
    in.tenant_js = JensenShannonDistance(ref, cur);
  }
  // The reference holds still while the entity has a condition (like the signal references).
  if (At(w.entity).machine.Unsettled()) return;
  const double alpha = rt.tenant_windows == 0 ? 1.0 : 0.05;
  rt.tenant_reference.clear();
  for (const auto& [tenant, p] : both) {
    const double share = (1.0 - alpha) * p.first + alpha * p.second;
    if (share > 1e-6) rt.tenant_reference[tenant] = share;
  }
  ++rt.tenant_windows;
}

void FleetAnalyzer::RecordModelWindow(Runtime& rt, const WindowSummary& w) {
  if (!w.release_track.empty()) rt.release_track = w.release_track;
  if (!w.model_name.empty()) rt.model_name = w.model_name;
  Runtime::WindowCounts c;
  c.latency = w.latency_samples;
  const auto count = [&](S sig) {
    const double v = w.Get(sig);
    return std::isfinite(v) ? static_cast<int64_t>(v) : int64_t{0};
  };
  c.requests = count(S::kRequests);
  c.errors = count(S::kErrors) + count(S::kOwnTimeouts);
  c.checked = count(S::kValidationChecked);
  c.failed = count(S::kValidationFailed);
  rt.history.push_back(std::move(c));
  while (static_cast<int>(rt.history.size()) > std::max(1, options_.canary_windows)) {
    rt.history.pop_front();
  }
}

void FleetAnalyzer::FeedMonitors(const std::vector<WindowSummary>& s,
                                 std::vector<RuleInput>& inputs) {
  for (size_t i = 0; i < s.size(); ++i) {
    const WindowSummary& w = s[i];
    Runtime& rt = At(w.entity);
    inputs[i].window = &w;
    inputs[i].eval = &rt.monitor.Update(w, rt.machine.Unsettled());
    UpdateFacts(rt, w);
    inputs[i].facts = rt.facts;
    if (w.entity.kind == EntityKind::kModel) RecordModelWindow(rt, w);
    if (w.entity.kind == EntityKind::kModel || w.entity.kind == EntityKind::kRoute) {
      UpdateTenants(rt, w, inputs[i]);
    }
  }
}

std::map<std::string, DependencyEval> FleetAnalyzer::ComputeNeighbours(
    const std::vector<WindowSummary>& s, absl::Time end, std::vector<RuleInput>& inputs) {
  std::map<EntityId, size_t> index;
  for (size_t i = 0; i < s.size(); ++i) index.emplace(s[i].entity, i);
  std::vector<PeerEval> peers;
  ComputePeers(s, end, peers);
  std::map<std::string, std::pair<int, int>> node_share;  // provider -> (degraded, total)
  std::map<std::string, DependencyEval> deps;
  for (size_t i = 0; i < s.size(); ++i) {
    const WindowSummary& w = s[i];
    inputs[i].peer = peers[i];
    if (w.entity.kind == EntityKind::kNode && peers[i].available && !w.provider.empty()) {
      auto& ns = node_share[w.provider];
      ns.second += 1;
      if (peers[i].ratio <= 0.85) ns.first += 1;
    }
    if (w.entity.kind == EntityKind::kReplica) {
      // A replica's GPU health is its GPU's: GPU samples name the node and GPU, not replicas.
      const auto g = index.find(EntityId{EntityKind::kGpu, w.gpu});
      if (!w.gpu.empty() && g != index.end()) inputs[i].gpu = GpuFrom(s[g->second]);
    } else {
      inputs[i].gpu = GpuFrom(w);
    }
    if (w.entity.kind == EntityKind::kDependency) {
      deps.emplace(w.entity.name, JudgeDependency(w, *inputs[i].eval));
    }
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i].entity.kind != EntityKind::kProvider) continue;
    const auto it = node_share.find(s[i].entity.name);
    if (it != node_share.end() && it->second.second > 0) {
      inputs[i].nodes_degraded_share =
          static_cast<double>(it->second.first) / static_cast<double>(it->second.second);
    }
  }
  return deps;
}

std::vector<std::vector<RuleResult>> FleetAnalyzer::Evaluate(
    const std::vector<WindowSummary>& s, std::vector<RuleInput>& inputs,
    const std::map<std::string, DependencyEval>& deps) {
  std::vector<std::vector<RuleResult>> results(s.size());
  // Routes first: a dependency is in cascading-timeout when a route's timeouts name it root.
  std::map<std::string, std::vector<std::string>> cascading;  // dependency -> routes
  for (size_t i = 0; i < s.size(); ++i) {
    const WindowSummary& w = s[i];
    if (w.entity.kind != EntityKind::kRoute) continue;
    for (const std::string& d : w.dependencies) {
      const auto it = deps.find(d);
      if (it != deps.end()) inputs[i].dependencies.push_back(it->second);
    }
    results[i] = EvaluateRules(inputs[i]);
    for (const RuleResult& r : results[i]) {
      if (r.state == FleetState::kCascadingTimeout && !r.evidence.root.empty()) {
        cascading[r.evidence.root.substr(r.evidence.root.find(':') + 1)].push_back(
            w.entity.ToString());
      }
    }
  }
  for (size_t i = 0; i < s.size(); ++i) {
    const WindowSummary& w = s[i];
    if (w.entity.kind == EntityKind::kRoute) continue;
    if (w.entity.kind == EntityKind::kDependency) {
      const auto it = cascading.find(w.entity.name);
      if (it != cascading.end()) inputs[i].cascading_routes = it->second;
    }
    results[i] = EvaluateRules(inputs[i]);
  }
  return results;
}

std::vector<Transition> FleetAnalyzer::OnWindow(absl::Time start, absl::Time end,
                                                const std::vector<WindowSummary>& summaries) {
  ++windows_;
  std::vector<RuleInput> inputs(summaries.size());
  FeedMonitors(summaries, inputs);
  const std::map<std::string, DependencyEval> deps = ComputeNeighbours(summaries, end, inputs);
  ComputeCanaries(summaries, inputs);
  ComputeContext(summaries, inputs);
  const std::vector<std::vector<RuleResult>> results = Evaluate(summaries, inputs, deps);
  std::vector<Transition> out;
  for (size_t i = 0; i < summaries.size(); ++i) {
    std::optional<Transition> t = At(summaries[i].entity).machine.Update(start, end, results[i]);
    if (t.has_value()) out.push_back(*std::move(t));
  }
  return out;
}

std::vector<EntityStatus> FleetAnalyzer::Snapshot() const {
  std::vector<EntityStatus> out;
  out.reserve(entities_.size());
  for (const auto& [id, rt] : entities_) out.push_back(rt->machine.Status());
  return out;
}

}  // namespace candor::detectors
