// Ships KernelSummary messages to candor's Ingest service from a bounded queue on its own
// thread, with jittered exponential backoff, and never blocks the producer.
//
// `Enqueue` only appends to the queue; when the queue is full the oldest summaries are dropped
// and counted (fresh data is worth more to a health monitor than old data), and the records
// they carried are reported through the `on_drop` callback so they show up as
// `dropped_records` in a later summary. `RunOnce` sends at most one batch if one is due;
// the thread started by `Start` calls it whenever there is work and no backoff pending.
// Tests drive `RunOnce` directly on a SimulatedClock with a fake transport.
//
// Outcomes of a send: an ack with code 0 completes the batch (per-item rejects are counted:
// resending would be refused again); RESOURCE_EXHAUSTED or UNAVAILABLE (as the ack's code or
// the call's status), DEADLINE_EXCEEDED and other transient call failures put the batch back
// at the head of the queue and back off (at least the ack's `retry_after`); INVALID_ARGUMENT,
// UNAUTHENTICATED, PERMISSION_DENIED and UNIMPLEMENTED drop the batch (counted), because the
// same bytes will be refused again.
//
// Thread safety: all methods are thread-safe. At most one send is in flight.

#ifndef CANDOR_CUDA_PROFILER_SHIPPER_H_
#define CANDOR_CUDA_PROFILER_SHIPPER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "common/clock.h"
#include "cuda-profiler/backoff.h"

namespace candor::cuda_profiler {

// One RPC to candor.v1.Ingest.
class IngestTransport {
 public:
  virtual ~IngestTransport() = default;
  // Sends `batch`, waiting at most `timeout`. Returns the ack (whose `code` may refuse the
  // batch), or the call's failure as an absl::Status carrying the gRPC code.
  virtual absl::StatusOr<candor::v1::IngestAck> Write(const candor::v1::IngestBatch& batch,
                                                      absl::Duration timeout) = 0;
  // Makes a Write in progress on another thread return promptly (with an error). Called when
  // shutting down, so a hung connection cannot hold up the host process's exit. Default: no-op.
  virtual void CancelInFlight() {}
};

struct ShipperOptions {
  // Summaries held while candor is unreachable; beyond, the oldest are dropped. Range
  // 1 – 1,000,000. Default: 4096.
  size_t queue_capacity = 4096;
  // Summaries per IngestBatch. Range 1 – 10,000. Default: 256.
  size_t max_batch_items = 256;
  // Time allowed for one RPC. Range 10 ms – 10 min. Default: 5 s.
  absl::Duration rpc_timeout = absl::Seconds(5);
  BackoffOptions backoff;
  // Seed of the backoff jitter. Default: 1 (production seeds it per process).
  uint64_t seed = 1;
};

// InvalidArgumentError naming the first option outside its documented range.
absl::Status ValidateShipperOptions(const ShipperOptions& options);

struct ShipperStats {
  uint64_t enqueued = 0;          // Summaries accepted into the queue.
  uint64_t sent = 0;              // Summaries in batches candor acknowledged with code 0.
  uint64_t accepted = 0;          // Items candor reported durable.
  uint64_t rejected_items = 0;    // Items candor refused one by one.
  uint64_t dropped_overflow = 0;  // Summaries dropped because the queue was full.
  uint64_t dropped_refused = 0;   // Summaries in batches refused for good.
  uint64_t dropped_shutdown = 0;  // Summaries still queued when the shipper was stopped.
  uint64_t attempts = 0;          // RPCs made.
  uint64_t failures = 0;          // RPCs that failed or were refused as a whole.
  size_t queued = 0;
  std::string last_error;  // The latest failure or reject reason, for the status API.
};

class Shipper {
 public:
  enum class Step : uint8_t {
    kIdle,        // Nothing queued.
    kBackingOff,  // A retry is scheduled later; nothing sent.
    kSent,        // A batch was acknowledged.
    kRetry,       // The send failed transiently; the batch is queued again.
    kDropped,     // The batch was refused for good.
  };

  // `clock` and `transport` must outlive the shipper. `on_drop(records)` (may be empty) is
  // called, without the shipper's lock held, with the activity records carried by summaries
  // the shipper dropped.
  Shipper(Clock& clock, IngestTransport& transport, ShipperOptions options,
          std::function<void(uint64_t)> on_drop);
  // Stops the thread if running, without draining.
  ~Shipper();

  Shipper(const Shipper&) = delete;
  Shipper& operator=(const Shipper&) = delete;

  // Appends summaries; never blocks on the network. Drops the oldest past capacity.
  void Enqueue(std::vector<candor::v1::KernelSummary> summaries);

  // Sends at most one batch if one is queued and no backoff is pending.
  Step RunOnce();

  // Starts the shipping thread.
  void Start();
  // Stops the thread (cancelling its RPC in flight), then keeps sending (ignoring backoff)
  // until the queue is empty, two sends in a row fail, or `drain_timeout` of clock time has
  // passed; what is left is dropped and counted. Idempotent.
  void Stop(absl::Duration drain_timeout);

  ShipperStats stats() const;

  // Activity records a summary stands for (kernels, copies, memsets, syncs, graph launches,
  // allocations): what is reported as dropped when the summary is.
  static uint64_t RecordsIn(const candor::v1::KernelSummary& s);

 private:
  bool ReadyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();
  Step Send(bool ignore_backoff, absl::Duration timeout);
  void DropFrontLocked(size_t n, uint64_t* counter, uint64_t* records)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportDrop(uint64_t records);

  Clock& clock_;
  IngestTransport& transport_;
  const ShipperOptions options_;
  const std::function<void(uint64_t)> on_drop_;
  absl::Mutex send_mu_;  // Serialises sends; taken before mu_.
  mutable absl::Mutex mu_;
  std::deque<candor::v1::KernelSummary> queue_ ABSL_GUARDED_BY(mu_);
  Backoff backoff_ ABSL_GUARDED_BY(mu_);
  bool backing_off_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t next_batch_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  ShipperStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_SHIPPER_H_
