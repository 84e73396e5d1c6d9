#include "collector/nvml_fake.h"

#include <algorithm>

namespace candor::collector {

absl::Status FakeNvml::Init() {
  ++init_calls_;
  if (!init_status_.ok()) return init_status_;
  initialized_ = true;
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> FakeNvml::DeviceCount() {
  if (!initialized_) return absl::FailedPreconditionError("NVML not initialised");
  return static_cast<uint32_t>(gpus_.size());
}

absl::StatusOr<NvmlDevice> FakeNvml::DeviceByIndex(uint32_t index) {
  if (!initialized_) return absl::FailedPreconditionError("NVML not initialised");
  if (index >= gpus_.size()) return absl::InternalError("invalid device index");
  return Handle(index);
}

absl::StatusOr<FakeGpu*> FakeNvml::Find(NvmlDevice device) {
  if (!initialized_) return absl::FailedPreconditionError("NVML not initialised");
  const size_t i = device - Handle(0);
  if (device < Handle(0) || i >= gpus_.size()) return absl::InternalError("invalid device handle");
  FakeGpu* gpu = &gpus_[i];
  if (!gpu->failure.ok()) return gpu->failure;
  return gpu;
}

template <typename T>
absl::StatusOr<T> FakeNvml::Read(NvmlDevice device, std::optional<T> FakeGpu::*field) {
  absl::StatusOr<FakeGpu*> gpu = Find(device);
  if (!gpu.ok()) return gpu.status();
  const std::optional<T>& v = (*gpu)->*field;
  if (!v) return absl::UnimplementedError("not supported");
  return *v;
}

absl::StatusOr<std::string> FakeNvml::Uuid(NvmlDevice device) {
  absl::StatusOr<FakeGpu*> gpu = Find(device);
  if (!gpu.ok()) return gpu.status();
  return (*gpu)->uuid;
}

absl::StatusOr<uint32_t> FakeNvml::SmClockMhz(NvmlDevice d) {
  return Read(d, &FakeGpu::sm_clock_mhz);
}
absl::StatusOr<uint32_t> FakeNvml::MaxSmClockMhz(NvmlDevice d) {
  return Read(d, &FakeGpu::max_sm_clock_mhz);
}
absl::StatusOr<int32_t> FakeNvml::TemperatureC(NvmlDevice d) {
  return Read(d, &FakeGpu::temperature_c);
}
absl::StatusOr<uint32_t> FakeNvml::PowerMilliwatts(NvmlDevice d) {
  return Read(d, &FakeGpu::power_mw);
}
absl::StatusOr<uint32_t> FakeNvml::PowerLimitMilliwatts(NvmlDevice d) {
  return Read(d, &FakeGpu::power_limit_mw);
}
absl::StatusOr<NvmlUtilization> FakeNvml::Utilization(NvmlDevice d) {
  return Read(d, &FakeGpu::utilization);
}
absl::StatusOr<NvmlMemory> FakeNvml::Memory(NvmlDevice d) { return Read(d, &FakeGpu::memory); }
absl::StatusOr<uint64_t> FakeNvml::ClockEventReasons(NvmlDevice d) {
  return Read(d, &FakeGpu::clock_event_reasons);
}
absl::StatusOr<uint64_t> FakeNvml::EccUncorrectedVolatile(NvmlDevice d) {
  return Read(d, &FakeGpu::ecc_uncorrected);
}

absl::Status FakeNvml::WatchXid(NvmlDevice device) {
  absl::StatusOr<FakeGpu*> gpu = Find(device);
  if (!gpu.ok()) return gpu.status();
  if (std::find(watched_.begin(), watched_.end(), device) == watched_.end()) {
    watched_.push_back(device);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<NvmlXidEvent>> FakeNvml::PollXid() {
  if (!initialized_) return absl::FailedPreconditionError("NVML not initialised");
  while (!xids_.empty()) {
    const NvmlXidEvent e = xids_.front();
    xids_.pop_front();
    if (std::find(watched_.begin(), watched_.end(), e.device) != watched_.end()) {
      return std::optional<NvmlXidEvent>(e);
    }
  }
  return std::optional<NvmlXidEvent>();
}

}  // namespace candor::collector
