#include "collector/cardinality.h"

#include <algorithm>

namespace candor::collector {

CardinalityLimiter::CardinalityLimiter(CardinalityOptions options, Clock& clock,
                                       MetricsRegistry& metrics)
    : options_(options), clock_(clock) {
  for (EntityKind kind : kAllEntityKinds) {
    kinds_[static_cast<size_t>(kind)].gauge =
        &metrics.GetGauge("candor_ingest_entities", "Distinct entities known, by kind.",
                          {{"kind", std::string(EntityKindName(kind))}});
  }
}

void CardinalityLimiter::MaybeSweep(Kind& k, absl::Time now) {
  if (now - k.last_sweep < options_.sweep_interval) return;
  k.last_sweep = now;
  const int64_t cutoff = absl::ToUnixSeconds(now - options_.idle_ttl);
  absl::erase_if(k.last_seen, [cutoff](const auto& entry) {
    return entry.second.load(std::memory_order_relaxed) < cutoff;
  });
  k.gauge->Set(static_cast<double>(k.last_seen.size()));
}

std::optional<CardinalityRejection> CardinalityLimiter::Admit(
    const std::vector<EntityId>& entities) {
  if (options_.max_entities_per_kind == 0) return std::nullopt;
  const absl::Time now = clock_.Now();
  const int64_t now_s = absl::ToUnixSeconds(now);
  std::vector<const EntityId*> unknown;
  for (const EntityId& e : entities) {
    if (e.kind == EntityKind::kFleet) continue;
    Kind& k = kinds_[static_cast<size_t>(e.kind)];
    absl::ReaderMutexLock lock(&k.mu);
    auto it = k.last_seen.find(e.name);
    if (it == k.last_seen.end()) {
      unknown.push_back(&e);
    } else if (it->second.load(std::memory_order_relaxed) != now_s) {
      it->second.store(now_s, std::memory_order_relaxed);
    }
  }
  if (unknown.empty()) return std::nullopt;

  // New entities: lock their kinds exclusively in kind order (no deadlock), check room for
  // all of them, then add all of them.
  std::sort(unknown.begin(), unknown.end(),
            [](const EntityId* a, const EntityId* b) { return a->kind < b->kind; });
  std::vector<Kind*> locked;
  for (const EntityId* e : unknown) {
    Kind* k = &kinds_[static_cast<size_t>(e->kind)];
    if (locked.empty() || locked.back() != k) {
      k->mu.Lock();
      locked.push_back(k);
    }
  }
  std::optional<CardinalityRejection> rejection;
  std::array<size_t, kKinds> adding{};
  for (const EntityId* e : unknown) {
    Kind& k = kinds_[static_cast<size_t>(e->kind)];
    k.mu.AssertHeld();
    if (k.last_seen.contains(e->name)) continue;
    size_t& add = adding[static_cast<size_t>(e->kind)];
    if (k.last_seen.size() + add + 1 > options_.max_entities_per_kind) MaybeSweep(k, now);
    if (k.last_seen.size() + add + 1 > options_.max_entities_per_kind) {
      rejection = CardinalityRejection{e->kind, e->name, options_.max_entities_per_kind};
      break;
    }
    ++add;
  }
  if (!rejection) {
    for (const EntityId* e : unknown) {
      Kind& k = kinds_[static_cast<size_t>(e->kind)];
      k.mu.AssertHeld();
      k.last_seen.try_emplace(e->name, now_s);
      k.gauge->Set(static_cast<double>(k.last_seen.size()));
    }
  }
  for (Kind* k : locked) k->mu.Unlock();
  return rejection;
}

size_t CardinalityLimiter::Count(EntityKind kind) const {
  const Kind& k = kinds_[static_cast<size_t>(kind)];
  absl::ReaderMutexLock lock(&k.mu);
  return k.last_seen.size();
}

}  // namespace candor::collector
