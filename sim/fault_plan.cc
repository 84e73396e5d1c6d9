#include "sim/fault_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/entity.h"
#include "common/strings.h"

namespace candor::sim {
namespace {

// The restart gap of a warming replica: silent and unrouted before it reports warming.
constexpr absl::Duration kRestartGap = absl::Seconds(15);

struct Targets {
  std::vector<int> replicas;
  std::vector<int> routes;
  std::vector<int> providers;
  int dependency = -1;
  EntityKind kind = EntityKind::kFleet;
};

absl::StatusOr<Targets> ResolveTarget(const FleetLayout& f, const std::string& text) {
  absl::StatusOr<EntityId> id = EntityId::Parse(text);
  if (!id.ok()) return id.status();
  Targets t;
  t.kind = id->kind;
  switch (id->kind) {
    case EntityKind::kReplica:
      for (size_t i = 0; i < f.replicas.size(); ++i) {
        if (f.replicas[i].name == id->name) t.replicas.push_back(static_cast<int>(i));
      }
      break;
    case EntityKind::kNode:
      for (const NodeSpec& n : f.nodes) {
        if (n.name == id->name) t.replicas = n.replicas;
      }
      break;
    case EntityKind::kProvider:
      for (size_t p = 0; p < f.providers.size(); ++p) {
        if (f.providers[p].name != id->name) continue;
        t.providers.push_back(static_cast<int>(p));
        for (int n : f.providers[p].nodes) {
          for (int r : f.nodes[static_cast<size_t>(n)].replicas) t.replicas.push_back(r);
        }
      }
      break;
    case EntityKind::kModel:
      for (size_t i = 0; i < f.replicas.size(); ++i) {
        const ModelSpec& m = f.models[static_cast<size_t>(f.replicas[i].model)];
        if (EntityId::Model(m.name, m.version).name == id->name) {
          t.replicas.push_back(static_cast<int>(i));
        }
      }
      break;
    case EntityKind::kRoute:
      for (size_t i = 0; i < f.routes.size(); ++i) {
        if (f.routes[i].name == id->name) t.routes.push_back(static_cast<int>(i));
      }
      break;
    case EntityKind::kDependency:
      for (size_t i = 0; i < f.dependencies.size(); ++i) {
        if (f.dependencies[i].name == id->name) t.dependency = static_cast<int>(i);
      }
      break;
    default:
      break;
  }
  if (t.replicas.empty() && t.routes.empty() && t.providers.empty() && t.dependency < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault target \"", text, "\" is not part of the simulated fleet"));
  }
  return t;
}

bool KindApplies(FaultKind k, EntityKind e) {
  switch (k) {
    case FaultKind::kKvThrash:
      return e == EntityKind::kReplica || e == EntityKind::kNode;
    case FaultKind::kQueueDeadlock:
    case FaultKind::kModelWarming:
    case FaultKind::kReplicaSilent:
      return e == EntityKind::kReplica;
    case FaultKind::kComputeSaturation:
      return e == EntityKind::kReplica || e == EntityKind::kModel || e == EntityKind::kRoute;
    case FaultKind::kHardwareSlowdown:
      return e == EntityKind::kNode || e == EntityKind::kProvider || e == EntityKind::kReplica;
    case FaultKind::kCircuitOpen:
    case FaultKind::kProviderErrors:
      return e == EntityKind::kProvider;
    case FaultKind::kFallbackSurge:
    case FaultKind::kInputDrift:
    case FaultKind::kFeatureDisabled:
      return e == EntityKind::kRoute;
    case FaultKind::kValidationFailures:
    case FaultKind::kSilentTruncation:
    case FaultKind::kPrimaryErrors:
    case FaultKind::kLatencyRegression:
      return e == EntityKind::kModel || e == EntityKind::kRoute;
    case FaultKind::kDependencySlowdown:
      return e == EntityKind::kDependency;
    case FaultKind::kCanaryRegression:
      return e == EntityKind::kModel;
  }
  return false;
}

}  // namespace

absl::StatusOr<FaultPlan> FaultPlan::Create(const FleetLayout& layout,
                                            const std::vector<FaultSpec>& faults,
                                            absl::Time start) {
  FaultPlan plan;
  plan.start_ = start;
  for (size_t i = 0; i < faults.size(); ++i) {
    const FaultSpec& spec = faults[i];
    absl::StatusOr<Targets> t = ResolveTarget(layout, spec.target);
    if (!t.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("faults[", i, "]: ", t.status().message()));
    }
    if (!KindApplies(spec.kind, t->kind)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "faults[", i, "]: ", Sv(FaultKindName(spec.kind)), " does not apply to ", spec.target));
    }
    if (spec.kind == FaultKind::kCircuitOpen || spec.kind == FaultKind::kProviderErrors) {
      // Breaker faults act on requests the gateway sends to the provider, whoever runs it.
      t->replicas.clear();
    }
    plan.faults_.push_back({spec, t->replicas, t->routes, t->providers, t->dependency});
  }
  return plan;
}

void FaultPlan::Evaluate(const FleetLayout& layout, absl::Time t, Mods& out) const {
  out.replicas.assign(layout.replicas.size(), ReplicaMods{});
  out.routes.assign(layout.routes.size(), RouteMods{});
  out.providers.assign(layout.providers.size(), ProviderMods{});
  out.dependency_extra_ms.assign(layout.dependencies.size(), 0.0);
  for (const Resolved& r : faults_) {
    const double intensity = r.spec.Intensity(t - start_);
    // A warming fault also matters in its restart gap, where intensity is already 1.
    if (intensity <= 0.0) continue;
    Apply(layout, r, t, intensity, out);
  }
}

void FaultPlan::Apply(const FleetLayout& layout, const Resolved& r, absl::Time t, double x,
                      Mods& out) const {
  const double m = r.spec.magnitude;
  for (int i : r.replicas) {
    ReplicaMods& rm = out.replicas[static_cast<size_t>(i)];
    switch (r.spec.kind) {
      case FaultKind::kKvThrash:
        rm.kv_thrash = std::max(rm.kv_thrash, m * x);
        break;
      case FaultKind::kQueueDeadlock:
        rm.deadlock = std::min(1.0, std::max(rm.deadlock, m * x));
        break;
      case FaultKind::kComputeSaturation:
        rm.extra_load += m * x;
        break;
      case FaultKind::kHardwareSlowdown:
        rm.speed *= std::max(0.05, 1.0 - std::min(m, 0.95) * x);
        rm.clock *= std::max(0.05, 1.0 - std::min(m, 0.95) * x);
        rm.thermal = std::max(rm.thermal, x);
        break;
      case FaultKind::kModelWarming: {
        const absl::Time onset = start_ + r.spec.onset;
        rm.restarted_at = onset;
        if (t < onset + kRestartGap) {
          rm.restarting = true;
        } else {
          const double progress =
              absl::FDivDuration(t - onset - kRestartGap, r.spec.duration - kRestartGap);
          rm.warming = std::clamp(progress, 0.0, 1.0);
          rm.speed *= 1.0 - std::min(m, 0.95) * (1.0 - rm.warming);
          rm.warm_ttft_ms = 2000.0 * m * (1.0 - rm.warming);
        }
        break;
      }
      case FaultKind::kReplicaSilent:
        rm.silent = true;
        break;
      case FaultKind::kCanaryRegression:
        rm.latency_mult *= 1.0 + m * x;
        rm.error_add += 0.05 * m * x;
        rm.validation_fail = std::max(rm.validation_fail, 0.05 * m * x);
        break;
      case FaultKind::kValidationFailures:
        rm.validation_fail = std::max(rm.validation_fail, m * x);
        break;
      case FaultKind::kSilentTruncation:
        rm.truncation = std::max(rm.truncation, m * x);
        break;
      case FaultKind::kPrimaryErrors:
        rm.error_add += m * x;
        break;
      case FaultKind::kLatencyRegression:
        rm.latency_mult *= 1.0 + m * x;
        break;
      default:
        break;
    }
  }
  for (int i : r.routes) {
    RouteMods& rt = out.routes[static_cast<size_t>(i)];
    const RouteSpec& spec = layout.routes[static_cast<size_t>(i)];
    switch (r.spec.kind) {
      case FaultKind::kComputeSaturation:
        rt.load *= 1.0 + m * x;
        break;
      case FaultKind::kFallbackSurge:
        rt.fallback = spec.fallback + (std::min(m, 1.0) - spec.fallback) * x;
        break;
      case FaultKind::kFeatureDisabled:
        rt.feature_disabled = std::min(1.0, m) * x;
        break;
      case FaultKind::kInputDrift:
        rt.input_mult *= 1.0 + (m - 1.0) * x;
        rt.new_tenant = std::clamp((m - 1.0) / 2.0, 0.0, 0.5) * x;
        break;
      case FaultKind::kValidationFailures:
        rt.validation_fail = std::max(rt.validation_fail, m * x);
        break;
      case FaultKind::kSilentTruncation:
        rt.truncation = std::max(rt.truncation, m * x);
        break;
      case FaultKind::kPrimaryErrors:
        rt.error_add += m * x;
        break;
      case FaultKind::kLatencyRegression:
        rt.latency_mult *= 1.0 + m * x;
        break;
      default:
        break;
    }
  }
  for (int p : r.providers) {
    ProviderMods& pm = out.providers[static_cast<size_t>(p)];
    if (r.spec.kind == FaultKind::kCircuitOpen) pm.circuit_open = std::min(1.0, m) * x;
    if (r.spec.kind == FaultKind::kProviderErrors) pm.errors = std::min(1.0, m) * x;
  }
  if (r.dependency >= 0 && r.spec.kind == FaultKind::kDependencySlowdown) {
    out.dependency_extra_ms[static_cast<size_t>(r.dependency)] += 1000.0 * m * x;
  }
}

}  // namespace candor::sim
