// Binds NVIDIA's management library (libnvidia-ml.so.1) at run time.
//
// candor links no NVIDIA library and ships no NVIDIA header: the loader dlopens the versioned
// soname that every driver installs, resolves the entry points by name with candor's own
// declarations of the handful of functions and structs it uses, and adapts them to NvmlApi.
// Required symbols: nvmlInit_v2, nvmlShutdown, nvmlErrorString, nvmlDeviceGetCount_v2,
// nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetUUID. Everything else is optional and resolved
// newest first (nvmlDeviceGetTemperatureV before the deprecated nvmlDeviceGetTemperature,
// nvmlDeviceGetMemoryInfo_v2 before nvmlDeviceGetMemoryInfo,
// nvmlDeviceGetCurrentClocksEventReasons before …ClocksThrottleReasons); a query whose every
// variant is missing returns UnimplementedError.
//
// Thread safety: the returned NvmlApi is not thread-safe (see nvml_api.h).

#ifndef CANDOR_COLLECTOR_NVML_LOADER_H_
#define CANDOR_COLLECTOR_NVML_LOADER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "collector/nvml_api.h"

namespace candor::collector {

// The soname of NVIDIA's management library.
inline constexpr char kNvmlLibrary[] = "libnvidia-ml.so.1";

// Opens `library` (a soname or a path). UnavailableError saying "NVML unavailable" with the
// loader's reason when the library cannot be opened (no NVIDIA driver on this machine) or
// lacks a required symbol. The library stays loaded while the returned object lives; Init is
// not called yet.
absl::StatusOr<std::unique_ptr<NvmlApi>> LoadNvml(const std::string& library = kNvmlLibrary);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_NVML_LOADER_H_
