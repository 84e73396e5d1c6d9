#include "cuda-profiler/shipper.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::cuda_profiler {
namespace {

// gRPC code numbers as carried in IngestAck.code.
constexpr int32_t kAckOk = 0;
constexpr int32_t kAckInvalidArgument = 3;
constexpr int32_t kAckPermissionDenied = 7;
constexpr int32_t kAckUnimplemented = 12;
constexpr int32_t kAckUnauthenticated = 16;

bool PermanentCode(int32_t code) {
  return code == kAckInvalidArgument || code == kAckPermissionDenied || code == kAckUnimplemented ||
         code == kAckUnauthenticated;
}

}  // namespace

absl::Status ValidateShipperOptions(const ShipperOptions& o) {
  auto bad = [](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("shipper option ", Sv(what)));
  };
  if (o.queue_capacity < 1 || o.queue_capacity > 1000000) {
    return bad("queue_capacity must be within 1..1000000");
  }
  if (o.max_batch_items < 1 || o.max_batch_items > 10000) {
    return bad("max_batch_items must be within 1..10000");
  }
  if (o.rpc_timeout < absl::Milliseconds(10) || o.rpc_timeout > absl::Minutes(10)) {
    return bad("rpc_timeout must be within 10ms..10m");
  }
  const BackoffOptions& b = o.backoff;
  if (b.initial < absl::Milliseconds(1) || b.initial > absl::Hours(1)) {
    return bad("backoff.initial must be within 1ms..1h");
  }
  if (b.max < b.initial || b.max > absl::Hours(1)) {
    return bad("backoff.max must be within backoff.initial..1h");
  }
  if (!(b.multiplier >= 1.0 && b.multiplier <= 10.0)) {
    return bad("backoff.multiplier must be within 1..10");
  }
  if (!(b.jitter >= 0.0 && b.jitter <= 1.0)) return bad("backoff.jitter must be within 0..1");
  return absl::OkStatus();
}

Shipper::Shipper(Clock& clock, IngestTransport& transport, ShipperOptions options,
                 std::function<void(uint64_t)> on_drop)
    : clock_(clock),
      transport_(transport),
      options_(options),
      on_drop_(std::move(on_drop)),
      backoff_(options.backoff, options.seed) {}

Shipper::~Shipper() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t Shipper::RecordsIn(const candor::v1::KernelSummary& s) {
  uint64_t n = s.kernel_count() + s.memset_count() + s.sync_count() + s.graph_launch_count() +
               s.memory_alloc_count() + s.memory_free_count();
  for (const auto& c : s.copies()) n += c.count();
  return n;
}

void Shipper::ReportDrop(uint64_t records) {
  if (records > 0 && on_drop_) on_drop_(records);
}

void Shipper::DropFrontLocked(size_t n, uint64_t* counter, uint64_t* records) {
  for (size_t i = 0; i < n && !queue_.empty(); ++i) {
    *records += RecordsIn(queue_.front());
    queue_.pop_front();
    ++*counter;
  }
}

void Shipper::Enqueue(std::vector<candor::v1::KernelSummary> summaries) {
  if (summaries.empty()) return;
  uint64_t dropped_records = 0;
  {
    absl::MutexLock lock(&mu_);
    for (auto& s : summaries) queue_.push_back(std::move(s));
    stats_.enqueued += summaries.size();
    if (queue_.size() > options_.queue_capacity) {
      DropFrontLocked(queue_.size() - options_.queue_capacity, &stats_.dropped_overflow,
                      &dropped_records);
    }
  }
  ReportDrop(dropped_records);
}

Shipper::Step Shipper::RunOnce() { return Send(/*ignore_backoff=*/false, options_.rpc_timeout); }

Shipper::Step Shipper::Send(bool ignore_backoff, absl::Duration timeout) {
  absl::MutexLock send_lock(&send_mu_);
  candor::v1::IngestBatch batch;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.empty()) return Step::kIdle;
    if (backing_off_ && !ignore_backoff && clock_.MonotonicNow() < next_attempt_) {
      return Step::kBackingOff;
    }
    const size_t n = std::min(queue_.size(), options_.max_batch_items);
    batch.set_batch_id(next_batch_id_++);
    for (size_t i = 0; i < n; ++i) {
      *batch.add_items()->mutable_kernel_summary() = std::move(queue_.front());
      queue_.pop_front();
    }
    ++stats_.attempts;
  }

  absl::StatusOr<candor::v1::IngestAck> result = transport_.Write(batch, timeout);

  bool permanent = false;
  bool ok = false;
  absl::Duration retry_after = absl::ZeroDuration();
  std::string error;
  if (!result.ok()) {
    const absl::StatusCode code = result.status().code();
    permanent =
        code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kUnauthenticated ||
        code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kUnimplemented;
    error = result.status().ToString();
  } else if (result->code() != kAckOk) {
    permanent = PermanentCode(result->code());
    retry_after = absl::Seconds(result->retry_after().seconds()) +
                  absl::Nanoseconds(result->retry_after().nanos());
    error = absl::StrCat("batch refused with code ", result->code(), ": ", result->message());
  } else {
    ok = true;
  }

  uint64_t dropped_records = 0;
  Step step;
  {
    absl::MutexLock lock(&mu_);
    const auto n = static_cast<uint64_t>(batch.items_size());
    if (ok) {
      stats_.sent += n;
      stats_.accepted += result->accepted();
      stats_.rejected_items += static_cast<uint64_t>(result->rejects_size());
      if (result->rejects_size() > 0) {
        const auto& r = result->rejects(0);
        stats_.last_error =
            absl::StrCat("item ", r.index(), " rejected: ", r.field(), ": ", r.reason());
      }
      backoff_.Reset();
      backing_off_ = false;
      step = Step::kSent;
    } else if (permanent) {
      ++stats_.failures;
      stats_.last_error = error;
      stats_.dropped_refused += n;
      for (const auto& item : batch.items()) dropped_records += RecordsIn(item.kernel_summary());
      step = Step::kDropped;
    } else {
      ++stats_.failures;
      stats_.last_error = error;
      auto* items = batch.mutable_items();
      for (int i = items->size() - 1; i >= 0; --i) {
        queue_.push_front(std::move(*(*items)[i].mutable_kernel_summary()));
      }
      if (queue_.size() > options_.queue_capacity) {
        DropFrontLocked(queue_.size() - options_.queue_capacity, &stats_.dropped_overflow,
                        &dropped_records);
      }
      const absl::Duration delay = std::max(backoff_.Next(), retry_after);
      backing_off_ = true;
      next_attempt_ = clock_.MonotonicNow() + delay;
      step = Step::kRetry;
    }
  }
  ReportDrop(dropped_records);
  return step;
}

bool Shipper::ReadyLocked() const { return stop_ || (!queue_.empty() && !backing_off_); }

void Shipper::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Time deadline = backing_off_ ? next_attempt_ : absl::InfiniteFuture();
      clock_.AwaitWithDeadline(&mu_, absl::Condition(this, &Shipper::ReadyLocked), deadline);
      if (stop_) return;
      if (backing_off_ && clock_.MonotonicNow() >= next_attempt_) backing_off_ = false;
      if (queue_.empty() || backing_off_) continue;
    }
    Send(/*ignore_backoff=*/false, options_.rpc_timeout);
  }
}

void Shipper::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Loop(); });
}

void Shipper::Stop(absl::Duration drain_timeout) {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) {
    // The batch of a cancelled call goes back to the queue and is sent by the drain below.
    transport_.CancelInFlight();
    thread_.join();
  }
  const absl::Time deadline = clock_.MonotonicNow() + drain_timeout;
  // One immediate retry after a failure (the call cancelled above may have been the one that
  // failed); a second failure in a row means candor is not there, and exit must not wait.
  int failures_in_row = 0;
  while (failures_in_row < 2) {
    const absl::Duration left = deadline - clock_.MonotonicNow();
    if (left <= absl::ZeroDuration()) break;
    const Step step = Send(/*ignore_backoff=*/true, std::min(left, options_.rpc_timeout));
    if (step == Step::kIdle) break;
    failures_in_row = step == Step::kRetry ? failures_in_row + 1 : 0;
  }
  uint64_t dropped_records = 0;
  {
    absl::MutexLock lock(&mu_);
    DropFrontLocked(queue_.size(), &stats_.dropped_shutdown, &dropped_records);
  }
  ReportDrop(dropped_records);
}

ShipperStats Shipper::stats() const {
  absl::MutexLock lock(&mu_);
  ShipperStats out = stats_;
  out.queued = queue_.size();
  return out;
}

}  // namespace candor::cuda_profiler
