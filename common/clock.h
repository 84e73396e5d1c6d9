// The one seam through which candor reads time or waits.
//
// Every component that asks the time takes a `Clock&`. `RealClock` is owned by `main`;
// `SimulatedClock` drives tests and replay, where time moves only when told to. Nothing
// outside clock.cc reads std::chrono clocks or sleeps: waiting is `Clock::AwaitWithDeadline`,
// which on a `SimulatedClock` returns when simulated time passes the deadline.
//
// Thread safety: both implementations are safe to use from any thread.

#ifndef CANDOR_COMMON_CLOCK_H_
#define CANDOR_COMMON_CLOCK_H_

#include <cstdint>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace candor {

class Clock {
 public:
  virtual ~Clock() = default;

  // Wall-clock time: the time stamped on data and compared with event times.
  virtual absl::Time Now() const = 0;

  // A monotonic reading for durations and deadlines. Only differences are meaningful.
  virtual absl::Time MonotonicNow() const = 0;

  // With `mu` held by the caller, waits until `cond` holds or `MonotonicNow()` reaches
  // `deadline`, releasing `mu` while waiting, exactly like absl::Mutex::AwaitWithDeadline.
  // Returns true if `cond` holds on return.
  virtual bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                 absl::Time deadline) = 0;
};

// The operating system's clocks.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override;
  absl::Time MonotonicNow() const override;
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                         absl::Time deadline) override;
};

// A clock that moves only when told to. `Now()` and `MonotonicNow()` return the same
// simulated instant. Waiters blocked in AwaitWithDeadline wake when `AdvanceTime` or
// `SetTime` moves the clock past their deadline (or when their condition becomes true).
class SimulatedClock final : public Clock {
 public:
  // Starts at `start` (default: the Unix epoch).
  explicit SimulatedClock(absl::Time start = absl::UnixEpoch());

  absl::Time Now() const override;
  absl::Time MonotonicNow() const override;
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                         absl::Time deadline) override;

  // Moves the clock forward by `d` (negative durations are ignored) and wakes waiters.
  void AdvanceTime(absl::Duration d);
  // Moves the clock to `t` if `t` is later than now, and wakes waiters.
  void SetTime(absl::Time t);
  // Number of threads currently blocked in AwaitWithDeadline: lets a test wait for a
  // worker thread to reach its wait before advancing time.
  int NumWaiters() const;

 private:
  void WakeWaiters();

  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::multiset<absl::Mutex*> waiter_mutexes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace candor

#endif  // CANDOR_COMMON_CLOCK_H_
