// A stand-in libnvidia-ml.so.1 for the NVML loader's tests: exports NVML entry points with
// NVIDIA's C signatures over two fixed GPUs, and checks the struct version words callers pass.
// Built three ways: the default (a current driver), CANDOR_FAKE_NVML_OLD_DRIVER (only the
// deprecated variants of the versioned queries, no events), CANDOR_FAKE_NVML_NO_UUID (lacks a
// required symbol).

#include <cstring>

namespace {

using nvmlReturn_t = int;
constexpr nvmlReturn_t kSuccess = 0;
constexpr nvmlReturn_t kInvalidArgument = 2;
constexpr nvmlReturn_t kNotSupported = 3;
constexpr nvmlReturn_t kUninitialized = 1;
constexpr nvmlReturn_t kTimeout = 10;
constexpr nvmlReturn_t kArgumentVersionMismatch = 25;

struct Device {
  const char* uuid;
  unsigned int sm_clock;
  unsigned int max_sm_clock;
  int temperature;
  unsigned int power_mw;
  unsigned int limit_mw;
  unsigned int util_gpu;
  unsigned int util_mem;
  unsigned long long total;    // NOLINT(runtime/int)
  unsigned long long used;     // NOLINT(runtime/int)
  unsigned long long reasons;  // NOLINT(runtime/int)
  unsigned long long ecc;      // NOLINT(runtime/int)
};

Device devices[2] = {
    {"GPU-11111111-2222-3333-4444-555555555555", 1980, 1980, 65, 350000, 700000, 87, 40,
     80ULL << 30, 60ULL << 30, 0x1, 0},
    // Throttled for heat; its max clock reads as NVML's "unavailable" sentinel.
    {"GPU-66666666-7777-8888-9999-000000000000", 1200, 0xFFFFFFFFu, 88, 690000, 700000, 99, 70,
     80ULL << 30, 79ULL << 30, 0x20 | 0x40, 2},
};

bool initialized = false;
#ifndef CANDOR_FAKE_NVML_OLD_DRIVER
int events_left = 1;
int event_set_token = 0;
#endif

Device* Find(void* handle) {
  for (auto& d : devices) {
    if (handle == &d) return &d;
  }
  return nullptr;
}

struct Memory {
  unsigned long long total, free, used;  // NOLINT(runtime/int)
};
struct MemoryV2 {
  unsigned int version;
  unsigned long long total, reserved, free, used;  // NOLINT(runtime/int)
};
struct TemperatureV1 {
  unsigned int version;
  int sensor;
  int temperature;
};
struct Utilization {
  unsigned int gpu, memory;
};
struct EventData {
  void* device;
  unsigned long long type;  // NOLINT(runtime/int)
  unsigned long long data;  // NOLINT(runtime/int)
  unsigned int gpu_instance, compute_instance;
};

}  // namespace

#define CHECK_DEVICE(h)                    \
  Device* d = Find(h);                     \
  if (!initialized) return kUninitialized; \
  if (d == nullptr) return kInvalidArgument

extern "C" {

__attribute__((visibility("default"))) nvmlReturn_t nvmlInit_v2() {
  initialized = true;
#ifndef CANDOR_FAKE_NVML_OLD_DRIVER
  events_left = 1;
#endif
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlShutdown() {
  initialized = false;
  return kSuccess;
}
__attribute__((visibility("default"))) const char* nvmlErrorString(nvmlReturn_t rc) {
  switch (rc) {
    case kNotSupported:
      return "Not Supported";
    case kArgumentVersionMismatch:
      return "Argument version mismatch";
    default:
      return "fake error";
  }
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* n) {
  if (!initialized) return kUninitialized;
  *n = 2;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i,
                                                                                  void** handle) {
  if (!initialized) return kUninitialized;
  if (i >= 2) return kInvalidArgument;
  *handle = &devices[i];
  return kSuccess;
}
#ifndef CANDOR_FAKE_NVML_NO_UUID
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetUUID(void* h, char* buf,
                                                                      unsigned int len) {
  CHECK_DEVICE(h);
  if (len < std::strlen(d->uuid) + 1) return kInvalidArgument;
  std::strcpy(buf, d->uuid);
  return kSuccess;
}
#endif
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetClockInfo(void* h,
                                                                           unsigned int type,
                                                                           unsigned int* v) {
  CHECK_DEVICE(h);
  if (type != 1) return kNotSupported;  // Only NVML_CLOCK_SM is faked.
  *v = d->sm_clock;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetMaxClockInfo(void* h,
                                                                              unsigned int type,
                                                                              unsigned int* v) {
  CHECK_DEVICE(h);
  if (type != 1) return kNotSupported;
  *v = d->max_sm_clock;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetPowerUsage(void* h,
                                                                            unsigned int* v) {
  CHECK_DEVICE(h);
  *v = d->power_mw;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetUtilizationRates(void* h,
                                                                                  Utilization* u) {
  CHECK_DEVICE(h);
  u->gpu = d->util_gpu;
  u->memory = d->util_mem;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetTotalEccErrors(
    void* h, unsigned int type, unsigned int counter, unsigned long long* v) {  // NOLINT
  CHECK_DEVICE(h);
  if (type != 1 || counter != 0) return kInvalidArgument;  // Uncorrected, volatile.
  *v = d->ecc;
  return kSuccess;
}

#ifndef CANDOR_FAKE_NVML_OLD_DRIVER
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetTemperatureV(void* h,
                                                                              TemperatureV1* t) {
  CHECK_DEVICE(h);
  if (t->version != (sizeof(TemperatureV1) | (1U << 24))) return kArgumentVersionMismatch;
  if (t->sensor != 0) return kNotSupported;
  t->temperature = d->temperature;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(void* h,
                                                                               MemoryV2* m) {
  CHECK_DEVICE(h);
  if (m->version != (sizeof(MemoryV2) | (2U << 24))) return kArgumentVersionMismatch;
  m->total = d->total;
  m->used = d->used;
  m->free = d->total - d->used;
  m->reserved = 0;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(
    void* h, unsigned long long* v) {  // NOLINT(runtime/int)
  CHECK_DEVICE(h);
  *v = d->reasons;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(
    void* h, unsigned int* v) {
  CHECK_DEVICE(h);
  *v = d->limit_mw;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlEventSetCreate(void** set) {
  if (!initialized) return kUninitialized;
  *set = &event_set_token;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceRegisterEvents(
    void* h, unsigned long long types, void* set) {  // NOLINT(runtime/int)
  CHECK_DEVICE(h);
  if (set != &event_set_token || (types & 0x8) == 0) return kInvalidArgument;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlEventSetWait_v2(void* set, EventData* e,
                                                                        unsigned int timeout_ms) {
  if (set != &event_set_token || timeout_ms != 0) return kInvalidArgument;
  if (events_left == 0) return kTimeout;
  --events_left;
  e->device = &devices[1];
  e->type = 0x8;
  e->data = 79;  // "GPU has fallen off the bus".
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlEventSetFree(void* set) {
  return set == &event_set_token ? kSuccess : kInvalidArgument;
}
#else
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetTemperature(void* h,
                                                                             unsigned int sensor,
                                                                             unsigned int* v) {
  CHECK_DEVICE(h);
  if (sensor != 0) return kNotSupported;
  *v = static_cast<unsigned int>(d->temperature);
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetMemoryInfo(void* h, Memory* m) {
  CHECK_DEVICE(h);
  m->total = d->total;
  m->used = d->used;
  m->free = d->total - d->used;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(
    void* h, unsigned long long* v) {  // NOLINT(runtime/int)
  CHECK_DEVICE(h);
  *v = d->reasons;
  return kSuccess;
}
__attribute__((visibility("default"))) nvmlReturn_t nvmlDeviceGetPowerManagementLimit(
    void* h, unsigned int* v) {
  CHECK_DEVICE(h);
  *v = d->limit_mw;
  return kSuccess;
}
#endif

}  // extern "C"
