#include "collector/nvml_loader.h"

#include <dlfcn.h>

#include <array>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::collector {
namespace {

// candor's declarations of the NVML ABI it uses (types and values as NVML defines them).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
using nvmlEventSet_t = struct nvmlEventSet_st*;

constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;
constexpr nvmlReturn_t NVML_ERROR_NO_PERMISSION = 4;
constexpr nvmlReturn_t NVML_ERROR_DRIVER_NOT_LOADED = 9;
constexpr nvmlReturn_t NVML_ERROR_TIMEOUT = 10;
constexpr nvmlReturn_t NVML_ERROR_FUNCTION_NOT_FOUND = 13;
constexpr nvmlReturn_t NVML_ERROR_GPU_IS_LOST = 15;
constexpr unsigned int NVML_CLOCK_SM = 1;
constexpr unsigned int NVML_TEMPERATURE_GPU = 0;
constexpr unsigned int NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1;
constexpr unsigned int NVML_VOLATILE_ECC = 0;
constexpr unsigned long long kEventTypeXidCriticalError = 0x8ULL;  // NOLINT(runtime/int)
constexpr unsigned int kUuidBufferSize = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE.

struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};
struct nvmlMemory_t {
  unsigned long long total;  // NOLINT(runtime/int)
  unsigned long long free;   // NOLINT(runtime/int)
  unsigned long long used;   // NOLINT(runtime/int)
};
struct nvmlMemory_v2_t {
  unsigned int version;
  unsigned long long total;     // NOLINT(runtime/int)
  unsigned long long reserved;  // NOLINT(runtime/int)
  unsigned long long free;      // NOLINT(runtime/int)
  unsigned long long used;      // NOLINT(runtime/int)
};
struct nvmlTemperature_v1_t {
  unsigned int version;
  int sensorType;
  int temperature;
};
struct nvmlEventData_t {
  nvmlDevice_t device;
  unsigned long long eventType;  // NOLINT(runtime/int)
  unsigned long long eventData;  // NOLINT(runtime/int)
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};
static_assert(sizeof(nvmlMemory_v2_t) == 40);
static_assert(sizeof(nvmlTemperature_v1_t) == 12);
static_assert(sizeof(nvmlEventData_t) == 32);

// NVML_STRUCT_VERSION: the struct size in the low bits, the version in the top byte.
template <typename T>
constexpr unsigned int StructVersion(unsigned int version) {
  return static_cast<unsigned int>(sizeof(T)) | (version << 24U);
}

struct Symbols {
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*count)(unsigned int*) = nullptr;
  nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*clock)(nvmlDevice_t, unsigned int, unsigned int*) = nullptr;
  nvmlReturn_t (*max_clock)(nvmlDevice_t, unsigned int, unsigned int*) = nullptr;
  nvmlReturn_t (*temperature_v)(nvmlDevice_t, nvmlTemperature_v1_t*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, unsigned int, unsigned int*) = nullptr;
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*enforced_limit)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*management_limit)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*memory_v2)(nvmlDevice_t, nvmlMemory_v2_t*) = nullptr;
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*event_reasons)(nvmlDevice_t, unsigned long long*) = nullptr;     // NOLINT
  nvmlReturn_t (*throttle_reasons)(nvmlDevice_t, unsigned long long*) = nullptr;  // NOLINT
  nvmlReturn_t (*ecc)(nvmlDevice_t, unsigned int, unsigned int,
                      unsigned long long*) = nullptr;  // NOLINT(runtime/int)
  nvmlReturn_t (*event_set_create)(nvmlEventSet_t*) = nullptr;
  nvmlReturn_t (*register_events)(nvmlDevice_t, unsigned long long,  // NOLINT(runtime/int)
                                  nvmlEventSet_t) = nullptr;
  nvmlReturn_t (*event_set_wait)(nvmlEventSet_t, nvmlEventData_t*, unsigned int) = nullptr;
  nvmlReturn_t (*event_set_free)(nvmlEventSet_t) = nullptr;
};

template <typename F>
void Bind(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
}

nvmlDevice_t ToNvml(NvmlDevice d) { return reinterpret_cast<nvmlDevice_t>(d); }

// Returns Error(call, rc) from the enclosing method when an NVML call fails.
#define CANDOR_NVML_RETURN_IF_ERROR_(call, expr)                              \
  do {                                                                        \
    const nvmlReturn_t candor_nvml_rc_ = (expr);                              \
    if (candor_nvml_rc_ != NVML_SUCCESS) return Error(call, candor_nvml_rc_); \
  } while (false)

class DlNvml final : public NvmlApi {
 public:
  DlNvml(void* lib, Symbols s) : lib_(lib), s_(s) {}
  ~DlNvml() override {
    if (event_set_ != nullptr && s_.event_set_free != nullptr) s_.event_set_free(event_set_);
    if (initialized_) s_.shutdown();
    dlclose(lib_);
  }

  absl::Status Init() override {
    if (initialized_) return absl::OkStatus();
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlInit_v2", s_.init());
    initialized_ = true;
    return absl::OkStatus();
  }

  void Shutdown() override {
    if (!initialized_) return;
    if (event_set_ != nullptr && s_.event_set_free != nullptr) s_.event_set_free(event_set_);
    event_set_ = nullptr;
    s_.shutdown();
    initialized_ = false;
  }

  absl::StatusOr<uint32_t> DeviceCount() override {
    unsigned int n = 0;
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetCount_v2", s_.count(&n));
    return n;
  }

  absl::StatusOr<NvmlDevice> DeviceByIndex(uint32_t index) override {
    nvmlDevice_t d = nullptr;
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetHandleByIndex_v2", s_.handle(index, &d));
    return reinterpret_cast<NvmlDevice>(d);
  }

  absl::StatusOr<std::string> Uuid(NvmlDevice device) override {
    std::array<char, kUuidBufferSize> buf{};
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetUUID",
                                 s_.uuid(ToNvml(device), buf.data(), kUuidBufferSize - 1));
    return std::string(buf.data(), strnlen(buf.data(), buf.size()));
  }

  absl::StatusOr<uint32_t> SmClockMhz(NvmlDevice device) override {
    if (s_.clock == nullptr) return Missing("nvmlDeviceGetClockInfo");
    unsigned int v = 0;
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetClockInfo",
                                 s_.clock(ToNvml(device), NVML_CLOCK_SM, &v));
    return v;
  }

  absl::StatusOr<uint32_t> MaxSmClockMhz(NvmlDevice device) override {
    if (s_.max_clock == nullptr) return Missing("nvmlDeviceGetMaxClockInfo");
    unsigned int v = 0;
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetMaxClockInfo",
                                 s_.max_clock(ToNvml(device), NVML_CLOCK_SM, &v));
    return v;
  }

  absl::StatusOr<int32_t> TemperatureC(NvmlDevice device) override {
    if (s_.temperature_v != nullptr) {
      nvmlTemperature_v1_t t{};
      t.version = StructVersion<nvmlTemperature_v1_t>(1);
      t.sensorType = static_cast<int>(NVML_TEMPERATURE_GPU);
      CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetTemperatureV",
                                   s_.temperature_v(ToNvml(device), &t));
      return t.temperature;
    }
    if (s_.temperature == nullptr) return Missing("nvmlDeviceGetTemperature");
    unsigned int v = 0;
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetTemperature",
                                 s_.temperature(ToNvml(device), NVML_TEMPERATURE_GPU, &v));
    return static_cast<int32_t>(v > 1000 ? 1000 : v);
  }

  absl::StatusOr<uint32_t> PowerMilliwatts(NvmlDevice device) override {
    if (s_.power == nullptr) return Missing("nvmlDeviceGetPowerUsage");
    unsigned int v = 0;
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetPowerUsage", s_.power(ToNvml(device), &v));
    return v;
  }

  absl::StatusOr<uint32_t> PowerLimitMilliwatts(NvmlDevice device) override {
    unsigned int v = 0;
    if (s_.enforced_limit != nullptr) {
      CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetEnforcedPowerLimit",
                                   s_.enforced_limit(ToNvml(device), &v));
      return v;
    }
    if (s_.management_limit == nullptr) return Missing("nvmlDeviceGetEnforcedPowerLimit");
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetPowerManagementLimit",
                                 s_.management_limit(ToNvml(device), &v));
    return v;
  }

  absl::StatusOr<NvmlUtilization> Utilization(NvmlDevice device) override {
    if (s_.utilization == nullptr) return Missing("nvmlDeviceGetUtilizationRates");
    nvmlUtilization_t u{};
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetUtilizationRates",
                                 s_.utilization(ToNvml(device), &u));
    return NvmlUtilization{.gpu_percent = u.gpu, .memory_percent = u.memory};
  }

  absl::StatusOr<NvmlMemory> Memory(NvmlDevice device) override {
    if (s_.memory_v2 != nullptr) {
      nvmlMemory_v2_t m{};
      m.version = StructVersion<nvmlMemory_v2_t>(2);
      CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetMemoryInfo_v2", s_.memory_v2(ToNvml(device), &m));
      return NvmlMemory{.total_bytes = m.total, .used_bytes = m.used};
    }
    if (s_.memory == nullptr) return Missing("nvmlDeviceGetMemoryInfo");
    nvmlMemory_t m{};
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetMemoryInfo", s_.memory(ToNvml(device), &m));
    return NvmlMemory{.total_bytes = m.total, .used_bytes = m.used};
  }

  absl::StatusOr<uint64_t> ClockEventReasons(NvmlDevice device) override {
    unsigned long long v = 0;  // NOLINT(runtime/int)
    if (s_.event_reasons != nullptr) {
      CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetCurrentClocksEventReasons",
                                   s_.event_reasons(ToNvml(device), &v));
      return v;
    }
    if (s_.throttle_reasons == nullptr) return Missing("nvmlDeviceGetCurrentClocksEventReasons");
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlDeviceGetCurrentClocksThrottleReasons",
                                 s_.throttle_reasons(ToNvml(device), &v));
    return v;
  }

  absl::StatusOr<uint64_t> EccUncorrectedVolatile(NvmlDevice device) override {
    if (s_.ecc == nullptr) return Missing("nvmlDeviceGetTotalEccErrors");
    unsigned long long v = 0;  // NOLINT(runtime/int)
    CANDOR_NVML_RETURN_IF_ERROR_(
        "nvmlDeviceGetTotalEccErrors",
        s_.ecc(ToNvml(device), NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &v));
    return v;
  }

  absl::Status WatchXid(NvmlDevice device) override {
    if (s_.event_set_create == nullptr || s_.register_events == nullptr ||
        s_.event_set_wait == nullptr) {
      return Missing("nvmlEventSetWait_v2");
    }
    if (event_set_ == nullptr) {
      CANDOR_NVML_RETURN_IF_ERROR_("nvmlEventSetCreate", s_.event_set_create(&event_set_));
    }
    CANDOR_NVML_RETURN_IF_ERROR_(
        "nvmlDeviceRegisterEvents",
        s_.register_events(ToNvml(device), kEventTypeXidCriticalError, event_set_));
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<NvmlXidEvent>> PollXid() override {
    if (event_set_ == nullptr) return std::optional<NvmlXidEvent>();
    nvmlEventData_t data{};
    const nvmlReturn_t rc = s_.event_set_wait(event_set_, &data, 0);
    if (rc == NVML_ERROR_TIMEOUT) return std::optional<NvmlXidEvent>();
    CANDOR_NVML_RETURN_IF_ERROR_("nvmlEventSetWait_v2", rc);
    if ((data.eventType & kEventTypeXidCriticalError) == 0) {
      return std::optional<NvmlXidEvent>(
          NvmlXidEvent{reinterpret_cast<NvmlDevice>(data.device), 0});
    }
    return std::optional<NvmlXidEvent>(
        NvmlXidEvent{reinterpret_cast<NvmlDevice>(data.device), data.eventData});
  }

 private:
  static absl::Status Missing(std::string_view function) {
    return absl::UnimplementedError(
        absl::StrCat(Sv(function), " is not provided by this NVML library"));
  }

  absl::Status Error(std::string_view call, nvmlReturn_t rc) const {
    const char* text = s_.error_string != nullptr ? s_.error_string(rc) : nullptr;
    const std::string msg =
        absl::StrCat(Sv(call), ": ", text != nullptr ? text : "unknown error", " (", rc, ")");
    switch (rc) {
      case NVML_ERROR_NOT_SUPPORTED:
      case NVML_ERROR_FUNCTION_NOT_FOUND:
        return absl::UnimplementedError(msg);
      case NVML_ERROR_NO_PERMISSION:
        return absl::PermissionDeniedError(msg);
      case NVML_ERROR_GPU_IS_LOST:
      case NVML_ERROR_DRIVER_NOT_LOADED:
        return absl::UnavailableError(msg);
      default:
        return absl::InternalError(msg);
    }
  }

  void* lib_;
  Symbols s_;
  bool initialized_ = false;
  nvmlEventSet_t event_set_ = nullptr;
};

#undef CANDOR_NVML_RETURN_IF_ERROR_

}  // namespace

absl::StatusOr<std::unique_ptr<NvmlApi>> LoadNvml(const std::string& library) {
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    return absl::UnavailableError(absl::StrCat("NVML unavailable: cannot load ", library, ": ",
                                               why != nullptr ? why : "unknown error",
                                               " (no NVIDIA driver on this machine?)"));
  }
  Symbols s;
  Bind(lib, "nvmlInit_v2", &s.init);
  Bind(lib, "nvmlShutdown", &s.shutdown);
  Bind(lib, "nvmlErrorString", &s.error_string);
  Bind(lib, "nvmlDeviceGetCount_v2", &s.count);
  Bind(lib, "nvmlDeviceGetHandleByIndex_v2", &s.handle);
  Bind(lib, "nvmlDeviceGetUUID", &s.uuid);
  const std::pair<const char*, bool> required[] = {
      {"nvmlInit_v2", s.init != nullptr},
      {"nvmlShutdown", s.shutdown != nullptr},
      {"nvmlErrorString", s.error_string != nullptr},
      {"nvmlDeviceGetCount_v2", s.count != nullptr},
      {"nvmlDeviceGetHandleByIndex_v2", s.handle != nullptr},
      {"nvmlDeviceGetUUID", s.uuid != nullptr}};
  for (const auto& [name, found] : required) {
    if (!found) {
      dlclose(lib);
      return absl::UnavailableError(
          absl::StrCat("NVML unavailable: ", library, " lacks the required symbol ", name));
    }
  }
  Bind(lib, "nvmlDeviceGetClockInfo", &s.clock);
  Bind(lib, "nvmlDeviceGetMaxClockInfo", &s.max_clock);
  Bind(lib, "nvmlDeviceGetTemperatureV", &s.temperature_v);
  Bind(lib, "nvmlDeviceGetTemperature", &s.temperature);
  Bind(lib, "nvmlDeviceGetPowerUsage", &s.power);
  Bind(lib, "nvmlDeviceGetEnforcedPowerLimit", &s.enforced_limit);
  Bind(lib, "nvmlDeviceGetPowerManagementLimit", &s.management_limit);
  Bind(lib, "nvmlDeviceGetUtilizationRates", &s.utilization);
  Bind(lib, "nvmlDeviceGetMemoryInfo_v2", &s.memory_v2);
  Bind(lib, "nvmlDeviceGetMemoryInfo", &s.memory);
  Bind(lib, "nvmlDeviceGetCurrentClocksEventReasons", &s.event_reasons);
  Bind(lib, "nvmlDeviceGetCurrentClocksThrottleReasons", &s.throttle_reasons);
  Bind(lib, "nvmlDeviceGetTotalEccErrors", &s.ecc);
  Bind(lib, "nvmlEventSetCreate", &s.event_set_create);
  Bind(lib, "nvmlDeviceRegisterEvents", &s.register_events);
  Bind(lib, "nvmlEventSetWait_v2", &s.event_set_wait);
  Bind(lib, "nvmlEventSetFree", &s.event_set_free);
  return std::unique_ptr<NvmlApi>(new DlNvml(lib, s));
}

}  // namespace candor::collector
