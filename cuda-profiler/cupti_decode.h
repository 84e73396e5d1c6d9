// Decoding of CUPTI activity buffers into the plain records of activity.h.
//
// This is the only code in candor that knows CUPTI record layouts. It reads each record
// through the struct of the CUPTI headers it was built with (13.0: Kernel10, Memcpy6,
// MemcpyPtoP4, Memset4, Memory4, Synchronization2, Overhead3, Device5, Context3,
// ExternalCorrelation, GraphTrace2). CUPTI writes the newest layout it knows and newer layouts
// only append fields, so reading through these structs is safe whenever the runtime CUPTI is
// at least as new as the headers; `CheckCuptiVersion` decides that at start-up.
//
// Walking a buffer is separated from decoding a record: a `RecordIterator` finds record
// boundaries. In production that is `cuptiActivityGetNextRecord` (cupti_runtime.h); here
// `PackedRecordIterator` walks the layout CUPTI 13.0 writes (records back to back at their
// struct sizes), which tests and benchmarks use on synthetic buffers without libcupti.
//
// Every buffer is treated as hostile: no record is read past `valid_bytes`, records are
// copied out before use (no unaligned access), unknown kinds and truncated records stop the
// walk and are counted. Kernel-name pointers inside records are CUPTI's and are trusted;
// names are read with a length bound.
//
// Thread safety: `ActivityDecoder` is not thread-safe; use one per decoding thread or guard
// it. `PackedRecordIterator` is immutable after construction and safe to share.

#ifndef CANDOR_CUDA_PROFILER_CUPTI_DECODE_H_
#define CANDOR_CUDA_PROFILER_CUPTI_DECODE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "cuda-profiler/activity.h"

namespace candor::cuda_profiler {

// The CUPTI_API_VERSION of the headers this library was compiled with (13.0 update 1:
// 130001).
uint32_t CompiledCuptiApiVersion();

// Whether records written by a runtime libcupti reporting `runtime_version`
// (cuptiGetVersion) can be read through structs compiled at `compiled_version`.
// Returns OK when the runtime is the same CUDA major.minor or newer (newer layouts only
// append fields); FailedPreconditionError naming both versions when the runtime is older
// (its records may be shorter than our structs) or uses the pre-13.0 numbering (≤ 12.9).
absl::Status CheckCuptiVersion(uint32_t runtime_version, uint32_t compiled_version);

// Maximum bytes read from a kernel name.
inline constexpr size_t kMaxKernelNameBytes = 4096;

enum class NextRecord : uint8_t {
  kRecord,   // `*record` points at the next complete record.
  kEnd,      // No further complete record in the valid bytes.
  kInvalid,  // An unknown or incomplete record: the rest of the buffer is unreadable.
};

// Finds record boundaries in an activity buffer.
class RecordIterator {
 public:
  virtual ~RecordIterator() = default;
  // Advances `*record` (nullptr: before the first record) to the next record in
  // `buffer[0, valid_bytes)`.
  virtual NextRecord Next(uint8_t* buffer, size_t valid_bytes, uint8_t** record) = 0;
};

// Walks buffers in the CUPTI 13.0 layout: each record starts with its 32-bit kind and takes
// the size of its 13.0 struct. Kinds without a known size end the walk with kInvalid.
class PackedRecordIterator final : public RecordIterator {
 public:
  // `size_overrides`: (kind, record size in bytes) pairs replacing the 13.0 sizes, e.g. to
  // walk buffers written with a newer, longer layout. Sizes below 8 bytes are ignored.
  explicit PackedRecordIterator(std::vector<std::pair<uint32_t, size_t>> size_overrides = {});

  NextRecord Next(uint8_t* buffer, size_t valid_bytes, uint8_t** record) override;

  // Size of a record of CUPTI kind `kind`, 0 if unknown.
  size_t RecordSize(uint32_t kind) const;

 private:
  static constexpr size_t kMaxKinds = 64;
  std::array<size_t, kMaxKinds> sizes_{};
};

// Record kinds counted separately in DecodeStats.
enum class RecordKind : uint8_t {
  kKernel,
  kMemcpy,
  kMemcpyPeer,
  kMemset,
  kMemory,
  kSync,
  kOverhead,
  kDevice,
  kContext,
  kExternalCorrelation,
  kGraphTrace,
  kOther,  // Known to CUPTI but not decoded (runtime/driver API, memory pool, …).
};
inline constexpr int kNumRecordKinds = 12;

struct DecodeStats {
  uint64_t buffers = 0;
  uint64_t records = 0;  // Records decoded and delivered to the sink.
  std::array<uint64_t, kNumRecordKinds> by_kind{};
  uint64_t skipped = 0;             // Records of kinds that are not decoded (kOther).
  uint64_t invalid = 0;             // Walks stopped at an unknown or incomplete record.
  uint64_t short_record = 0;        // Records shorter than the struct they must be read through.
  uint64_t unterminated_names = 0;  // Kernel names cut at kMaxKernelNameBytes.
};

// Decodes buffers record by record into an ActivitySink.
class ActivityDecoder {
 public:
  ActivityDecoder() = default;

  // Walks `buffer[0, valid_bytes)` with `iterator` and delivers every decodable record to
  // `sink`, in order. Returns OK when the walk reached the end; DataLossError (with the byte
  // offset) when it stopped early at an invalid record. Either way every record before the
  // stop was delivered and counted. `buffer` stays owned by the caller.
  absl::Status DecodeBuffer(uint8_t* buffer, size_t valid_bytes, RecordIterator& iterator,
                            ActivitySink& sink);

  // Decodes one record of `available` readable bytes. Returns false (counted) when the
  // record is shorter than the struct its kind is read through.
  bool DecodeRecord(const uint8_t* record, size_t available, ActivitySink& sink);

  const DecodeStats& stats() const { return stats_; }

 private:
  DecodeStats stats_;
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_CUPTI_DECODE_H_
