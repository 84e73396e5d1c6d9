#include "sim/outbox.h"

#include <algorithm>

namespace candor::sim {

void Outbox::Push(absl::Time arrival, std::unique_ptr<candor::v1::IngestItem> item) {
  heap_.push_back({arrival, next_seq_++, std::move(item)});
  std::push_heap(heap_.begin(), heap_.end(), Later);
}

absl::Status Outbox::Drain(absl::Time until,
                           const std::function<absl::Status(const candor::v1::IngestItem&)>& sink) {
  while (!heap_.empty() && (until == absl::InfiniteFuture() || heap_.front().arrival < until)) {
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    Entry e = std::move(heap_.back());
    heap_.pop_back();
    absl::Status s = sink(*e.item);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace candor::sim
