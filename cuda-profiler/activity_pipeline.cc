#include "cuda-profiler/activity_pipeline.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace candor::cuda_profiler {

absl::Status ValidatePipelineOptions(const PipelineOptions& o) {
  if (o.buffer_bytes < (size_t{64} << 10) || o.buffer_bytes > (size_t{64} << 20) ||
      o.buffer_bytes % 8 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("pipeline option buffer_bytes=", o.buffer_bytes,
                                                   " must be a multiple of 8 within 64KiB..64MiB"));
  }
  if (o.memory_cap_bytes < o.buffer_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("pipeline option memory_cap_bytes=", o.memory_cap_bytes,
                     " must hold at least one buffer of ", o.buffer_bytes, " bytes"));
  }
  if (o.spare_buffers > 64) {
    return absl::InvalidArgumentError("pipeline option spare_buffers must be within 0..64");
  }
  return absl::OkStatus();
}

ActivityPipeline::ActivityPipeline(Clock& clock, ProcessIdentity identity,
                                   AggregatorOptions aggregator_options, PipelineOptions options,
                                   const ExternalIdResolver* resolver)
    : clock_(clock),
      options_(options),
      aggregator_(std::move(identity), aggregator_options, resolver) {}

ActivityPipeline::~ActivityPipeline() = default;

ActivityPipeline::Buffer ActivityPipeline::RequestBuffer() {
  absl::MutexLock lock(&mu_);
  ++stats_.buffers_requested;
  if (stats_.outstanding_bytes + options_.buffer_bytes > options_.memory_cap_bytes) {
    ++stats_.buffers_refused;
    return {};
  }
  std::unique_ptr<uint8_t[]> owned;
  if (!spares_.empty()) {
    owned = std::move(spares_.back());
    spares_.pop_back();
  } else {
    // operator new[] aligns to at least 16 bytes, above CUPTI's 8-byte requirement. The
    // memory is not cleared: only the valid bytes CUPTI reports are ever read.
    owned.reset(new uint8_t[options_.buffer_bytes]);
  }
  uint8_t* data = owned.get();
  lent_.emplace(data, std::move(owned));
  stats_.outstanding_bytes += options_.buffer_bytes;
  stats_.peak_outstanding_bytes = std::max(stats_.peak_outstanding_bytes, stats_.outstanding_bytes);
  return {data, options_.buffer_bytes};
}

void ActivityPipeline::CompleteBuffer(uint8_t* buffer, size_t valid_bytes,
                                      RecordIterator& iterator) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = lent_.find(buffer);
  if (buffer == nullptr || it == lent_.end()) {
    ++stats_.foreign_buffers;
    return;
  }
  ++stats_.buffers_completed;
  if (valid_bytes > options_.buffer_bytes) {
    ++stats_.bad_valid_size;
    valid_bytes = options_.buffer_bytes;
  }
  aggregator_.SetNow(now);
  if (!decoder_.DecodeBuffer(buffer, valid_bytes, iterator, aggregator_).ok()) {
    ++stats_.decode_errors;
  }
  std::unique_ptr<uint8_t[]> owned = std::move(it->second);
  lent_.erase(it);
  stats_.outstanding_bytes -= options_.buffer_bytes;
  if (spares_.size() < options_.spare_buffers) spares_.push_back(std::move(owned));
}

void ActivityPipeline::AddDropped(uint64_t count, DropSource source) {
  if (count == 0) return;
  absl::MutexLock lock(&mu_);
  (source == DropSource::kCupti ? stats_.cupti_dropped : stats_.queue_dropped) += count;
  aggregator_.AddDropped(count);
}

std::vector<candor::v1::KernelSummary> ActivityPipeline::Close() {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  return aggregator_.Close(now);
}

std::vector<candor::v1::KernelSummary> ActivityPipeline::CloseAll() {
  absl::MutexLock lock(&mu_);
  return aggregator_.CloseAll();
}

PipelineStats ActivityPipeline::stats() const {
  absl::MutexLock lock(&mu_);
  PipelineStats out = stats_;
  out.decode = decoder_.stats();
  out.aggregate = aggregator_.stats();
  return out;
}

}  // namespace candor::cuda_profiler
