#include "cuda-profiler/testing/synthetic_records.h"

#include <cupti_activity.h>

#include <cstring>

namespace candor::cuda_profiler::testing {

template <typename T>
void SyntheticActivityBuffer::Append(const T& record) {
  const size_t at = bytes_.size();
  bytes_.resize(at + sizeof(T));
  std::memcpy(bytes_.data() + at, static_cast<const void*>(&record), sizeof(T));
}

const char* SyntheticActivityBuffer::Intern(std::string_view name) {
  for (const auto& n : names_) {
    if (n == name) return n.c_str();
  }
  names_.emplace_back(name);
  return names_.back().c_str();
}

void SyntheticActivityBuffer::Kernel(uint64_t start_ns, uint64_t end_ns, uint32_t device_id,
                                     uint32_t correlation_id, std::string_view name,
                                     uint32_t stream_id, uint32_t graph_id, uint32_t context_id) {
  CUpti_ActivityKernel10 r{};
  r.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
  r.start = start_ns;
  r.end = end_ns;
  r.completed = end_ns;
  r.deviceId = device_id;
  r.contextId = context_id;
  r.streamId = stream_id;
  r.correlationId = correlation_id;
  r.graphId = graph_id;
  r.gridX = 128;
  r.blockX = 256;
  r.name = Intern(name);
  Append(r);
}

void SyntheticActivityBuffer::Memcpy(uint64_t start_ns, uint64_t end_ns, uint64_t bytes,
                                     uint32_t device_id, uint32_t correlation_id,
                                     uint8_t copy_kind) {
  CUpti_ActivityMemcpy6 r{};
  r.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
  r.copyKind = copy_kind;
  r.bytes = bytes;
  r.start = start_ns;
  r.end = end_ns;
  r.deviceId = device_id;
  r.contextId = 1;
  r.streamId = 7;
  r.correlationId = correlation_id;
  Append(r);
}

void SyntheticActivityBuffer::MemcpyPeer(uint64_t start_ns, uint64_t end_ns, uint64_t bytes,
                                         uint32_t device_id, uint32_t correlation_id) {
  CUpti_ActivityMemcpyPtoP4 r{};
  r.kind = CUPTI_ACTIVITY_KIND_MEMCPY2;
  r.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_PTOP;
  r.bytes = bytes;
  r.start = start_ns;
  r.end = end_ns;
  r.deviceId = device_id;
  r.srcDeviceId = device_id;
  r.dstDeviceId = device_id + 1;
  r.correlationId = correlation_id;
  Append(r);
}

void SyntheticActivityBuffer::Memset(uint64_t start_ns, uint64_t end_ns, uint64_t bytes,
                                     uint32_t device_id, uint32_t correlation_id) {
  CUpti_ActivityMemset4 r{};
  r.kind = CUPTI_ACTIVITY_KIND_MEMSET;
  r.bytes = bytes;
  r.start = start_ns;
  r.end = end_ns;
  r.deviceId = device_id;
  r.correlationId = correlation_id;
  Append(r);
}

void SyntheticActivityBuffer::Memory(uint64_t timestamp_ns, uint64_t bytes, uint32_t device_id,
                                     bool allocation) {
  CUpti_ActivityMemory4 r{};
  r.kind = CUPTI_ACTIVITY_KIND_MEMORY2;
  r.memoryOperationType = allocation ? CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION
                                     : CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE;
  r.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
  r.address = 0x7f0000000000;
  r.bytes = bytes;
  r.timestamp = timestamp_ns;
  r.deviceId = device_id;
  Append(r);
}

void SyntheticActivityBuffer::Sync(uint64_t start_ns, uint64_t end_ns, uint32_t context_id,
                                   uint32_t type) {
  CUpti_ActivitySynchronization2 r{};
  r.kind = CUPTI_ACTIVITY_KIND_SYNCHRONIZATION;
  r.type = static_cast<CUpti_ActivitySynchronizationType>(type);
  r.start = start_ns;
  r.end = end_ns;
  r.contextId = context_id;
  Append(r);
}

void SyntheticActivityBuffer::Overhead(uint64_t start_ns, uint64_t end_ns, uint32_t overhead_kind,
                                       uint32_t object_kind, uint32_t device_id) {
  CUpti_ActivityOverhead3 r{};
  r.kind = CUPTI_ACTIVITY_KIND_OVERHEAD;
  r.overheadKind = static_cast<CUpti_ActivityOverheadKind>(overhead_kind);
  r.objectKind = static_cast<CUpti_ActivityObjectKind>(object_kind);
  if (object_kind == CUPTI_ACTIVITY_OBJECT_PROCESS || object_kind == CUPTI_ACTIVITY_OBJECT_THREAD) {
    r.objectId.pt.processId = 4242;
  } else {
    r.objectId.dcs.deviceId = device_id;
  }
  r.start = start_ns;
  r.end = end_ns;
  Append(r);
}

void SyntheticActivityBuffer::Device(uint32_t device_id, const std::array<uint8_t, 16>& uuid,
                                     std::string_view name) {
  CUpti_ActivityDevice5 r{};
  r.kind = CUPTI_ACTIVITY_KIND_DEVICE;
  r.id = device_id;
  std::memcpy(r.uuid.bytes, uuid.data(), uuid.size());
  r.name = Intern(name);
  r.computeCapabilityMajor = 9;
  r.computeCapabilityMinor = 0;
  r.numMultiprocessors = 132;
  r.globalMemorySize = uint64_t{80} << 30;
  Append(r);
}

void SyntheticActivityBuffer::Context(uint32_t context_id, uint32_t device_id) {
  CUpti_ActivityContext3 r{};
  r.kind = CUPTI_ACTIVITY_KIND_CONTEXT;
  r.contextId = context_id;
  r.deviceId = device_id;
  Append(r);
}

void SyntheticActivityBuffer::ExternalCorrelation(uint64_t external_id, uint32_t correlation_id) {
  CUpti_ActivityExternalCorrelation r{};
  r.kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION;
  r.externalKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0;
  r.externalId = external_id;
  r.correlationId = correlation_id;
  Append(r);
}

void SyntheticActivityBuffer::GraphTrace(uint64_t start_ns, uint64_t end_ns, uint32_t device_id,
                                         uint32_t graph_id, uint32_t correlation_id) {
  CUpti_ActivityGraphTrace2 r{};
  r.kind = CUPTI_ACTIVITY_KIND_GRAPH_TRACE;
  r.start = start_ns;
  r.end = end_ns;
  r.deviceId = device_id;
  r.graphId = graph_id;
  r.correlationId = correlation_id;
  Append(r);
}

void SyntheticActivityBuffer::RuntimeApi(uint64_t start_ns, uint64_t end_ns,
                                         uint32_t correlation_id) {
  CUpti_ActivityAPI r{};
  r.kind = CUPTI_ACTIVITY_KIND_RUNTIME;
  r.start = start_ns;
  r.end = end_ns;
  r.correlationId = correlation_id;
  Append(r);
}

void SyntheticActivityBuffer::Raw(const std::vector<uint8_t>& bytes) {
  bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
}

void SyntheticActivityBuffer::Trailing(size_t n) { bytes_.insert(bytes_.end(), n, 0xab); }

size_t SyntheticActivityBuffer::CopyTo(uint8_t* dst, size_t capacity) const {
  if (bytes_.size() > capacity) return 0;
  std::memcpy(dst, bytes_.data(), bytes_.size());
  return bytes_.size();
}

void SyntheticActivityBuffer::Clear() { bytes_.clear(); }

}  // namespace candor::cuda_profiler::testing
