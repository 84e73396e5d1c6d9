#include "cuda-profiler/cupti_decode.h"

#include <cupti_activity.h>
#include <cupti_version.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace candor::cuda_profiler {
namespace {

// The structs every kind is read through. Changing one of these is the whole of a layout
// upgrade; the static_asserts pin the 13.0 sizes that the packed iterator relies on.
using KernelRecord = CUpti_ActivityKernel10;
using MemcpyRecord = CUpti_ActivityMemcpy6;
using MemcpyPeerRecord = CUpti_ActivityMemcpyPtoP4;
using MemsetRecord = CUpti_ActivityMemset4;
using MemoryRecord = CUpti_ActivityMemory4;
using SyncRecord = CUpti_ActivitySynchronization2;
using OverheadRecord = CUpti_ActivityOverhead3;
using DeviceRecord = CUpti_ActivityDevice5;
using ContextRecord = CUpti_ActivityContext3;
using ExternalCorrelationRecord = CUpti_ActivityExternalCorrelation;
using GraphTraceRecord = CUpti_ActivityGraphTrace2;
using ApiRecord = CUpti_ActivityAPI;
using MemoryPoolRecord = CUpti_ActivityMemoryPool3;

static_assert(sizeof(KernelRecord) == 216);
static_assert(sizeof(MemcpyRecord) == 96);
static_assert(sizeof(MemcpyPeerRecord) == 96);
static_assert(sizeof(MemsetRecord) == 88);
static_assert(sizeof(MemoryRecord) == 128);
static_assert(sizeof(SyncRecord) == 56);
static_assert(sizeof(OverheadRecord) == 56);
static_assert(sizeof(DeviceRecord) == 184);
static_assert(sizeof(ContextRecord) == 32);
static_assert(sizeof(ExternalCorrelationRecord) == 24);
static_assert(sizeof(GraphTraceRecord) == 56);
static_assert(sizeof(CUpti_ActivitySynchronizationType) == sizeof(uint32_t));
static_assert(sizeof(CUpti_ActivityOverheadKind) == sizeof(uint32_t));
static_assert(sizeof(CUpti_ActivityObjectKind) == sizeof(uint32_t));
static_assert(sizeof(CUpti_ActivityMemoryOperationType) == sizeof(uint32_t));
static_assert(sizeof(CUpti_ExternalCorrelationKind) == sizeof(uint32_t));

uint32_t ReadKind(const uint8_t* record) {
  uint32_t kind = 0;
  std::memcpy(&kind, record, sizeof(kind));
  return kind;
}

// Copies a record out of the buffer: buffers carry no alignment promise we rely on.
template <typename T>
T Load(const uint8_t* record) {
  T out;
  std::memcpy(static_cast<void*>(&out), record, sizeof(T));
  return out;
}

// The integer in the enum-typed field at `offset` of record `r`. Hostile or newer records can
// hold values outside the enum, and even naming such a field as the enum type is undefined,
// so its bytes are copied out by offset.
template <typename R>
uint32_t RawEnum(const R& r, size_t offset) {
  uint32_t v = 0;
  std::memcpy(&v, reinterpret_cast<const unsigned char*>(&r) + offset, sizeof(v));
  return v;
}

CopyDirection DirectionOf(uint8_t copy_kind) {
  switch (copy_kind) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD:
      return CopyDirection::kHostToDevice;
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH:
      return CopyDirection::kDeviceToHost;
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD:
      return CopyDirection::kDeviceToDevice;
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOH:
      return CopyDirection::kHostToHost;
    case CUPTI_ACTIVITY_MEMCPY_KIND_PTOP:
      return CopyDirection::kPeerToPeer;
    default:
      return CopyDirection::kOther;
  }
}

SyncType SyncTypeOf(uint32_t type) {
  switch (type) {
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE:
      return SyncType::kEventSync;
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT:
      return SyncType::kStreamWaitEvent;
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE:
      return SyncType::kStreamSync;
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE:
      return SyncType::kContextSync;
    default:
      return SyncType::kUnknown;
  }
}

OverheadKind OverheadKindOf(uint32_t kind) {
  switch (kind) {
    case CUPTI_ACTIVITY_OVERHEAD_UNKNOWN:
      return OverheadKind::kUnknown;
    case CUPTI_ACTIVITY_OVERHEAD_DRIVER_COMPILER:
      return OverheadKind::kDriverCompiler;
    case CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH:
      return OverheadKind::kBufferFlush;
    case CUPTI_ACTIVITY_OVERHEAD_CUPTI_INSTRUMENTATION:
      return OverheadKind::kInstrumentation;
    case CUPTI_ACTIVITY_OVERHEAD_CUPTI_RESOURCE:
      return OverheadKind::kResource;
    case CUPTI_ACTIVITY_OVERHEAD_RUNTIME_TRIGGERED_MODULE_LOADING:
      return OverheadKind::kModuleLoading;
    case CUPTI_ACTIVITY_OVERHEAD_LAZY_FUNCTION_LOADING:
      return OverheadKind::kLazyFunctionLoading;
    case CUPTI_ACTIVITY_OVERHEAD_COMMAND_BUFFER_FULL:
      return OverheadKind::kCommandBufferFull;
    case CUPTI_ACTIVITY_OVERHEAD_ACTIVITY_BUFFER_REQUEST:
      return OverheadKind::kBufferRequest;
    default:
      return OverheadKind::kOther;
  }
}

std::string FormatUuid(const CUuuid& uuid) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "GPU-";
  out.reserve(40);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    const auto byte = static_cast<uint8_t>(uuid.bytes[i]);
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

std::string_view BoundedName(const char* name, bool* cut) {
  if (name == nullptr) return {};
  const size_t n = strnlen(name, kMaxKernelNameBytes);
  *cut = n == kMaxKernelNameBytes;
  return std::string_view(name, n);
}

KernelActivity ToKernel(const KernelRecord& r, bool* cut) {
  KernelActivity a;
  a.start_ns = r.start;
  a.end_ns = r.end;
  a.device_id = r.deviceId;
  a.context_id = r.contextId;
  a.stream_id = r.streamId;
  a.correlation_id = r.correlationId;
  a.graph_id = r.graphId;
  a.device_launched = r.isDeviceLaunched != 0;
  a.name = BoundedName(r.name, cut);
  return a;
}

MemcpyActivity ToMemcpy(const MemcpyRecord& r) {
  MemcpyActivity a;
  a.start_ns = r.start;
  a.end_ns = r.end;
  a.bytes = r.bytes;
  a.device_id = r.deviceId;
  a.context_id = r.contextId;
  a.stream_id = r.streamId;
  a.correlation_id = r.correlationId;
  a.direction = DirectionOf(r.copyKind);
  return a;
}

MemcpyActivity ToMemcpyPeer(const MemcpyPeerRecord& r) {
  MemcpyActivity a;
  a.start_ns = r.start;
  a.end_ns = r.end;
  a.bytes = r.bytes;
  a.device_id = r.deviceId;
  a.context_id = r.contextId;
  a.stream_id = r.streamId;
  a.correlation_id = r.correlationId;
  a.direction = CopyDirection::kPeerToPeer;
  return a;
}

MemsetActivity ToMemset(const MemsetRecord& r) {
  MemsetActivity a;
  a.start_ns = r.start;
  a.end_ns = r.end;
  a.bytes = r.bytes;
  a.device_id = r.deviceId;
  a.correlation_id = r.correlationId;
  return a;
}

bool IsAllocOrRelease(const MemoryRecord& r) {
  const uint32_t op = RawEnum(r, offsetof(MemoryRecord, memoryOperationType));
  return op == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION ||
         op == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE;
}

MemoryActivity ToMemory(const MemoryRecord& r) {
  MemoryActivity a;
  a.timestamp_ns = r.timestamp;
  a.bytes = r.bytes;
  a.address = r.address;
  a.device_id = r.deviceId;
  a.correlation_id = r.correlationId;
  a.allocation = RawEnum(r, offsetof(MemoryRecord, memoryOperationType)) ==
                 CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION;
  return a;
}

SyncActivity ToSync(const SyncRecord& r) {
  SyncActivity a;
  a.start_ns = r.start;
  a.end_ns = r.end;
  a.context_id = r.contextId;
  a.stream_id = r.streamId;
  a.correlation_id = r.correlationId;
  a.type = SyncTypeOf(RawEnum(r, offsetof(SyncRecord, type)));
  return a;
}

OverheadActivity ToOverhead(const OverheadRecord& r) {
  OverheadActivity a;
  a.start_ns = r.start;
  a.end_ns = r.end;
  a.kind = OverheadKindOf(RawEnum(r, offsetof(OverheadRecord, overheadKind)));
  const uint32_t object = RawEnum(r, offsetof(OverheadRecord, objectKind));
  if (object == CUPTI_ACTIVITY_OBJECT_DEVICE || object == CUPTI_ACTIVITY_OBJECT_CONTEXT ||
      object == CUPTI_ACTIVITY_OBJECT_STREAM) {
    a.has_device = true;
    a.device_id = r.objectId.dcs.deviceId;
  }
  return a;
}

DeviceActivity ToDevice(const DeviceRecord& r) {
  DeviceActivity a;
  a.device_id = r.id;
  a.uuid = FormatUuid(r.uuid);
  bool cut = false;
  a.name = BoundedName(r.name, &cut);
  a.compute_capability_major = r.computeCapabilityMajor;
  a.compute_capability_minor = r.computeCapabilityMinor;
  a.num_multiprocessors = r.numMultiprocessors;
  a.global_memory_bytes = r.globalMemorySize;
  a.mig_enabled = r.isMigEnabled != 0;
  return a;
}

}  // namespace

uint32_t CompiledCuptiApiVersion() { return CUPTI_API_VERSION; }

absl::Status CheckCuptiVersion(uint32_t runtime_version, uint32_t compiled_version) {
  // From 13.0 the version reads xxyyzz (major, minor, CUPTI patch); earlier ones were small
  // integers (v28 = 12.9 update 1) whose record layouts predate the 13.0 structs.
  constexpr uint32_t kFirstNewNumbering = 130000;
  if (runtime_version < kFirstNewNumbering) {
    return absl::FailedPreconditionError(
        absl::StrCat("runtime CUPTI API version ", runtime_version,
                     " predates CUDA 13.0; this library reads ", compiled_version,
                     " record layouts. Build candor's CUPTI library against the CUDA toolkit "
                     "the server uses."));
  }
  if (runtime_version / 100 < compiled_version / 100) {
    return absl::FailedPreconditionError(
        absl::StrCat("runtime CUPTI API version ", runtime_version,
                     " is older than the headers this library was built with (", compiled_version,
                     "): its records may be shorter than the structs read"));
  }
  return absl::OkStatus();
}

PackedRecordIterator::PackedRecordIterator(
    std::vector<std::pair<uint32_t, size_t>> size_overrides) {
  auto set = [this](uint32_t kind, size_t size) {
    if (kind < kMaxKinds) sizes_[kind] = size;
  };
  set(CUPTI_ACTIVITY_KIND_KERNEL, sizeof(KernelRecord));
  set(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, sizeof(KernelRecord));
  set(CUPTI_ACTIVITY_KIND_MEMCPY, sizeof(MemcpyRecord));
  set(CUPTI_ACTIVITY_KIND_MEMCPY2, sizeof(MemcpyPeerRecord));
  set(CUPTI_ACTIVITY_KIND_MEMSET, sizeof(MemsetRecord));
  set(CUPTI_ACTIVITY_KIND_MEMORY2, sizeof(MemoryRecord));
  set(CUPTI_ACTIVITY_KIND_MEMORY_POOL, sizeof(MemoryPoolRecord));
  set(CUPTI_ACTIVITY_KIND_SYNCHRONIZATION, sizeof(SyncRecord));
  set(CUPTI_ACTIVITY_KIND_OVERHEAD, sizeof(OverheadRecord));
  set(CUPTI_ACTIVITY_KIND_DEVICE, sizeof(DeviceRecord));
  set(CUPTI_ACTIVITY_KIND_CONTEXT, sizeof(ContextRecord));
  set(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION, sizeof(ExternalCorrelationRecord));
  set(CUPTI_ACTIVITY_KIND_GRAPH_TRACE, sizeof(GraphTraceRecord));
  set(CUPTI_ACTIVITY_KIND_RUNTIME, sizeof(ApiRecord));
  set(CUPTI_ACTIVITY_KIND_DRIVER, sizeof(ApiRecord));
  set(CUPTI_ACTIVITY_KIND_INTERNAL_LAUNCH_API, sizeof(ApiRecord));
  for (const auto& [kind, size] : size_overrides) {
    if (size >= 8) set(kind, size);
  }
}

size_t PackedRecordIterator::RecordSize(uint32_t kind) const {
  return kind < kMaxKinds ? sizes_[kind] : 0;
}

NextRecord PackedRecordIterator::Next(uint8_t* buffer, size_t valid_bytes, uint8_t** record) {
  size_t offset = 0;
  if (*record != nullptr) {
    const auto current = static_cast<size_t>(*record - buffer);
    offset = current + RecordSize(ReadKind(*record));
  }
  if (offset >= valid_bytes || valid_bytes - offset < sizeof(uint32_t)) return NextRecord::kEnd;
  const size_t size = RecordSize(ReadKind(buffer + offset));
  if (size == 0) return NextRecord::kInvalid;
  // CUPTI reports a trailing partial record as the end of the buffer, not as an error.
  if (valid_bytes - offset < size) return NextRecord::kEnd;
  *record = buffer + offset;
  return NextRecord::kRecord;
}

absl::Status ActivityDecoder::DecodeBuffer(uint8_t* buffer, size_t valid_bytes,
                                           RecordIterator& iterator, ActivitySink& sink) {
  ++stats_.buffers;
  if (buffer == nullptr || valid_bytes == 0) return absl::OkStatus();
  uint8_t* record = nullptr;
  while (true) {
    const NextRecord step = iterator.Next(buffer, valid_bytes, &record);
    if (step == NextRecord::kEnd) return absl::OkStatus();
    if (step == NextRecord::kInvalid) {
      ++stats_.invalid;
      const size_t at = record == nullptr ? 0 : static_cast<size_t>(record - buffer);
      return absl::DataLossError(absl::StrCat("activity buffer of ", valid_bytes,
                                              " valid bytes: unreadable record after offset ", at));
    }
    if (record < buffer || record >= buffer + valid_bytes) {
      ++stats_.invalid;
      return absl::DataLossError("record iterator left the activity buffer");
    }
    DecodeRecord(record, valid_bytes - static_cast<size_t>(record - buffer), sink);
  }
}

bool ActivityDecoder::DecodeRecord(const uint8_t* record, size_t available, ActivitySink& sink) {
  if (available < sizeof(uint32_t)) {
    ++stats_.short_record;
    return false;
  }
  // Reads the record through struct R (never past `available`), converts and delivers it.
  auto decode = [&]<typename R>(RecordKind kind, auto deliver) {
    if (available < sizeof(R)) {
      ++stats_.short_record;
      return false;
    }
    deliver(Load<R>(record));
    ++stats_.records;
    ++stats_.by_kind[static_cast<size_t>(kind)];
    return true;
  };
  auto skip = [&] {
    ++stats_.skipped;
    ++stats_.by_kind[static_cast<size_t>(RecordKind::kOther)];
    return true;
  };
  switch (ReadKind(record)) {
    case CUPTI_ACTIVITY_KIND_KERNEL:
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
      return decode.operator()<KernelRecord>(RecordKind::kKernel, [&](const KernelRecord& r) {
        bool cut = false;
        sink.OnKernel(ToKernel(r, &cut));
        if (cut) ++stats_.unterminated_names;
      });
    case CUPTI_ACTIVITY_KIND_MEMCPY:
      return decode.operator()<MemcpyRecord>(
          RecordKind::kMemcpy, [&](const MemcpyRecord& r) { sink.OnMemcpy(ToMemcpy(r)); });
    case CUPTI_ACTIVITY_KIND_MEMCPY2:
      return decode.operator()<MemcpyPeerRecord>(
          RecordKind::kMemcpyPeer,
          [&](const MemcpyPeerRecord& r) { sink.OnMemcpy(ToMemcpyPeer(r)); });
    case CUPTI_ACTIVITY_KIND_MEMSET:
      return decode.operator()<MemsetRecord>(
          RecordKind::kMemset, [&](const MemsetRecord& r) { sink.OnMemset(ToMemset(r)); });
    case CUPTI_ACTIVITY_KIND_MEMORY2: {
      if (available >= sizeof(MemoryRecord) && !IsAllocOrRelease(Load<MemoryRecord>(record))) {
        return skip();
      }
      return decode.operator()<MemoryRecord>(
          RecordKind::kMemory, [&](const MemoryRecord& r) { sink.OnMemory(ToMemory(r)); });
    }
    case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION:
      return decode.operator()<SyncRecord>(RecordKind::kSync,
                                           [&](const SyncRecord& r) { sink.OnSync(ToSync(r)); });
    case CUPTI_ACTIVITY_KIND_OVERHEAD:
      return decode.operator()<OverheadRecord>(
          RecordKind::kOverhead, [&](const OverheadRecord& r) { sink.OnOverhead(ToOverhead(r)); });
    case CUPTI_ACTIVITY_KIND_DEVICE:
      return decode.operator()<DeviceRecord>(
          RecordKind::kDevice, [&](const DeviceRecord& r) { sink.OnDevice(ToDevice(r)); });
    case CUPTI_ACTIVITY_KIND_CONTEXT:
      return decode.operator()<ContextRecord>(RecordKind::kContext, [&](const ContextRecord& r) {
        sink.OnContext(ContextActivity{.context_id = r.contextId, .device_id = r.deviceId});
      });
    case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION:
      return decode.operator()<ExternalCorrelationRecord>(
          RecordKind::kExternalCorrelation, [&](const ExternalCorrelationRecord& r) {
            sink.OnExternalCorrelation(ExternalCorrelationActivity{
                .external_id = r.externalId,
                .correlation_id = r.correlationId,
                .external_kind = RawEnum(r, offsetof(ExternalCorrelationRecord, externalKind))});
          });
    case CUPTI_ACTIVITY_KIND_GRAPH_TRACE:
      return decode.operator()<GraphTraceRecord>(
          RecordKind::kGraphTrace, [&](const GraphTraceRecord& r) {
            sink.OnGraphLaunch(GraphLaunchActivity{.start_ns = r.start,
                                                   .end_ns = r.end,
                                                   .device_id = r.deviceId,
                                                   .graph_id = r.graphId,
                                                   .correlation_id = r.correlationId});
          });
    default:
      return skip();
  }
}

}  // namespace candor::cuda_profiler
