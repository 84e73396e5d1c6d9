#include "collector/signals.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "collector/signal_accum.h"
#include "common/strings.h"

namespace candor::collector {
namespace {

using detectors::Signal;

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

SignalAggregator::SignalAggregator(SignalOptions options)
    : options_(std::move(options)),
      window_ms_(std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.window))) {}

SignalAggregator::~SignalAggregator() = default;

absl::Time SignalAggregator::DataWatermark() const {
  if (max_time_ == absl::InfinitePast()) return max_time_;
  return max_time_ - options_.watermark_delay;
}

int SignalAggregator::Intern(EntityKind kind, std::string_view name) {
  auto& map = by_kind_[static_cast<size_t>(kind)];
  const auto it = map.find(Sv(name));
  if (it != map.end()) return it->second;
  if (entities_.size() >= options_.max_entities) {
    ++stats_.entity_limit;
    return -1;
  }
  const int index = static_cast<int>(entities_.size());
  entities_.push_back({EntityId{kind, std::string(name)}, "", "", "", "", ""});
  map.emplace(std::string(name), index);
  return index;
}

int SignalAggregator::InternModel(std::string_view name, std::string_view version) {
  scratch_.assign(name);
  if (!version.empty()) {
    scratch_.push_back('@');
    scratch_.append(version);
  }
  const int index = Intern(EntityKind::kModel, scratch_);
  if (index >= 0 && entities_[static_cast<size_t>(index)].model_name.empty()) {
    entities_[static_cast<size_t>(index)].model_name = std::string(name);
  }
  return index;
}

int SignalAggregator::CohortKey(std::string_view name, std::string_view version) {
  scratch_.assign(name);
  scratch_.push_back('@');
  scratch_.append(version);
  const auto it = cohort_index_.find(scratch_);
  if (it != cohort_index_.end()) return it->second;
  const int index = static_cast<int>(cohort_keys_.size());
  cohort_keys_.push_back(scratch_);
  cohort_index_.emplace(scratch_, index);
  return index;
}

bool SignalAggregator::WindowFor(absl::Time t, int64_t& window) {
  if (max_time_ == absl::InfinitePast()) {
    max_time_ = t;
  } else if (t > max_time_ + options_.max_ahead) {
    ++stats_.too_new;
    return false;
  }
  max_time_ = std::max(max_time_, t);
  window = FloorDiv(absl::ToUnixMillis(t), window_ms_);
  if (watermark_ == absl::InfinitePast()) return true;
  // Windows ending at or before the watermark are closed (or closeable): a later item for one
  // of them is late.
  const int64_t first_open =
      any_closed_ ? last_closed_ + 1 : FloorDiv(absl::ToUnixMillis(watermark_), window_ms_);
  if (window < first_open) {
    if (t < watermark_ - options_.allowed_lateness) {
      ++stats_.too_late;
      return false;
    }
    ++stats_.late_folded;
    window = first_open;
  }
  return true;
}

std::vector<SignalAggregator::Accum>& SignalAggregator::Window(int64_t window) {
  if (cached_accs_ != nullptr && cached_window_ == window) return *cached_accs_;
  auto it = open_.find(window);
  if (it == open_.end()) {
    std::vector<Accum> accs;
    if (!free_.empty()) {
      accs = std::move(free_.back());
      free_.pop_back();
    }
    it = open_.emplace(window, std::move(accs)).first;
  }
  cached_window_ = window;
  cached_accs_ = &it->second;
  return it->second;
}

SignalAggregator::Accum& SignalAggregator::At(std::vector<Accum>& accs, int entity) {
  if (accs.size() <= static_cast<size_t>(entity)) accs.resize(entities_.size());
  Accum& a = accs[static_cast<size_t>(entity)];
  a.touched = true;
  return a;
}

void SignalAggregator::Placement(std::string_view provider, std::string_view region,
                                 std::string_view zone, std::string_view node,
                                 std::vector<int>& out) {
  out.push_back(Intern(EntityKind::kFleet, ""));
  if (!provider.empty()) out.push_back(Intern(EntityKind::kProvider, provider));
  if (!region.empty()) out.push_back(Intern(EntityKind::kRegion, region));
  if (!zone.empty()) out.push_back(Intern(EntityKind::kZone, zone));
  if (!node.empty()) out.push_back(Intern(EntityKind::kNode, node));
}

void SignalAggregator::NotePlacement(int entity, std::string_view provider, std::string_view node,
                                     std::string_view gpu, std::string_view model,
                                     std::string_view version) {
  if (entity < 0) return;
  EntityInfo& info = entities_[static_cast<size_t>(entity)];
  if (info.provider.empty() && !provider.empty()) info.provider = std::string(provider);
  if (info.node.empty() && !node.empty()) info.node = std::string(node);
  if (info.gpu.empty() && !gpu.empty()) info.gpu = std::string(gpu);
  if (info.replica_model.empty() && !model.empty()) {
    info.replica_model = absl::StrCat(Sv(model), version.empty() ? "" : "@", Sv(version));
  }
}

void SignalAggregator::Observe(const candor::v1::IngestItem& item) {
  switch (item.item_case()) {
    case candor::v1::IngestItem::kInferenceEvent:
      ObserveEvent(item.inference_event());
      break;
    case candor::v1::IngestItem::kReplicaSample:
      ObserveReplicaSample(item.replica_sample());
      break;
    case candor::v1::IngestItem::kGpuSample:
      ObserveGpuSample(item.gpu_sample());
      break;
    case candor::v1::IngestItem::kKernelSummary:
      ObserveKernelSummary(item.kernel_summary());
      break;
    case candor::v1::IngestItem::kAnnotation:
      ObserveAnnotation(item.annotation());
      break;
    default:
      ++stats_.bad_items;
      break;
  }
}

void SignalAggregator::ObserveEvent(const candor::v1::InferenceEvent& e) {
  if (!e.has_timestamp()) {
    ++stats_.bad_items;
    return;
  }
  const bool has_latency = e.has_latency_ms() && e.latency_ms() >= 0.0;
  const absl::Time t = ToTime(e.timestamp()) +
                       (has_latency ? absl::Milliseconds(e.latency_ms()) : absl::ZeroDuration());
  int64_t w = 0;
  if (!WindowFor(t, w)) return;
  ++stats_.items;
  std::vector<Accum>& accs = Window(w);

  targets_.clear();
  Placement(e.provider(), e.region(), e.zone(), e.node(), targets_);
  const size_t placement_end = targets_.size();
  int replica = -1;
  if (!e.replica().empty()) replica = Intern(EntityKind::kReplica, e.replica());
  if (!e.gpu().empty()) targets_.push_back(Intern(EntityKind::kGpu, e.gpu()));
  int model = -1;
  if (!e.model().empty()) model = InternModel(e.model(), e.model_version());
  int route = -1;
  if (!e.route().empty()) route = Intern(EntityKind::kRoute, e.route());
  for (int x : {replica, model, route}) {
    if (x >= 0) targets_.push_back(x);
  }

  const EventFacts facts = FactsOf(e);
  const int cohort =
      (facts.tps > 0.0 && !e.model().empty()) ? CohortKey(e.model(), e.model_version()) : -1;
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (targets_[i] < 0) continue;
    Accum& a = At(accs, targets_[i]);
    a.AddEvent(e, facts);
    // Placement entities (not the fleet) keep decode speed per model version, for peers.
    if (i > 0 && i < placement_end && cohort >= 0) a.AddCohort(cohort, facts.tps);
  }
  if (model >= 0) {
    Accum& a = At(accs, model);
    if (!e.tenant().empty()) ++a.tenants[Sv(e.tenant())];
    if (!e.release_track().empty()) a.release_track = e.release_track();
  }
  if (route >= 0) {
    Accum& a = At(accs, route);
    if (!e.tenant().empty()) ++a.tenants[Sv(e.tenant())];
    if (model >= 0) Accum::Note(a.models, entities_[static_cast<size_t>(model)].id.name);
    for (const auto& call : e.dependencies()) {
      if (!call.name().empty()) Accum::Note(a.dependencies, call.name());
    }
  }
  NotePlacement(replica, e.provider(), e.node(), e.gpu(), e.model(), e.model_version());
  if (!e.node().empty()) {
    NotePlacement(Intern(EntityKind::kNode, e.node()), e.provider(), "", "", "", "");
  }
  for (const auto& call : e.dependencies()) {
    if (call.name().empty()) continue;
    const int dep = Intern(EntityKind::kDependency, call.name());
    if (dep >= 0) At(accs, dep).AddCall(call);
  }
}

void SignalAggregator::ObserveReplicaSample(const candor::v1::ReplicaSample& s) {
  if (!s.has_timestamp()) {
    ++stats_.bad_items;
    return;
  }
  const absl::Time t = ToTime(s.timestamp());
  int64_t w = 0;
  if (!WindowFor(t, w)) return;
  ++stats_.items;
  std::vector<Accum>& accs = Window(w);
  targets_.clear();
  Placement(s.provider(), s.region(), s.zone(), s.node(), targets_);
  int replica = -1;
  if (!s.replica().empty()) {
    replica = Intern(EntityKind::kReplica, s.replica());
    targets_.push_back(replica);
  }
  if (!s.gpu().empty()) targets_.push_back(Intern(EntityKind::kGpu, s.gpu()));
  if (!s.model().empty()) targets_.push_back(InternModel(s.model(), s.model_version()));
  NotePlacement(replica, s.provider(), s.node(), s.gpu(), s.model(), s.model_version());
  if (!s.node().empty()) {
    NotePlacement(Intern(EntityKind::kNode, s.node()), s.provider(), "", "", "", "");
  }
  // Counter deltas against the replica's previous sample; a decrease is a restart.
  CounterDeltas d;
  bool has_delta = false;
  if (replica >= 0) {
    ReplicaCounters& c = replica_counters_[replica];
    if (t > c.time) {
      const auto delta = [&](bool has, int64_t now, int64_t& last, int64_t& out) {
        if (!has) return;
        if (last >= 0) {
          out = now >= last ? now - last : now;
          has_delta = true;
        }
        last = now;
      };
      delta(s.has_preemptions_total(), s.preemptions_total(), c.preemptions, d.preemptions);
      delta(s.has_requests_finished_total(), s.requests_finished_total(), c.finished, d.finished);
      delta(s.has_generation_tokens_total(), s.generation_tokens_total(), c.generated, d.generated);
      c.time = t;
    }
  }
  for (int idx : targets_) {
    if (idx >= 0) At(accs, idx).AddReplicaSample(s, has_delta ? &d : nullptr);
  }
}

void SignalAggregator::ObserveGpuSample(const candor::v1::GpuSample& g) {
  if (!g.has_timestamp()) {
    ++stats_.bad_items;
    return;
  }
  int64_t w = 0;
  if (!WindowFor(ToTime(g.timestamp()), w)) return;
  ++stats_.items;
  std::vector<Accum>& accs = Window(w);
  targets_.clear();
  Placement(g.provider(), g.region(), g.zone(), g.node(), targets_);
  if (!g.gpu().empty()) targets_.push_back(Intern(EntityKind::kGpu, g.gpu()));
  for (int idx : targets_) {
    if (idx >= 0) At(accs, idx).AddGpuSample(g);
  }
}

void SignalAggregator::ObserveKernelSummary(const candor::v1::KernelSummary& k) {
  if (!k.has_interval_end() || !k.has_interval_start()) {
    ++stats_.bad_items;
    return;
  }
  int64_t w = 0;
  if (!WindowFor(ToTime(k.interval_end()), w)) return;
  ++stats_.items;
  std::vector<Accum>& accs = Window(w);
  targets_.clear();
  Placement(k.provider(), "", "", k.node(), targets_);
  if (!k.gpu().empty()) targets_.push_back(Intern(EntityKind::kGpu, k.gpu()));
  if (!k.replica().empty()) targets_.push_back(Intern(EntityKind::kReplica, k.replica()));
  const double interval =
      absl::ToDoubleMilliseconds(ToTime(k.interval_end()) - ToTime(k.interval_start()));
  for (int idx : targets_) {
    if (idx < 0) continue;
    Accum& a = At(accs, idx);
    ++a.items;
    if (interval > 0.0) {
      a.busy_ms += std::clamp(k.kernel_busy_ms(), 0.0, interval);
      a.interval_ms += interval;
    }
  }
}

void SignalAggregator::ObserveAnnotation(const candor::v1::Annotation& an) {
  absl::StatusOr<EntityId> id = EntityId::Parse(an.entity());
  if (!an.has_timestamp() || !id.ok()) {
    ++stats_.bad_items;
    return;
  }
  const absl::Time t = ToTime(an.timestamp());
  int64_t w = 0;
  if (!WindowFor(t, w)) return;
  ++stats_.items;
  const int idx = Intern(id->kind, id->name);
  if (idx < 0) return;
  if (id->kind == EntityKind::kModel && entities_[static_cast<size_t>(idx)].model_name.empty()) {
    entities_[static_cast<size_t>(idx)].model_name = id->name.substr(0, id->name.find('@'));
  }
  std::vector<Accum>& accs = Window(w);
  if (accs.size() <= static_cast<size_t>(idx)) accs.resize(entities_.size());
  accs[static_cast<size_t>(idx)].annotations.push_back(
      {t, candor::v1::AnnotationKind_Name(an.kind()), an.message()});
}

void SignalAggregator::CloseUpTo(absl::Time watermark, const WindowSink& sink) {
  if (watermark <= watermark_) return;
  watermark_ = watermark;
  if (watermark == absl::InfiniteFuture()) return;
  const int64_t target = FloorDiv(absl::ToUnixMillis(watermark), window_ms_) - 1;
  int64_t next = 0;
  if (any_closed_) {
    next = last_closed_ + 1;
  } else if (!open_.empty()) {
    next = open_.begin()->first;
  } else {
    return;
  }
  while (next <= target) {
    auto it = open_.find(next);
    if (it == open_.end()) {
      auto later = open_.upper_bound(next);
      const int64_t gap_end = later == open_.end() ? target + 1 : later->first;
      if (gap_end - next > options_.max_gap_windows) {
        next = std::min(gap_end, target + 1);
        last_closed_ = next - 1;
        any_closed_ = true;
        continue;
      }
    }
    std::vector<Accum>* accs = it == open_.end() ? nullptr : &it->second;
    std::vector<detectors::WindowSummary> summaries = Summarize(next, accs);
    if (it != open_.end()) {
      Recycle(std::move(it->second));
      open_.erase(it);
    }
    cached_accs_ = nullptr;
    last_closed_ = next;
    any_closed_ = true;
    ++stats_.windows_closed;
    const absl::Time start = absl::FromUnixMillis(next * window_ms_);
    sink(start, start + options_.window, std::move(summaries));
    ++next;
  }
}

std::vector<detectors::WindowSummary> SignalAggregator::Summarize(int64_t window,
                                                                  std::vector<Accum>* accs) {
  const absl::Time start = absl::FromUnixMillis(window * window_ms_);
  const double secs = absl::ToDoubleSeconds(options_.window);
  std::vector<detectors::WindowSummary> out(entities_.size());
  Accum empty;
  for (size_t i = 0; i < entities_.size(); ++i) {
    detectors::WindowSummary& s = out[i];
    s.entity = entities_[i].id;
    s.start = start;
    s.end = start + options_.window;
    s.model_name = entities_[i].model_name;
    s.replica_model = entities_[i].replica_model;
    s.provider = entities_[i].provider;
    s.node = entities_[i].node;
    s.gpu = entities_[i].gpu;
    Accum* a = (accs != nullptr && i < accs->size()) ? &(*accs)[i] : &empty;
    SummarizeAccum(*a, secs, options_.max_samples, cohort_keys_, s);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.entity < b.entity; });
  return out;
}

void SignalAggregator::Recycle(std::vector<Accum>&& accs) {
  for (Accum& a : accs) a.Clear();
  if (free_.size() < 8) free_.push_back(std::move(accs));
}

}  // namespace candor::collector
