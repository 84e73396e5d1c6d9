#include "collector/nvml_sampler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace candor::collector {
namespace {

// GpuSample field ranges (proto/candor/v1/ingest.proto).
constexpr double kMaxClockMhz = 10000;
constexpr double kMinTemperatureC = -40;
constexpr double kMaxTemperatureC = 150;
constexpr double kMaxPowerW = 10000;
constexpr uint32_t kMaxPercent = 100;
constexpr size_t kMaxUuidBytes = 128;

}  // namespace

NvmlSampler::NvmlSampler(Clock& clock, NvmlSamplerOptions options,
                         absl::StatusOr<std::unique_ptr<NvmlApi>> api)
    : clock_(clock), options_(std::move(options)) {
  if (api.ok()) {
    api_ = std::move(*api);
    status_message_ = "NVML loaded";
  } else {
    status_message_ = std::string(api.status().message());
  }
}

NvmlSampler::~NvmlSampler() {
  if (api_ != nullptr && initialized_) api_->Shutdown();
}

void NvmlSampler::Failed(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnimplemented) ++stats_.read_errors;
}

absl::Status NvmlSampler::Enumerate() {
  absl::StatusOr<uint32_t> count = api_->DeviceCount();
  if (!count.ok()) return absl::InternalError(count.status().message());
  gpus_.clear();
  by_handle_.clear();
  for (uint32_t i = 0; i < *count; ++i) {
    absl::StatusOr<NvmlDevice> handle = api_->DeviceByIndex(i);
    if (!handle.ok()) {
      Failed(handle.status());
      continue;
    }
    absl::StatusOr<std::string> uuid = api_->Uuid(*handle);
    if (!uuid.ok() || uuid->empty() || uuid->size() > kMaxUuidBytes) {
      // A GPU without a usable uuid cannot be joined with anything; skip it.
      if (!uuid.ok()) Failed(uuid.status());
      ++stats_.invalid_values;
      continue;
    }
    if (absl::Status w = api_->WatchXid(*handle); !w.ok()) Failed(w);
    by_handle_[*handle] = gpus_.size();
    gpus_.push_back(Gpu{.handle = *handle, .uuid = std::move(*uuid)});
  }
  return absl::OkStatus();
}

void NvmlSampler::DrainXid() {
  for (int i = 0; i < options_.max_xid_events_per_run; ++i) {
    absl::StatusOr<std::optional<NvmlXidEvent>> e = api_->PollXid();
    if (!e.ok()) {
      Failed(e.status());
      return;
    }
    if (!e->has_value()) return;
    auto it = by_handle_.find((*e)->device);
    if (it == by_handle_.end() || (*e)->xid == 0) continue;
    ++stats_.xid_events;
    if ((*e)->xid > UINT32_MAX) {
      ++stats_.invalid_values;
      continue;
    }
    gpus_[it->second].xid_last = static_cast<uint32_t>((*e)->xid);
  }
}

absl::StatusOr<std::vector<candor::v1::GpuSample>> NvmlSampler::RunOnce() {
  if (api_ == nullptr) return absl::UnavailableError(status_message_);
  ++stats_.runs;
  if (!initialized_) {
    if (absl::Status st = api_->Init(); !st.ok()) {
      ++stats_.init_failures;
      status_message_ = absl::StrCat("NVML unavailable: ", st.message());
      return absl::UnavailableError(status_message_);
    }
    initialized_ = true;
    if (absl::Status st = Enumerate(); !st.ok()) {
      api_->Shutdown();
      initialized_ = false;
      status_message_ = absl::StrCat("NVML cannot enumerate GPUs: ", st.message());
      return st;
    }
    status_message_ = absl::StrCat("NVML sampling ", gpus_.size(), " GPU(s)");
  }
  DrainXid();
  std::vector<candor::v1::GpuSample> out;
  out.reserve(gpus_.size());
  for (const Gpu& gpu : gpus_) out.push_back(Sample(gpu));
  stats_.samples += out.size();
  return out;
}

candor::v1::GpuSample NvmlSampler::Sample(const Gpu& gpu) {
  candor::v1::GpuSample s;
  *s.mutable_timestamp() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(clock_.Now()));
  s.set_node(options_.node);
  s.set_gpu(gpu.uuid);
  s.set_provider(options_.provider);
  s.set_region(options_.region);
  s.set_zone(options_.zone);
  // Sets the field through `set` when `v` is in [lo, hi]; counts it as invalid otherwise.
  auto in_range = [this](double v, double lo, double hi) {
    if (v >= lo && v <= hi) return true;
    ++stats_.invalid_values;
    return false;
  };
  if (auto v = api_->SmClockMhz(gpu.handle); !v.ok()) {
    Failed(v.status());
  } else if (in_range(*v, 0, kMaxClockMhz)) {
    s.set_sm_clock_mhz(*v);
  }
  if (auto v = api_->MaxSmClockMhz(gpu.handle); !v.ok()) {
    Failed(v.status());
  } else if (in_range(*v, 0, kMaxClockMhz)) {
    s.set_max_sm_clock_mhz(*v);
  }
  if (auto v = api_->TemperatureC(gpu.handle); !v.ok()) {
    Failed(v.status());
  } else if (in_range(*v, kMinTemperatureC, kMaxTemperatureC)) {
    s.set_temperature_c(*v);
  }
  if (auto v = api_->PowerMilliwatts(gpu.handle); !v.ok()) {
    Failed(v.status());
  } else if (in_range(*v / 1000.0, 0, kMaxPowerW)) {
    s.set_power_w(*v / 1000.0);
  }
  if (auto v = api_->PowerLimitMilliwatts(gpu.handle); !v.ok()) {
    Failed(v.status());
  } else if (in_range(*v / 1000.0, 0, kMaxPowerW)) {
    s.set_power_limit_w(*v / 1000.0);
  }
  if (auto v = api_->Utilization(gpu.handle); !v.ok()) {
    Failed(v.status());
  } else if (in_range(v->gpu_percent, 0, kMaxPercent)) {
    s.set_utilization(v->gpu_percent / 100.0);
  }
  if (auto v = api_->Memory(gpu.handle); !v.ok()) {
    Failed(v.status());
  } else if (v->used_bytes <= v->total_bytes) {
    s.set_memory_used_bytes(v->used_bytes);
    s.set_memory_total_bytes(v->total_bytes);
  } else {
    ++stats_.invalid_values;
  }
  if (auto v = api_->ClockEventReasons(gpu.handle); !v.ok()) {
    Failed(v.status());
  } else {
    s.set_clock_event_reasons(*v);
  }
  if (auto v = api_->EccUncorrectedVolatile(gpu.handle); !v.ok()) {
    Failed(v.status());
  } else {
    s.set_ecc_uncorrected_total(*v);
  }
  s.set_xid_last(gpu.xid_last);
  return s;
}

}  // namespace candor::collector
