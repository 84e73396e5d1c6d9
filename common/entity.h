// Entities: the parts of a fleet that candor classifies (DESIGN §4). An entity is written
// `kind:name` (`provider:aws`, `node:gpu-17`, `model:llama-3-70b@v184`, `route:chat`); the
// fleet itself is `fleet`. Models are `model:NAME@VERSION`, or `model:NAME` with no version.
//
// Thread safety: values; safe from any thread.

#ifndef CANDOR_COMMON_ENTITY_H_
#define CANDOR_COMMON_ENTITY_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace candor {

enum class EntityKind : uint8_t {
  kFleet,
  kProvider,
  kRegion,
  kZone,
  kNode,
  kGpu,
  kReplica,
  kModel,
  kRoute,
  kDependency,
};

inline constexpr std::array<EntityKind, 10> kAllEntityKinds = {
    EntityKind::kFleet, EntityKind::kProvider,  EntityKind::kRegion,  EntityKind::kZone,
    EntityKind::kNode,  EntityKind::kGpu,       EntityKind::kReplica, EntityKind::kModel,
    EntityKind::kRoute, EntityKind::kDependency};

// "fleet", "provider", "region", "zone", "node", "gpu", "replica", "model", "route",
// "dependency".
std::string_view EntityKindName(EntityKind kind);
// Inverse of EntityKindName; InvalidArgumentError naming the text if unknown.
absl::StatusOr<EntityKind> ParseEntityKind(std::string_view text);

struct EntityId {
  EntityKind kind = EntityKind::kFleet;
  std::string name;  // Empty for the fleet.

  static EntityId Fleet() { return {EntityKind::kFleet, ""}; }
  // `model:NAME@VERSION`, or `model:NAME` when `version` is empty.
  static EntityId Model(std::string_view name, std::string_view version);

  // "fleet" or "kind:name".
  std::string ToString() const;
  // Parses "fleet" or "kind:name" with a known kind and a non-empty name; otherwise
  // InvalidArgumentError explaining what is wrong.
  static absl::StatusOr<EntityId> Parse(std::string_view text);

  friend bool operator==(const EntityId&, const EntityId&) = default;
  friend auto operator<=>(const EntityId&, const EntityId&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const EntityId& e) {
    return H::combine(std::move(h), e.kind, e.name);
  }
};

}  // namespace candor

#endif  // CANDOR_COMMON_ENTITY_H_
