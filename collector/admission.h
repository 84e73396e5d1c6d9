// Admission control for ingest: which batches candor takes in when it is busy, and how much
// memory waiting batches may hold.
//
// Every batch is classified by the most important item it carries (`ClassifyBatch`, a scan
// of the protobuf wire bytes that allocates nothing):
//   critical  server and GPU samples, annotations, and events of `critical` priority;
//   normal    other events (`normal`, empty or unknown priority) and kernel summaries;
//   low       events of `batch` or `shadow` priority only.
// The `AdmissionQueue` holds batches waiting for a worker. It is bounded in batches and in
// bytes; each class may fill it only up to its watermark, so under overload `low` is refused
// first, then `normal`, and `critical` keeps the last share of the queue to itself. Admitted
// batches are served first come, first served: priority decides what gets in, never how long
// an admitted batch waits (strict priority service would starve admitted low batches, and
// with them every later ack of their stream). A refused batch gets RESOURCE_EXHAUSTED with a
// retry hint from the caller; nothing is ever queued past the bounds.
//
// Thread safety: ClassifyBatch is a pure function. AdmissionQueue is safe from any thread.

#ifndef CANDOR_COLLECTOR_ADMISSION_H_
#define CANDOR_COLLECTOR_ADMISSION_H_

#include <array>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace candor::collector {

enum class Priority : int { kLow = 0, kNormal = 1, kCritical = 2 };
inline constexpr int kNumPriorities = 3;

// "low", "normal", "critical".
std::string_view PriorityName(Priority p);

struct BatchScan {
  // The class of the most important item (kNormal for an empty or unparsable batch: such a
  // batch is refused by the parser later, with a precise error).
  Priority priority = Priority::kNormal;
  // The encoded bytes of each item (views into the scanned buffer), in order. Empty when the
  // bytes are not a well-formed IngestBatch.
  std::vector<std::string_view> items;
  bool well_formed = false;
};

// Scans serialized `candor.v1.IngestBatch` bytes without parsing them into messages.
BatchScan ClassifyBatch(std::string_view bytes);

struct AdmissionOptions {
  // Most batches waiting for a worker, all classes together (0 refuses everything).
  // Default: 256.
  size_t max_batches = 256;
  // Most bytes of batches waiting for a worker or being processed. Default: 256 MiB.
  size_t max_bytes = 256u << 20;
  // Share of both bounds that `low` and `normal` batches may fill, 0–1; `critical` may fill
  // all of it. Defaults: low 0.5, normal 0.8.
  double low_watermark = 0.5;
  double normal_watermark = 0.8;
};

// A batch waiting for a worker. `payload` is opaque to the queue.
template <typename Payload>
class AdmissionQueue {
 public:
  explicit AdmissionQueue(AdmissionOptions options) : options_(options) {}

  enum class Verdict { kAdmitted, kOverloaded, kClosed };

  // Queues `payload` of `bytes` bytes in class `p` unless the queue would pass `p`'s
  // watermark (kOverloaded) or is closed (kClosed). `bytes` stay charged until Release.
  Verdict Push(Priority p, size_t bytes, Payload payload) {
    absl::MutexLock lock(&mu_);
    if (closed_) return Verdict::kClosed;
    const double share = p == Priority::kCritical ? 1.0
                         : p == Priority::kNormal ? options_.normal_watermark
                                                  : options_.low_watermark;
    if (static_cast<double>(queued_ + 1) > share * static_cast<double>(options_.max_batches)) {
      return Verdict::kOverloaded;
    }
    // A lone batch larger than the byte bound would never fit; an idle queue takes it rather
    // than refuse it for ever (its size is already capped by the transport's message limit).
    const bool idle = queued_ == 0 && bytes_ == 0;
    if (!idle &&
        static_cast<double>(bytes_ + bytes) > share * static_cast<double>(options_.max_bytes)) {
      return Verdict::kOverloaded;
    }
    queue_.push_back({bytes, std::move(payload)});
    ++queued_;
    bytes_ += bytes;
    return Verdict::kAdmitted;
  }

  // Blocks until a batch is queued (oldest first) or the queue is closed and empty (returns
  // nullopt). The batch's bytes stay charged until Release(bytes).
  std::optional<std::pair<size_t, Payload>> Pop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &AdmissionQueue::ReadyOrStopped));
    if (queue_.empty()) return std::nullopt;
    Entry e = std::move(queue_.front());
    queue_.pop_front();
    --queued_;
    ++running_;
    return std::make_pair(e.bytes, std::move(e.payload));
  }

  // Ends the charge of a batch returned by Pop.
  void Release(size_t bytes) {
    absl::MutexLock lock(&mu_);
    bytes_ -= bytes;
    --running_;
  }

  // New pushes get kClosed; with `stop`, Pop returns nullopt once the queue is empty.
  void Close(bool stop) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    stopping_ = stopping_ || stop;
  }

  // Waits on `clock`-style deadlines are the caller's; this only reports.
  bool Idle() const {
    absl::MutexLock lock(&mu_);
    return queued_ == 0 && running_ == 0;
  }
  absl::Mutex* mutex() const ABSL_LOCK_RETURNED(mu_) { return &mu_; }
  bool IdleLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queued_ == 0 && running_ == 0;
  }

  size_t queued_batches() const {
    absl::MutexLock lock(&mu_);
    return queued_;
  }
  size_t charged_bytes() const {
    absl::MutexLock lock(&mu_);
    return bytes_;
  }

 private:
  struct Entry {
    size_t bytes;
    Payload payload;
  };
  bool ReadyOrStopped() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queued_ > 0 || stopping_;
  }

  const AdmissionOptions options_;
  mutable absl::Mutex mu_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_ADMISSION_H_
