// The simulator's arrival queue: items wait here until the simulated time at which they reach
// candor, and leave in (arrival time, insertion order) order, so equal arrival times keep a
// deterministic order.
//
// Thread safety: used by one thread.

#ifndef CANDOR_SIM_OUTBOX_H_
#define CANDOR_SIM_OUTBOX_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"

namespace candor::sim {

class Outbox {
 public:
  // Queues `item` to arrive at `arrival`.
  void Push(absl::Time arrival, std::unique_ptr<candor::v1::IngestItem> item);
  // Hands `sink` every item arriving before `until` (all items if `until` is InfiniteFuture),
  // in order; stops at the first non-OK status from `sink` and returns it.
  absl::Status Drain(absl::Time until,
                     const std::function<absl::Status(const candor::v1::IngestItem&)>& sink);
  size_t size() const { return heap_.size(); }
  // Drops every queued item.
  void Clear() { heap_.clear(); }

 private:
  struct Entry {
    absl::Time arrival;
    uint64_t seq;
    std::unique_ptr<candor::v1::IngestItem> item;
  };
  static bool Later(const Entry& a, const Entry& b) {
    if (a.arrival != b.arrival) return a.arrival > b.arrival;
    return a.seq > b.seq;
  }
  std::vector<Entry> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace candor::sim

#endif  // CANDOR_SIM_OUTBOX_H_
