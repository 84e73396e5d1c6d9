#include "collector/entities.h"

#include <algorithm>
#include <string>

namespace candor::collector {
namespace {

class Builder {
 public:
  Builder() { out_.push_back(EntityId::Fleet()); }
  void Add(EntityKind kind, const std::string& name) {
    if (name.empty()) return;
    EntityId id{kind, name};
    if (std::find(out_.begin(), out_.end(), id) == out_.end()) out_.push_back(std::move(id));
  }
  void AddModel(const std::string& name, const std::string& version) {
    if (name.empty()) return;
    EntityId id = EntityId::Model(name, version);
    if (std::find(out_.begin(), out_.end(), id) == out_.end()) out_.push_back(std::move(id));
  }
  std::vector<EntityId> Take() { return std::move(out_); }

 private:
  std::vector<EntityId> out_;
};

}  // namespace

std::vector<EntityId> EntitiesOf(const candor::v1::IngestItem& item) {
  Builder b;
  switch (item.item_case()) {
    case candor::v1::IngestItem::kInferenceEvent: {
      const auto& e = item.inference_event();
      b.Add(EntityKind::kProvider, e.provider());
      b.Add(EntityKind::kRegion, e.region());
      b.Add(EntityKind::kZone, e.zone());
      b.Add(EntityKind::kNode, e.node());
      b.Add(EntityKind::kGpu, e.gpu());
      b.Add(EntityKind::kReplica, e.replica());
      b.AddModel(e.model(), e.model_version());
      b.Add(EntityKind::kRoute, e.route());
      for (const auto& d : e.dependencies()) b.Add(EntityKind::kDependency, d.name());
      break;
    }
    case candor::v1::IngestItem::kReplicaSample: {
      const auto& s = item.replica_sample();
      b.Add(EntityKind::kProvider, s.provider());
      b.Add(EntityKind::kRegion, s.region());
      b.Add(EntityKind::kZone, s.zone());
      b.Add(EntityKind::kNode, s.node());
      b.Add(EntityKind::kGpu, s.gpu());
      b.Add(EntityKind::kReplica, s.replica());
      b.AddModel(s.model(), s.model_version());
      break;
    }
    case candor::v1::IngestItem::kGpuSample: {
      const auto& s = item.gpu_sample();
      b.Add(EntityKind::kProvider, s.provider());
      b.Add(EntityKind::kRegion, s.region());
      b.Add(EntityKind::kZone, s.zone());
      b.Add(EntityKind::kNode, s.node());
      b.Add(EntityKind::kGpu, s.gpu());
      break;
    }
    case candor::v1::IngestItem::kKernelSummary: {
      const auto& k = item.kernel_summary();
      b.Add(EntityKind::kProvider, k.provider());
      b.Add(EntityKind::kNode, k.node());
      b.Add(EntityKind::kGpu, k.gpu());
      b.Add(EntityKind::kReplica, k.replica());
      b.AddModel(k.model(), "");
      break;
    }
    case candor::v1::IngestItem::kAnnotation: {
      absl::StatusOr<EntityId> id = EntityId::Parse(item.annotation().entity());
      if (!id.ok()) return {};
      if (id->kind == EntityKind::kFleet) return {EntityId::Fleet()};
      return {*std::move(id)};
    }
    case candor::v1::IngestItem::ITEM_NOT_SET:
      return {};
  }
  return b.Take();
}

}  // namespace candor::collector
