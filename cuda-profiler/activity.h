// Decoded CUDA activity: the CUPTI-free model that the rest of cuda-profiler works on.
//
// The decoder (cupti_decode.h) is the only code that knows CUPTI record layouts; it turns each
// activity record into one of the plain structs below and hands it to an `ActivitySink`.
// Aggregation, tests and benchmarks consume these structs and never include a CUPTI header.
// Timestamps are nanoseconds on CUPTI's clock (CLOCK_REALTIME on Linux, i.e. Unix time).
//
// Thread safety: plain values. String views inside a record point into the activity buffer or
// into CUPTI-owned memory and are valid only during the sink call that receives them: a sink
// that keeps a name must copy it.

#ifndef CANDOR_CUDA_PROFILER_ACTIVITY_H_
#define CANDOR_CUDA_PROFILER_ACTIVITY_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace candor::cuda_profiler {

// Direction of a memory copy (mirrors candor.v1.MemcpyKind without the proto dependency).
enum class CopyDirection : uint8_t {
  kHostToDevice,
  kDeviceToHost,
  kDeviceToDevice,
  kHostToHost,
  kPeerToPeer,
  kOther,  // Array copies and kinds CUPTI adds later.
};
inline constexpr int kNumCopyDirections = 6;

struct KernelActivity {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t device_id = 0;
  uint32_t context_id = 0;
  uint32_t stream_id = 0;
  uint32_t correlation_id = 0;
  uint32_t graph_id = 0;  // 0 when not launched from a CUDA graph.
  bool device_launched = false;
  std::string_view name = {};  // Possibly mangled; empty when CUPTI gave none.
};

struct MemcpyActivity {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t bytes = 0;
  uint32_t device_id = 0;
  uint32_t context_id = 0;
  uint32_t stream_id = 0;
  uint32_t correlation_id = 0;
  CopyDirection direction = CopyDirection::kOther;
};

struct MemsetActivity {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t bytes = 0;
  uint32_t device_id = 0;
  uint32_t correlation_id = 0;
};

// A device memory allocation or release (CUPTI MEMORY2).
struct MemoryActivity {
  uint64_t timestamp_ns = 0;
  uint64_t bytes = 0;
  uint64_t address = 0;
  uint32_t device_id = 0;
  uint32_t correlation_id = 0;
  bool allocation = true;  // false: release.
};

enum class SyncType : uint8_t { kUnknown, kEventSync, kStreamWaitEvent, kStreamSync, kContextSync };

struct SyncActivity {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t context_id = 0;  // Synchronisation records name a context, not a device.
  uint32_t stream_id = 0;
  uint32_t correlation_id = 0;
  SyncType type = SyncType::kUnknown;
};

enum class OverheadKind : uint8_t {
  kUnknown,
  kDriverCompiler,
  kBufferFlush,
  kInstrumentation,
  kResource,
  kModuleLoading,
  kLazyFunctionLoading,
  kCommandBufferFull,
  kBufferRequest,
  kOther,
};

struct OverheadActivity {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  OverheadKind kind = OverheadKind::kUnknown;
  bool has_device = false;  // The record names a device (object kind device/context/stream).
  uint32_t device_id = 0;
};

struct DeviceActivity {
  uint32_t device_id = 0;
  std::string uuid = {};  // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", the NVML/DCGM form.
  std::string_view name = {};
  uint32_t compute_capability_major = 0;
  uint32_t compute_capability_minor = 0;
  uint32_t num_multiprocessors = 0;
  uint64_t global_memory_bytes = 0;
  bool mig_enabled = false;
};

struct ContextActivity {
  uint32_t context_id = 0;
  uint32_t device_id = 0;
};

// Links a GPU activity's correlation id to an id the application pushed.
struct ExternalCorrelationActivity {
  uint64_t external_id = 0;
  uint32_t correlation_id = 0;
  uint32_t external_kind = 0;  // CUPTI_EXTERNAL_CORRELATION_KIND_* value.
};

// One CUDA graph launch (CUPTI GRAPH_TRACE).
struct GraphLaunchActivity {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t device_id = 0;
  uint32_t graph_id = 0;
  uint32_t correlation_id = 0;
};

// Receives decoded records. Every method is called on the decoding thread, one record at a
// time, in buffer order.
class ActivitySink {
 public:
  virtual ~ActivitySink() = default;
  virtual void OnKernel(const KernelActivity& a) = 0;
  virtual void OnMemcpy(const MemcpyActivity& a) = 0;
  virtual void OnMemset(const MemsetActivity& a) = 0;
  virtual void OnMemory(const MemoryActivity& a) = 0;
  virtual void OnSync(const SyncActivity& a) = 0;
  virtual void OnOverhead(const OverheadActivity& a) = 0;
  virtual void OnDevice(const DeviceActivity& a) = 0;
  virtual void OnContext(const ContextActivity& a) = 0;
  virtual void OnExternalCorrelation(const ExternalCorrelationActivity& a) = 0;
  virtual void OnGraphLaunch(const GraphLaunchActivity& a) = 0;
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_ACTIVITY_H_
