// The CUPTI-free core of the injection library: activity buffers under a hard memory cap,
// decoding of completed buffers, aggregation, and drop accounting.
//
// CUPTI's two buffer callbacks map one to one onto this class: `bufferRequested` calls
// `RequestBuffer()` and `bufferCompleted` calls `CompleteBuffer()`. The CUPTI glue
// (cupti_runtime.cc) adds nothing but the calls into libcupti, so tests and benchmarks drive
// this class exactly as the driver would, with synthetic buffers and no GPU.
//
// Memory: activity buffers handed out and not yet returned never exceed `memory_cap_bytes`;
// past the cap `RequestBuffer` refuses (returns an empty buffer, counted) and CUPTI drops
// records, which it reports through cuptiActivityGetNumDroppedRecords (fed back through
// `AddDropped`). Aggregation state is bounded by AggregatorOptions.
//
// Thread safety: all methods are thread-safe. Decoding runs on the thread that calls
// `CompleteBuffer` (CUPTI's), under the pipeline's mutex; callers must not hold locks that
// CUPTI takes while calling in (call cuptiActivityFlushAll and
// cuptiActivityGetNumDroppedRecords without holding anything the callbacks need).

#ifndef CANDOR_CUDA_PROFILER_ACTIVITY_PIPELINE_H_
#define CANDOR_CUDA_PROFILER_ACTIVITY_PIPELINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "candor/v1/ingest.pb.h"
#include "common/clock.h"
#include "cuda-profiler/aggregator.h"
#include "cuda-profiler/cupti_decode.h"
#include "cuda-profiler/request_registry.h"

namespace candor::cuda_profiler {

struct PipelineOptions {
  // Size of each activity buffer handed to CUPTI, bytes, a multiple of 8. Range 64 KiB –
  // 64 MiB. Default: 4 MiB.
  size_t buffer_bytes = size_t{4} << 20;
  // Hard cap on activity-buffer memory outstanding (held by CUPTI or being decoded), bytes,
  // at least one buffer. Default: 64 MiB.
  size_t memory_cap_bytes = size_t{64} << 20;
  // Decoded buffers kept for reuse instead of freed (they count against the cap only while
  // handed out). Range 0–64. Default: 2.
  size_t spare_buffers = 2;
};

// InvalidArgumentError naming the first option outside its documented range.
absl::Status ValidatePipelineOptions(const PipelineOptions& options);

// Where dropped records were counted.
enum class DropSource : uint8_t {
  kCupti,  // CUPTI's own count: records it could not write (no buffer, device buffers full).
  kQueue,  // Summaries the shipping queue discarded, in records.
};

struct PipelineStats {
  uint64_t buffers_requested = 0;
  uint64_t buffers_refused = 0;  // Requests refused at the memory cap.
  uint64_t buffers_completed = 0;
  uint64_t foreign_buffers = 0;  // Completed buffers this pipeline never handed out (ignored).
  uint64_t bad_valid_size = 0;   // Completions whose valid size exceeded the buffer (clamped).
  uint64_t decode_errors = 0;    // Buffers whose walk stopped at an unreadable record.
  size_t outstanding_bytes = 0;
  size_t peak_outstanding_bytes = 0;
  uint64_t cupti_dropped = 0;
  uint64_t queue_dropped = 0;
  DecodeStats decode;
  AggregatorStats aggregate;
};

class ActivityPipeline {
 public:
  // An activity buffer: `data` is null when the request was refused.
  struct Buffer {
    uint8_t* data = nullptr;
    size_t size = 0;
  };

  // `clock` and `resolver` (may be null) must outlive the pipeline. The options must pass
  // their Validate functions.
  ActivityPipeline(Clock& clock, ProcessIdentity identity, AggregatorOptions aggregator_options,
                   PipelineOptions options, const ExternalIdResolver* resolver);
  ~ActivityPipeline();

  ActivityPipeline(const ActivityPipeline&) = delete;
  ActivityPipeline& operator=(const ActivityPipeline&) = delete;

  // An 8-byte-aligned buffer of `buffer_bytes`, owned by the pipeline and lent to the
  // caller until CompleteBuffer; or an empty Buffer (counted) when lending it would exceed
  // the memory cap.
  Buffer RequestBuffer();

  // Decodes `buffer[0, valid_bytes)` with `iterator`, aggregates it, and takes the buffer
  // back. A buffer the pipeline did not lend is counted and left alone; a valid size beyond
  // the buffer's is clamped and counted.
  void CompleteBuffer(uint8_t* buffer, size_t valid_bytes, RecordIterator& iterator);

  // Adds records lost outside the pipeline to the next summary.
  void AddDropped(uint64_t count, DropSource source);

  // Summaries of every interval that ended `allowed_lateness` before clock.Now().
  std::vector<candor::v1::KernelSummary> Close();
  // Summaries of every open interval (at shutdown).
  std::vector<candor::v1::KernelSummary> CloseAll();

  PipelineStats stats() const;

 private:
  Clock& clock_;
  const PipelineOptions options_;
  mutable absl::Mutex mu_;
  KernelAggregator aggregator_ ABSL_GUARDED_BY(mu_);
  ActivityDecoder decoder_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint8_t*, std::unique_ptr<uint8_t[]>> lent_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<uint8_t[]>> spares_ ABSL_GUARDED_BY(mu_);
  PipelineStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_ACTIVITY_PIPELINE_H_
