// Resolves a scenario's faults against the fleet layout and turns them, at any instant, into
// per-part modifiers the simulator applies: a replica's speed and KV pressure, a route's
// fallback rate, a dependency's extra latency, and so on.
//
// Thread safety: immutable after Create; Evaluate is const.

#ifndef CANDOR_SIM_FAULT_PLAN_H_
#define CANDOR_SIM_FAULT_PLAN_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sim/fleet_layout.h"
#include "sim/scenario.h"

namespace candor::sim {

struct ReplicaMods {
  double speed = 1.0;         // Tokens/s and capacity factor (hardware slowdown, warming).
  double clock = 1.0;         // SM clock factor from hardware faults only.
  double thermal = 0.0;       // Thermal-throttle intensity 0–1, for GPU samples.
  double kv_thrash = 0.0;     // KV pressure: magnitude × intensity.
  double deadlock = 0.0;      // Share of requests that hang.
  double extra_load = 0.0;    // Extra arrivals, as a multiple of the replica's normal share.
  double warming = -1.0;      // Warm-up progress 0–1 while warming; −1 otherwise.
  double warm_ttft_ms = 0.0;  // Extra time to first token while warming.
  bool restarting = false;    // Process restarting: silent and not routed.
  absl::Time restarted_at = absl::InfinitePast();  // Last restart (counters reset then).
  bool silent = false;                             // Reports nothing and is not routed.
  double latency_mult = 1.0;      // Model-level slowdowns (canary, latency regression).
  double error_add = 0.0;         // Model-level extra engine error rate.
  double validation_fail = -1.0;  // Model-level validation failure rate override.
  double truncation = 0.0;        // Model-level silent truncation share.
};

struct RouteMods {
  double load = 1.0;
  double fallback = -1.0;  // Fallback rate override; −1 keeps the route's base rate.
  double feature_disabled = 0.0;
  double input_mult = 1.0;
  double new_tenant = 0.0;
  double validation_fail = -1.0;
  double truncation = 0.0;
  double error_add = 0.0;
  double latency_mult = 1.0;
};

struct ProviderMods {
  double circuit_open = 0.0;
  double errors = 0.0;
};

struct Mods {
  std::vector<ReplicaMods> replicas;
  std::vector<RouteMods> routes;
  std::vector<ProviderMods> providers;
  std::vector<double> dependency_extra_ms;
};

class FaultPlan {
 public:
  // InvalidArgumentError if a fault's target does not exist in `layout` or its kind does not
  // apply to that kind of entity (e.g. kv_thrash on a route).
  static absl::StatusOr<FaultPlan> Create(const FleetLayout& layout,
                                          const std::vector<FaultSpec>& faults, absl::Time start);

  // The modifiers in force at `t`, written into `out` (resized to `layout`, which must be the
  // layout given to Create or an identical copy).
  void Evaluate(const FleetLayout& layout, absl::Time t, Mods& out) const;

 private:
  struct Resolved {
    FaultSpec spec;
    std::vector<int> replicas;  // Replicas the fault touches.
    std::vector<int> routes;
    std::vector<int> providers;
    int dependency = -1;
  };

  void Apply(const FleetLayout& layout, const Resolved& r, absl::Time t, double intensity,
             Mods& out) const;

  absl::Time start_;
  std::vector<Resolved> faults_;
};

}  // namespace candor::sim

#endif  // CANDOR_SIM_FAULT_PLAN_H_
