#include "cuda-profiler/aggregator.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "cuda-profiler/text_util.h"
#include "google/protobuf/util/time_util.h"

namespace candor::cuda_profiler {
namespace {

constexpr uint32_t kOtherNameId = UINT32_MAX;
constexpr std::string_view kOtherName = "[other]";
constexpr size_t kMaxNameBytes = 1024;  // KernelStats.name limit.
constexpr size_t kMaxContexts = 65536;
// A kernel spanning more intervals than this is clipped to its last ones: only garbage or
// hour-long kernels get here, and the loop must stay bounded.
constexpr int64_t kMaxSpanIntervals = 64;
// Timestamps past 2191-10-26 are garbage; refusing them keeps all interval arithmetic far
// from int64 overflow.
constexpr uint64_t kMaxTimestampNs = 7'000'000'000'000'000'000;

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

candor::v1::MemcpyKind ProtoKind(int direction) {
  switch (static_cast<CopyDirection>(direction)) {
    case CopyDirection::kHostToDevice:
      return candor::v1::HTOD;
    case CopyDirection::kDeviceToHost:
      return candor::v1::DTOH;
    case CopyDirection::kDeviceToDevice:
      return candor::v1::DTOD;
    case CopyDirection::kHostToHost:
      return candor::v1::HTOH;
    case CopyDirection::kPeerToPeer:
      return candor::v1::PTOP;
    case CopyDirection::kOther:
      break;
  }
  return candor::v1::OTHER;
}

google::protobuf::Timestamp ToProto(int64_t ns) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(ns);
}

}  // namespace

absl::Status ValidateAggregatorOptions(const AggregatorOptions& o) {
  auto bad = [](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("aggregator option ", Sv(what)));
  };
  if (o.interval < absl::Seconds(1) || o.interval > absl::Hours(1)) {
    return bad("interval must be within 1s..1h");
  }
  if (o.allowed_lateness < absl::ZeroDuration() || o.allowed_lateness > absl::Hours(1)) {
    return bad("allowed_lateness must be within 0..1h");
  }
  if (o.max_future < absl::Seconds(1) || o.max_future > absl::Hours(1)) {
    return bad("max_future must be within 1s..1h");
  }
  if (o.top_kernels < 1 || o.top_kernels > 64) return bad("top_kernels must be within 1..64");
  if (o.max_kernel_names < 1 || o.max_kernel_names > 1000000) {
    return bad("max_kernel_names must be within 1..1000000");
  }
  if (o.max_request_ids > 1024) return bad("max_request_ids must be within 0..1024");
  if (o.max_correlations < 1 || o.max_correlations > 10000000) {
    return bad("max_correlations must be within 1..10000000");
  }
  if (o.max_busy_spans < 2 || o.max_busy_spans > 1000000) {
    return bad("max_busy_spans must be within 2..1000000");
  }
  if (o.max_devices < 1 || o.max_devices > 1024) return bad("max_devices must be within 1..1024");
  return absl::OkStatus();
}

void KernelAggregator::Stat::Add(uint64_t d) {
  ++count;
  total_ns += d;
  min_ns = std::min(min_ns, d);
  max_ns = std::max(max_ns, d);
}

KernelAggregator::KernelAggregator(ProcessIdentity identity, AggregatorOptions options,
                                   const ExternalIdResolver* resolver)
    : identity_(std::move(identity)),
      options_(options),
      resolver_(resolver),
      interval_ns_(absl::ToInt64Nanoseconds(options.interval)) {}

void KernelAggregator::AddDropped(uint64_t count) {
  stats_.external_dropped += count;
  pending_dropped_ += count;
}

void KernelAggregator::Lost(uint64_t* counter) {
  ++*counter;
  ++pending_dropped_;
}

std::optional<int64_t> KernelAggregator::Admit(uint64_t t_ns) {
  if (t_ns > kMaxTimestampNs ||
      (now_ != absl::InfiniteFuture() &&
       absl::FromUnixNanos(static_cast<int64_t>(t_ns)) > now_ + options_.max_future)) {
    Lost(&stats_.future);
    return std::nullopt;
  }
  const int64_t index = static_cast<int64_t>(t_ns) / interval_ns_;
  if (index <= closed_through_) {
    Lost(&stats_.late);
    return std::nullopt;
  }
  return index;
}

KernelAggregator::Device* KernelAggregator::FindOrAddDevice(uint32_t device_id) {
  auto it = devices_.find(device_id);
  if (it != devices_.end()) return &it->second;
  if (devices_.size() >= options_.max_devices) return nullptr;
  return &devices_[device_id];
}

KernelAggregator::Interval* KernelAggregator::At(uint32_t device_id, int64_t index) {
  Device* device = FindOrAddDevice(device_id);
  if (device == nullptr) {
    Lost(&stats_.unattributed);
    return nullptr;
  }
  return &device->open.try_emplace(index, options_.max_busy_spans).first->second;
}

std::optional<uint32_t> KernelAggregator::DefaultDevice() const {
  if (devices_.empty()) return std::nullopt;
  return devices_.begin()->first;
}

void KernelAggregator::AddBusy(uint32_t device_id, uint64_t start, uint64_t end) {
  Device* device = FindOrAddDevice(device_id);
  if (device == nullptr) return;
  const int64_t last = static_cast<int64_t>(end) / interval_ns_;
  int64_t first = static_cast<int64_t>(start) / interval_ns_;
  first = std::max({first, closed_through_ + 1, last - kMaxSpanIntervals + 1});
  for (int64_t i = first; i <= last; ++i) {
    const auto lo = static_cast<uint64_t>(i * interval_ns_);
    const auto hi = static_cast<uint64_t>((i + 1) * interval_ns_);
    auto& in = device->open.try_emplace(i, options_.max_busy_spans).first->second;
    in.busy.Add(std::max(start, lo), std::min(end, hi));
  }
}

uint32_t KernelAggregator::NameId(std::string_view name) {
  if (auto it = name_ids_.find(Sv(name)); it != name_ids_.end()) return it->second;
  if (names_.size() >= options_.max_kernel_names) return kOtherNameId;
  const auto id = static_cast<uint32_t>(names_.size());
  names_.push_back(SanitizeText(name, kMaxNameBytes));
  name_ids_.emplace(std::string(name), id);
  return id;
}

void KernelAggregator::AttachExternal(uint64_t external_id, Interval* interval) {
  if (interval->external_ids.size() >= options_.max_request_ids) {
    if (!interval->external_ids.contains(external_id)) ++stats_.request_ids_overflow;
    return;
  }
  interval->external_ids.insert(external_id);
}

void KernelAggregator::Join(uint32_t correlation_id, uint32_t device_id, int64_t index) {
  if (!external_by_correlation_ || correlation_id == 0) return;
  if (const uint64_t* external = external_by_correlation_->Find(correlation_id)) {
    if (Interval* in = At(device_id, index)) AttachExternal(*external, in);
    return;
  }
  pending_by_correlation_->Put(correlation_id, Placement{device_id, index});
}

void KernelAggregator::OnKernel(const KernelActivity& a) {
  if (!Timed(a.start_ns, a.end_ns)) return Lost(&stats_.untimed);
  const auto index = Admit(a.end_ns);
  if (!index) return;
  Interval* in = At(a.device_id, *index);
  if (in == nullptr) return;
  ++stats_.kernels;
  ++in->kernel_count;
  const uint32_t name = NameId(a.name);
  if (name == kOtherNameId) ++stats_.other_names;
  in->kernels[name].Add(a.end_ns - a.start_ns);
  AddBusy(a.device_id, a.start_ns, a.end_ns);
  Join(a.correlation_id, a.device_id, *index);
}

void KernelAggregator::OnMemcpy(const MemcpyActivity& a) {
  if (!Timed(a.start_ns, a.end_ns)) return Lost(&stats_.untimed);
  const auto index = Admit(a.end_ns);
  if (!index) return;
  Interval* in = At(a.device_id, *index);
  if (in == nullptr) return;
  const auto d = static_cast<size_t>(a.direction);
  in->copies[d].Add(a.end_ns - a.start_ns);
  in->copy_bytes[d] += a.bytes;
  Join(a.correlation_id, a.device_id, *index);
}

void KernelAggregator::OnMemset(const MemsetActivity& a) {
  if (!Timed(a.start_ns, a.end_ns)) return Lost(&stats_.untimed);
  const auto index = Admit(a.end_ns);
  if (!index) return;
  Interval* in = At(a.device_id, *index);
  if (in == nullptr) return;
  ++in->memset_count;
  in->memset_bytes += a.bytes;
  Join(a.correlation_id, a.device_id, *index);
}

void KernelAggregator::OnMemory(const MemoryActivity& a) {
  if (a.timestamp_ns == 0) return Lost(&stats_.untimed);
  const auto index = Admit(a.timestamp_ns);
  if (!index) return;
  Interval* in = At(a.device_id, *index);
  if (in == nullptr) return;
  if (a.allocation) {
    ++in->alloc_count;
    in->alloc_bytes += a.bytes;
  } else {
    ++in->free_count;
    in->free_bytes += a.bytes;
  }
}

void KernelAggregator::OnSync(const SyncActivity& a) {
  if (!Timed(a.start_ns, a.end_ns)) return Lost(&stats_.untimed);
  std::optional<uint32_t> device;
  if (auto it = context_device_.find(a.context_id); it != context_device_.end()) {
    device = it->second;
  } else {
    device = DefaultDevice();
  }
  if (!device) return Lost(&stats_.unattributed);
  const auto index = Admit(a.end_ns);
  if (!index) return;
  if (Interval* in = At(*device, *index)) in->sync.Add(a.end_ns - a.start_ns);
}

void KernelAggregator::OnOverhead(const OverheadActivity& a) {
  if (!Timed(a.start_ns, a.end_ns)) return Lost(&stats_.untimed);
  const std::optional<uint32_t> device = a.has_device ? a.device_id : DefaultDevice();
  if (!device) return Lost(&stats_.unattributed);
  const auto index = Admit(a.end_ns);
  if (!index) return;
  Interval* in = At(*device, *index);
  if (in == nullptr) return;
  in->overhead_ns += a.end_ns - a.start_ns;
  if (a.kind == OverheadKind::kCommandBufferFull) ++in->command_buffer_full;
}

void KernelAggregator::OnDevice(const DeviceActivity& a) {
  if (Device* device = FindOrAddDevice(a.device_id)) {
    device->uuid = SanitizeText(a.uuid, kMaxNameBytes);
  } else {
    ++stats_.unattributed;
  }
}

void KernelAggregator::OnContext(const ContextActivity& a) {
  if (context_device_.size() >= kMaxContexts && !context_device_.contains(a.context_id)) {
    return;
  }
  context_device_[a.context_id] = a.device_id;
}

void KernelAggregator::OnExternalCorrelation(const ExternalCorrelationActivity& a) {
  if (!external_by_correlation_) {
    external_by_correlation_.emplace(options_.max_correlations);
    pending_by_correlation_.emplace(options_.max_correlations);
  }
  if (const Placement* where = pending_by_correlation_->Find(a.correlation_id)) {
    const Placement p = *where;
    pending_by_correlation_->Erase(a.correlation_id);
    if (p.index > closed_through_) {
      if (Interval* in = At(p.device_id, p.index)) AttachExternal(a.external_id, in);
    } else {
      ++stats_.late;
    }
  }
  external_by_correlation_->Put(a.correlation_id, a.external_id);
}

void KernelAggregator::OnGraphLaunch(const GraphLaunchActivity& a) {
  if (!Timed(a.start_ns, a.end_ns)) return Lost(&stats_.untimed);
  const auto index = Admit(a.end_ns);
  if (!index) return;
  Interval* in = At(a.device_id, *index);
  if (in == nullptr) return;
  in->graphs.Add(a.end_ns - a.start_ns);
  AddBusy(a.device_id, a.start_ns, a.end_ns);
  Join(a.correlation_id, a.device_id, *index);
}

size_t KernelAggregator::open_intervals() const {
  size_t n = 0;
  for (const auto& [id, device] : devices_) n += device.open.size();
  return n;
}

std::vector<candor::v1::KernelSummary> KernelAggregator::Close(absl::Time now) {
  const int64_t t = absl::ToUnixNanos(now - options_.allowed_lateness);
  // Interval i ends at (i + 1) * interval_ns; close those ending at or before t.
  int64_t last = t / interval_ns_ - 1;
  if (t < 0 && t % interval_ns_ != 0) --last;
  if (last <= closed_through_) return {};
  return CloseThrough(last);
}

std::vector<candor::v1::KernelSummary> KernelAggregator::CloseAll() {
  int64_t last = closed_through_;
  for (const auto& [id, device] : devices_) {
    if (!device.open.empty()) last = std::max(last, device.open.rbegin()->first);
  }
  return CloseThrough(last);
}

std::vector<candor::v1::KernelSummary> KernelAggregator::CloseThrough(int64_t last_index) {
  std::vector<candor::v1::KernelSummary> out;
  for (auto& [id, device] : devices_) {
    auto end = device.open.upper_bound(last_index);
    for (auto it = device.open.begin(); it != end; ++it) {
      out.push_back(Summarize(device, id, it->first, it->second));
    }
    device.open.erase(device.open.begin(), end);
  }
  closed_through_ = std::max(closed_through_, last_index);
  if (!out.empty() && pending_dropped_ > 0) {
    out.front().set_dropped_records(out.front().dropped_records() + pending_dropped_);
    pending_dropped_ = 0;
  }
  stats_.summaries += out.size();
  return out;
}

candor::v1::KernelSummary KernelAggregator::Summarize(const Device& device, uint32_t device_id,
                                                      int64_t index, const Interval& in) {
  candor::v1::KernelSummary s;
  *s.mutable_interval_start() = ToProto(index * interval_ns_);
  *s.mutable_interval_end() = ToProto((index + 1) * interval_ns_);
  s.set_node(identity_.node);
  // Without a DEVICE record (profiling attached after CUDA started) the device index stands
  // in for the uuid.
  s.set_gpu(device.uuid.empty() ? absl::StrCat(device_id) : device.uuid);
  s.set_pid(identity_.pid);
  s.set_process_name(identity_.process_name);
  s.set_provider(identity_.provider);
  s.set_replica(identity_.replica);
  s.set_model(identity_.model);
  s.set_kernel_count(in.kernel_count);
  s.set_kernel_busy_ms(Ms(in.busy.Total()));
  for (int d = 0; d < kNumCopyDirections; ++d) {
    const Stat& c = in.copies[static_cast<size_t>(d)];
    if (c.count == 0) continue;
    auto* m = s.add_copies();
    m->set_kind(ProtoKind(d));
    m->set_count(c.count);
    m->set_bytes(in.copy_bytes[static_cast<size_t>(d)]);
    m->set_time_ms(Ms(c.total_ns));
  }
  s.set_memset_count(in.memset_count);
  s.set_memset_bytes(in.memset_bytes);
  std::vector<std::pair<std::string_view, const Stat*>> kernels;
  kernels.reserve(in.kernels.size());
  for (const auto& [name_id, stat] : in.kernels) {
    kernels.emplace_back(name_id == kOtherNameId ? kOtherName : names_[name_id], &stat);
  }
  const size_t top = std::min(kernels.size(), options_.top_kernels);
  std::partial_sort(kernels.begin(), kernels.begin() + static_cast<std::ptrdiff_t>(top),
                    kernels.end(), [](const auto& a, const auto& b) {
                      if (a.second->total_ns != b.second->total_ns) {
                        return a.second->total_ns > b.second->total_ns;
                      }
                      return a.first < b.first;
                    });
  for (size_t i = 0; i < top; ++i) {
    auto* k = s.add_top_kernels();
    k->set_name(std::string(kernels[i].first));
    k->set_count(kernels[i].second->count);
    k->set_total_ms(Ms(kernels[i].second->total_ns));
    k->set_min_ms(Ms(kernels[i].second->min_ns));
    k->set_max_ms(Ms(kernels[i].second->max_ns));
  }
  std::vector<std::string> ids;
  ids.reserve(in.external_ids.size());
  for (uint64_t ext : in.external_ids) {
    std::optional<std::string> id =
        resolver_ != nullptr ? resolver_->Resolve(ext) : std::optional(absl::StrCat(ext));
    if (id) {
      ids.push_back(std::move(*id));
    } else {
      ++stats_.unresolved_ids;
    }
  }
  std::sort(ids.begin(), ids.end());
  for (auto& id : ids) s.add_request_ids(std::move(id));
  s.set_sync_count(in.sync.count);
  s.set_sync_ms(Ms(in.sync.total_ns));
  s.set_overhead_ms(Ms(in.overhead_ns));
  s.set_graph_launch_count(in.graphs.count);
  s.set_graph_ms(Ms(in.graphs.total_ns));
  s.set_memory_alloc_count(in.alloc_count);
  s.set_memory_alloc_bytes(in.alloc_bytes);
  s.set_memory_free_count(in.free_count);
  s.set_memory_free_bytes(in.free_bytes);
  s.set_command_buffer_full_count(in.command_buffer_full);
  return s;
}

}  // namespace candor::cuda_profiler
