// Bounds on label cardinality: how many distinct entities of each kind (DESIGN §4) candor
// tracks. Every entity becomes series, sketches and state-machine instances downstream, so an
// unbounded stream of new names (a request id sent as a replica name, a per-pod route) would
// exhaust memory. An item that would create an entity past its kind's limit is refused with
// CARDINALITY_LIMIT; items naming entities already known keep working.
//
// Known entities are remembered in memory from the time candor starts, with the wall time
// they were last named; when a kind is full, entities not named for `idle_ttl` are forgotten
// to make room (at most once per `sweep_interval`).
//
// Thread safety: all methods are safe to call concurrently. Known entities are checked under
// a shared lock; only new entities take a kind's exclusive lock.

#ifndef CANDOR_COLLECTOR_CARDINALITY_H_
#define CANDOR_COLLECTOR_CARDINALITY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/entity.h"
#include "common/metrics.h"

namespace candor::collector {

struct CardinalityOptions {
  // Most distinct entities of one kind (providers, nodes, GPUs, replicas, models, routes,
  // dependencies, …). 0 turns the limit off. Default: 50,000.
  size_t max_entities_per_kind = 50'000;
  // An entity not named for this long may be forgotten when its kind is full. Default: 24 h.
  absl::Duration idle_ttl = absl::Hours(24);
  // Least time between two sweeps of one kind. Default: 1 minute.
  absl::Duration sweep_interval = absl::Minutes(1);
};

// What blocked an item: the first entity that would pass its kind's limit.
struct CardinalityRejection {
  EntityKind kind;
  std::string name;
  size_t limit;
};

class CardinalityLimiter {
 public:
  // `clock` (wall time of last use) and `metrics` (gauge `candor_ingest_entities{kind}`) must
  // outlive the limiter.
  CardinalityLimiter(CardinalityOptions options, Clock& clock, MetricsRegistry& metrics);

  // Admits the entities one item names: known ones are refreshed, new ones are added — all of
  // them or none. Returns the first entity whose kind is full (nothing is added then).
  std::optional<CardinalityRejection> Admit(const std::vector<EntityId>& entities);

  // Distinct entities of `kind` currently remembered.
  size_t Count(EntityKind kind) const;

 private:
  static constexpr size_t kKinds = kAllEntityKinds.size();
  struct Kind {
    mutable absl::Mutex mu;
    absl::node_hash_map<std::string, std::atomic<int64_t>> last_seen ABSL_GUARDED_BY(mu);
    absl::Time last_sweep ABSL_GUARDED_BY(mu) = absl::InfinitePast();
    Gauge* gauge = nullptr;
  };
  // With the kind's lock held exclusively: forgets idle entities if a sweep is due.
  void MaybeSweep(Kind& k, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(k.mu);

  const CardinalityOptions options_;
  Clock& clock_;
  std::array<Kind, kKinds> kinds_;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_CARDINALITY_H_
