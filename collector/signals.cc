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

// NVML clock-event reasons that mean the GPU is being held back: SW power cap, HW slowdown,
// SW/HW thermal slowdown, HW power brake.
constexpr uint64_t kThrottleMask = 0x4 | 0x8 | 0x20 | 0x40 | 0x80;

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

  double deps_ms = 0.0;
  for (const auto& call : e.dependencies()) deps_ms += std::max(0.0, call.latency_ms());
  const candor::v1::Status status = e.status();
  const bool ok = status == candor::v1::OK;
  const bool timeout = status == candor::v1::TIMEOUT;
  const double latency = has_latency ? e.latency_ms() : -1.0;
  double tps = -1.0;
  if (ok && e.has_ttft_ms() && has_latency && e.has_output_tokens() && e.output_tokens() > 0 &&
      latency > e.ttft_ms()) {
    tps = static_cast<double>(e.output_tokens()) / ((latency - e.ttft_ms()) / 1000.0);
  }
  const int cohort =
      (tps > 0.0 && !e.model().empty()) ? CohortKey(e.model(), e.model_version()) : -1;
  for (size_t i = 0; i < targets_.size(); ++i) {
    const int idx = targets_[i];
    if (idx < 0) continue;
    Accum& a = At(accs, idx);
    ++a.items;
    a.Count(Signal::kRequests);
    if (ok) a.Count(Signal::kOk);
    if (status == candor::v1::ERROR) a.Count(Signal::kErrors);
    if (timeout) {
      a.Count(Signal::kTimeouts);
      if (!(deps_ms >= 0.5 * latency)) a.Count(Signal::kOwnTimeouts);
    }
    if (status == candor::v1::REJECTED) a.Count(Signal::kRejected);
    if (status == candor::v1::CANCELLED) a.Count(Signal::kCancelled);
    if (e.http_status() == 429) a.Count(Signal::kHttp429);
    if (e.http_status() >= 500 && e.http_status() <= 599) a.Count(Signal::kHttp5xx);
    if (e.circuit_state() == candor::v1::OPEN) a.Count(Signal::kCircuitOpen);
    if (e.fallback_tier() > 0 && e.fallback_tier() < 5) a.Count(Signal::kFallback);
    if (e.fallback_tier() == 5) a.Count(Signal::kFeatureDisabled);
    if (e.validation() == candor::v1::PASSED || e.validation() == candor::v1::FAILED) {
      a.Count(Signal::kValidationChecked);
      if (e.validation() == candor::v1::FAILED) a.Count(Signal::kValidationFailed);
    }
    if (e.truncated_input_tokens() > 0) a.Count(Signal::kTruncated);
    if (e.synthetic()) {
      a.Count(Signal::kSynthetic);
      if (!ok) a.Count(Signal::kSyntheticFailed);
    }
    if (e.has_preemptions() && e.preemptions() > 0) a.Count(Signal::kPreemptions, e.preemptions());
    if (latency >= 0.0) {
      a.latency.push_back(latency);
      a.service.push_back(std::max(0.0, latency - deps_ms));
    }
    if (ok && e.has_ttft_ms()) {
      a.ttft.push_back(e.ttft_ms());
      a.service_ttft.push_back(std::max(0.0, e.ttft_ms() - deps_ms));
    }
    if (e.has_queue_ms()) a.queue.push_back(e.queue_ms());
    if (tps > 0.0) {
      a.tps.push_back(tps);
      if (i < placement_end && i > 0 && cohort >= 0) a.Cohort(cohort).push_back(tps);
    }
    if (e.has_input_tokens()) a.input.push_back(static_cast<double>(e.input_tokens()));
    if (ok && e.has_output_tokens()) a.output.push_back(static_cast<double>(e.output_tokens()));
    if (e.has_quality_score()) a.quality.push_back(e.quality_score());
    if (e.has_kv_cache_usage()) a.kv_admission.push_back(e.kv_cache_usage());
  }
  if (route >= 0 || model >= 0) {
    for (int idx : {route, model}) {
      if (idx < 0) continue;
      Accum& a = At(accs, idx);
      if (!e.tenant().empty()) ++a.tenants[Sv(e.tenant())];
      if (idx == model && !e.release_track().empty()) a.release_track = e.release_track();
      if (idx == route && model >= 0) {
        const std::string& name = entities_[static_cast<size_t>(model)].id.name;
        if (std::find(a.models.begin(), a.models.end(), name) == a.models.end()) {
          a.models.push_back(name);
        }
      }
    }
  }
  NotePlacement(replica, e.provider(), e.node(), e.gpu(), e.model(), e.model_version());
  if (!e.node().empty()) {
    NotePlacement(Intern(EntityKind::kNode, e.node()), e.provider(), "", "", "", "");
  }
  for (const auto& call : e.dependencies()) {
    if (call.name().empty()) continue;
    if (route >= 0) {
      Accum& r = At(accs, route);
      if (std::find(r.dependencies.begin(), r.dependencies.end(), call.name()) ==
          r.dependencies.end()) {
        r.dependencies.push_back(call.name());
      }
    }
    const int dep = Intern(EntityKind::kDependency, call.name());
    if (dep < 0) continue;
    Accum& a = At(accs, dep);
    ++a.items;
    a.Count(Signal::kRequests);
    if (call.status() == candor::v1::OK) a.Count(Signal::kOk);
    if (call.status() == candor::v1::ERROR) a.Count(Signal::kErrors);
    if (call.status() == candor::v1::TIMEOUT) {
      a.Count(Signal::kTimeouts);
      a.Count(Signal::kOwnTimeouts);
    }
    if (call.status() == candor::v1::REJECTED) a.Count(Signal::kRejected);
    a.latency.push_back(std::max(0.0, call.latency_ms()));
    a.service.push_back(std::max(0.0, call.latency_ms()));
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
  int64_t d_pre = 0, d_fin = 0, d_gen = 0;
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
      delta(s.has_preemptions_total(), s.preemptions_total(), c.preemptions, d_pre);
      delta(s.has_requests_finished_total(), s.requests_finished_total(), c.finished, d_fin);
      delta(s.has_generation_tokens_total(), s.generation_tokens_total(), c.generated, d_gen);
      c.time = t;
    }
  }
  for (int idx : targets_) {
    if (idx < 0) continue;
    Accum& a = At(accs, idx);
    ++a.items;
    ++a.rs_n;
    if (s.has_queue_depth()) {
      const double q = static_cast<double>(s.queue_depth());
      a.q_sum += q;
      a.q_max = std::max(a.q_max, q);
      ++a.q_n;
    }
    if (s.has_running_requests()) {
      a.run_sum += static_cast<double>(s.running_requests());
      ++a.run_n;
    }
    if (s.has_kv_cache_usage()) {
      a.kv_sum += s.kv_cache_usage();
      a.kv_max = std::max(a.kv_max, s.kv_cache_usage());
      ++a.kv_n;
    }
    if (s.has_gpu_utilization()) {
      a.util_sum += s.gpu_utilization();
      ++a.util_n;
    }
    if (s.has_warming() && s.warming()) ++a.warming_n;
    if (s.has_ready() && !s.ready()) ++a.not_ready_n;
    if (has_delta) {
      a.preempt_delta += d_pre;
      a.finished_delta += d_fin;
      a.generated_delta += d_gen;
      ++a.delta_n;
    }
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
    if (idx < 0) continue;
    Accum& a = At(accs, idx);
    ++a.items;
    ++a.g_n;
    if (g.has_sm_clock_mhz() && g.has_max_sm_clock_mhz() && g.max_sm_clock_mhz() > 0.0) {
      a.clock_sum += g.sm_clock_mhz() / g.max_sm_clock_mhz();
      ++a.clock_n;
    }
    if (g.has_temperature_c()) {
      a.temp_sum += g.temperature_c();
      ++a.temp_n;
    }
    if (g.has_power_w()) {
      a.power_sum += g.power_w();
      ++a.power_n;
    }
    if (g.has_clock_event_reasons() && (g.clock_event_reasons() & kThrottleMask) != 0) {
      ++a.throttle_n;
    }
    if (g.has_xid_last() && g.xid_last() != 0) ++a.xid_n;
    if (g.has_ecc_uncorrected_total()) {
      const int64_t ecc =
          static_cast<int64_t>(std::min<uint64_t>(g.ecc_uncorrected_total(), uint64_t{1} << 62));
      a.ecc_max = std::max(a.ecc_max, ecc);
      a.ecc_min = a.ecc_min < 0 ? ecc : std::min(a.ecc_min, ecc);
    }
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
