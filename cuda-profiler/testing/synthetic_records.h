// Activity buffers built in memory, laid out exactly as CUPTI 13.0 writes them (records back
// to back at their struct sizes), for tests and benchmarks that have no GPU.
//
// Kind, copy-kind, overhead-kind and synchronisation-type arguments take CUPTI's raw enum
// values, so a test states the input CUPTI would produce and checks the decoded result.
//
// Thread safety: not thread-safe. Kernel-name pointers inside the records point into the
// builder, which must outlive every decode of its bytes.

#ifndef CANDOR_CUDA_PROFILER_TESTING_SYNTHETIC_RECORDS_H_
#define CANDOR_CUDA_PROFILER_TESTING_SYNTHETIC_RECORDS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace candor::cuda_profiler::testing {

class SyntheticActivityBuffer {
 public:
  // CONCURRENT_KERNEL record (Kernel10).
  void Kernel(uint64_t start_ns, uint64_t end_ns, uint32_t device_id, uint32_t correlation_id,
              std::string_view name, uint32_t stream_id = 7, uint32_t graph_id = 0,
              uint32_t context_id = 1);
  // MEMCPY record (Memcpy6); `copy_kind` is a CUPTI_ACTIVITY_MEMCPY_KIND_* value.
  void Memcpy(uint64_t start_ns, uint64_t end_ns, uint64_t bytes, uint32_t device_id,
              uint32_t correlation_id, uint8_t copy_kind);
  // MEMCPY2 record (peer to peer, MemcpyPtoP4).
  void MemcpyPeer(uint64_t start_ns, uint64_t end_ns, uint64_t bytes, uint32_t device_id,
                  uint32_t correlation_id);
  // MEMSET record (Memset4).
  void Memset(uint64_t start_ns, uint64_t end_ns, uint64_t bytes, uint32_t device_id,
              uint32_t correlation_id);
  // MEMORY2 record (Memory4): an allocation, or a release when `allocation` is false.
  void Memory(uint64_t timestamp_ns, uint64_t bytes, uint32_t device_id, bool allocation);
  // SYNCHRONIZATION record (Synchronization2); `type` is CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_*.
  void Sync(uint64_t start_ns, uint64_t end_ns, uint32_t context_id, uint32_t type);
  // OVERHEAD record (Overhead3); `overhead_kind` is CUPTI_ACTIVITY_OVERHEAD_*, `object_kind`
  // CUPTI_ACTIVITY_OBJECT_*.
  void Overhead(uint64_t start_ns, uint64_t end_ns, uint32_t overhead_kind, uint32_t object_kind,
                uint32_t device_id);
  // DEVICE record (Device5).
  void Device(uint32_t device_id, const std::array<uint8_t, 16>& uuid, std::string_view name);
  // CONTEXT record (Context3).
  void Context(uint32_t context_id, uint32_t device_id);
  // EXTERNAL_CORRELATION record, kind CUSTOM0.
  void ExternalCorrelation(uint64_t external_id, uint32_t correlation_id);
  // GRAPH_TRACE record (GraphTrace2).
  void GraphTrace(uint64_t start_ns, uint64_t end_ns, uint32_t device_id, uint32_t graph_id,
                  uint32_t correlation_id);
  // RUNTIME API record (CUpti_ActivityAPI): a kind that is walked but not decoded.
  void RuntimeApi(uint64_t start_ns, uint64_t end_ns, uint32_t correlation_id);
  // Arbitrary bytes (hostile input).
  void Raw(const std::vector<uint8_t>& bytes);
  // `n` bytes of 0xab after the last record, as a newer CUPTI's longer layout would have.
  void Trailing(size_t n);

  uint8_t* data() { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  // The bytes, for copying into a buffer lent by ActivityPipeline.
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  // Copies the bytes into `dst` of `capacity` bytes; returns the bytes copied (all of them,
  // or 0 if they do not fit).
  size_t CopyTo(uint8_t* dst, size_t capacity) const;
  void Clear();

 private:
  template <typename T>
  void Append(const T& record);
  const char* Intern(std::string_view name);

  std::vector<uint8_t> bytes_;
  std::deque<std::string> names_;
};

}  // namespace candor::cuda_profiler::testing

#endif  // CANDOR_CUDA_PROFILER_TESTING_SYNTHETIC_RECORDS_H_
