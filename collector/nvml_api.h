// The few NVML queries candor's GPU health sampler needs, behind an interface so the sampler is
// tested against a fake and runs on machines without NVIDIA's library.
//
// Two implementations: `LoadNvml` (nvml_loader.h) binds libnvidia-ml.so.1 at run time with
// dlopen and candor's own declarations; `FakeNvml` (nvml_fake.h) is programmable for tests.
// Units are NVML's: MHz, °C, milliwatts, percent, bytes.
//
// Errors: a query the driver or GPU does not support returns UnimplementedError (the field is
// simply absent from the sample); NVML_ERROR_NO_PERMISSION returns PermissionDeniedError; a
// lost GPU or an unloaded driver returns UnavailableError; anything else InternalError, each
// with NVML's error string.
//
// Thread safety: implementations are not required to be thread-safe; the sampler calls them
// from one thread.

#ifndef CANDOR_COLLECTOR_NVML_API_H_
#define CANDOR_COLLECTOR_NVML_API_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace candor::collector {

// An NVML device handle (nvmlDevice_t), opaque to the sampler.
using NvmlDevice = uintptr_t;

struct NvmlMemory {
  uint64_t total_bytes = 0;
  uint64_t used_bytes = 0;
};

struct NvmlUtilization {
  uint32_t gpu_percent = 0;     // Percent of the last sample period a kernel ran, 0–100.
  uint32_t memory_percent = 0;  // Percent of the period device memory was read or written.
};

struct NvmlXidEvent {
  NvmlDevice device = 0;
  uint64_t xid = 0;  // The XID code (999 when NVML does not know it).
};

class NvmlApi {
 public:
  virtual ~NvmlApi() = default;

  // nvmlInit_v2. Must succeed before any other call.
  virtual absl::Status Init() = 0;
  // nvmlShutdown. Safe to call when Init failed.
  virtual void Shutdown() = 0;

  virtual absl::StatusOr<uint32_t> DeviceCount() = 0;
  virtual absl::StatusOr<NvmlDevice> DeviceByIndex(uint32_t index) = 0;
  // "GPU-xxxxxxxx-…" (the uuid CUPTI and DCGM report too).
  virtual absl::StatusOr<std::string> Uuid(NvmlDevice device) = 0;

  virtual absl::StatusOr<uint32_t> SmClockMhz(NvmlDevice device) = 0;
  virtual absl::StatusOr<uint32_t> MaxSmClockMhz(NvmlDevice device) = 0;
  virtual absl::StatusOr<int32_t> TemperatureC(NvmlDevice device) = 0;
  virtual absl::StatusOr<uint32_t> PowerMilliwatts(NvmlDevice device) = 0;
  // The enforced power limit.
  virtual absl::StatusOr<uint32_t> PowerLimitMilliwatts(NvmlDevice device) = 0;
  virtual absl::StatusOr<NvmlUtilization> Utilization(NvmlDevice device) = 0;
  virtual absl::StatusOr<NvmlMemory> Memory(NvmlDevice device) = 0;
  // Clock-event (throttle) reason bits, as in GpuSample.clock_event_reasons.
  virtual absl::StatusOr<uint64_t> ClockEventReasons(NvmlDevice device) = 0;
  // Uncorrected ECC errors since the driver loaded (volatile counter).
  virtual absl::StatusOr<uint64_t> EccUncorrectedVolatile(NvmlDevice device) = 0;

  // Asks for XID (critical error) events of `device`.
  virtual absl::Status WatchXid(NvmlDevice device) = 0;
  // The next pending XID event without waiting, or nullopt when none is pending.
  virtual absl::StatusOr<std::optional<NvmlXidEvent>> PollXid() = 0;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_NVML_API_H_
