#include "common/entity.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor {

std::string_view EntityKindName(EntityKind kind) {
  switch (kind) {
    case EntityKind::kFleet:
      return "fleet";
    case EntityKind::kProvider:
      return "provider";
    case EntityKind::kRegion:
      return "region";
    case EntityKind::kZone:
      return "zone";
    case EntityKind::kNode:
      return "node";
    case EntityKind::kGpu:
      return "gpu";
    case EntityKind::kReplica:
      return "replica";
    case EntityKind::kModel:
      return "model";
    case EntityKind::kRoute:
      return "route";
    case EntityKind::kDependency:
      return "dependency";
  }
  return "unknown";
}

absl::StatusOr<EntityKind> ParseEntityKind(std::string_view text) {
  for (EntityKind kind : kAllEntityKinds) {
    if (EntityKindName(kind) == text) return kind;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown entity kind \"", Sv(text), "\""));
}

EntityId EntityId::Model(std::string_view name, std::string_view version) {
  if (version.empty()) return {EntityKind::kModel, std::string(name)};
  return {EntityKind::kModel, absl::StrCat(Sv(name), "@", Sv(version))};
}

std::string EntityId::ToString() const {
  if (kind == EntityKind::kFleet) return "fleet";
  return absl::StrCat(Sv(EntityKindName(kind)), ":", name);
}

absl::StatusOr<EntityId> EntityId::Parse(std::string_view text) {
  if (text == "fleet") return Fleet();
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("entity \"", Sv(text), "\" is not of the form kind:name"));
  }
  absl::StatusOr<EntityKind> kind = ParseEntityKind(text.substr(0, colon));
  if (!kind.ok()) return kind.status();
  if (*kind == EntityKind::kFleet) {
    return absl::InvalidArgumentError("the fleet entity is written \"fleet\", with no name");
  }
  std::string_view name = text.substr(colon + 1);
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("entity \"", Sv(text), "\" has an empty name"));
  }
  return EntityId{*kind, std::string(name)};
}

}  // namespace candor
