#include "cuda-profiler/request_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "cuda-profiler/text_util.h"

namespace candor::cuda_profiler {

RequestRegistry::RequestRegistry(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

absl::StatusOr<uint64_t> RequestRegistry::Register(std::string_view request_id) {
  if (request_id.empty()) return absl::InvalidArgumentError("request id is empty");
  if (request_id.size() > kMaxRequestIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("request id of ", request_id.size(), " bytes exceeds ", kMaxRequestIdBytes));
  }
  if (SanitizeText(request_id, kMaxRequestIdBytes) != request_id) {
    return absl::InvalidArgumentError(
        "request id is not valid UTF-8 or contains control characters");
  }
  absl::MutexLock lock(&mu_);
  if (auto it = by_request_.find(Sv(request_id)); it != by_request_.end()) return it->second;
  while (by_id_.size() >= capacity_ && !order_.empty()) {
    const uint64_t oldest = order_.front();
    order_.pop_front();
    if (auto it = by_id_.find(oldest); it != by_id_.end()) {
      by_request_.erase(it->second);
      by_id_.erase(it);
      ++evicted_;
    }
  }
  const uint64_t id = kRegisteredIdBit | next_id_++;
  by_id_.emplace(id, std::string(request_id));
  by_request_.emplace(std::string(request_id), id);
  order_.push_back(id);
  return id;
}

std::optional<std::string> RequestRegistry::Resolve(uint64_t external_id) const {
  if ((external_id & kRegisteredIdBit) == 0) return absl::StrCat(external_id);
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(external_id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

uint64_t RequestRegistry::evicted() const {
  absl::MutexLock lock(&mu_);
  return evicted_;
}

size_t RequestRegistry::size() const {
  absl::MutexLock lock(&mu_);
  return by_id_.size();
}

}  // namespace candor::cuda_profiler
