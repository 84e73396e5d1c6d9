// Maps request ids that a server tags its GPU work with to the 64-bit external correlation ids
// CUPTI carries, and back.
//
// A server thread calls `Register("req-42")` before launching work for that request and pushes
// the returned id as a CUPTI external correlation id (the C API in candor_cupti.h does both).
// CUPTI then emits EXTERNAL_CORRELATION records pairing that id with the correlation id of
// each launch, and the aggregator resolves the id back to "req-42" for the interval's
// KernelSummary.request_ids.
//
// Ids with the top bit set are registered strings; ids without it are numeric ids the server
// pushed itself and resolve to their decimal form. The table is bounded: past `capacity`
// entries the oldest registration is forgotten (counted) and resolves to nothing.
//
// Thread safety: all methods are thread-safe.

#ifndef CANDOR_CUDA_PROFILER_REQUEST_REGISTRY_H_
#define CANDOR_CUDA_PROFILER_REQUEST_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace candor::cuda_profiler {

// Resolves an external correlation id to the request id it stands for.
class ExternalIdResolver {
 public:
  virtual ~ExternalIdResolver() = default;
  // The request id, or nullopt when the id is unknown (never registered or forgotten).
  virtual std::optional<std::string> Resolve(uint64_t external_id) const = 0;
};

inline constexpr uint64_t kRegisteredIdBit = uint64_t{1} << 63;
// Longest request id accepted, in bytes (the InferenceEvent.request_id limit).
inline constexpr size_t kMaxRequestIdBytes = 128;

class RequestRegistry final : public ExternalIdResolver {
 public:
  // `capacity`: registrations remembered at once, ≥ 1. Default: 65536.
  explicit RequestRegistry(size_t capacity = 65536);

  // Returns the external id for `request_id`, the same one while it stays registered.
  // InvalidArgumentError for an empty id, one longer than kMaxRequestIdBytes, or one that is
  // not valid UTF-8 or holds control characters.
  absl::StatusOr<uint64_t> Register(std::string_view request_id);

  std::optional<std::string> Resolve(uint64_t external_id) const override;

  // Registrations forgotten to stay within capacity.
  uint64_t evicted() const;
  size_t size() const;

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::string> by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> by_request_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> order_ ABSL_GUARDED_BY(mu_);
  uint64_t evicted_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_REQUEST_REGISTRY_H_
