#include "common/clock.h"

#include <chrono>
#include <vector>

namespace candor {

absl::Time RealClock::Now() const { return absl::Now(); }

absl::Time RealClock::MonotonicNow() const {
  const auto since = std::chrono::steady_clock::now().time_since_epoch();
  return absl::UnixEpoch() + absl::FromChrono(since);
}

bool RealClock::AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                  absl::Time deadline) {
  // absl::Mutex deadlines are wall-clock; convert the monotonic deadline to a timeout.
  const absl::Duration timeout = deadline - MonotonicNow();
  return mu->AwaitWithTimeout(cond,
                              timeout < absl::ZeroDuration() ? absl::ZeroDuration() : timeout);
}

SimulatedClock::SimulatedClock(absl::Time start) : now_(start) {}

absl::Time SimulatedClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

absl::Time SimulatedClock::MonotonicNow() const { return Now(); }

int SimulatedClock::NumWaiters() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiter_mutexes_.size());
}

bool SimulatedClock::AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                       absl::Time deadline) {
  struct State {
    const SimulatedClock* clock;
    const absl::Condition* cond;
    absl::Time deadline;
  } state{this, &cond, deadline};
  // Re-evaluated by absl whenever `mu` is released; WakeWaiters cycles `mu` after a time change.
  const absl::Condition done(
      +[](State* s) { return s->cond->Eval() || s->clock->Now() >= s->deadline; }, &state);
  {
    absl::MutexLock lock(&mu_);
    waiter_mutexes_.insert(mu);
  }
  mu->Await(done);
  {
    absl::MutexLock lock(&mu_);
    waiter_mutexes_.erase(waiter_mutexes_.find(mu));
  }
  return cond.Eval();
}

void SimulatedClock::AdvanceTime(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return;
  {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  WakeWaiters();
}

void SimulatedClock::SetTime(absl::Time t) {
  {
    absl::MutexLock lock(&mu_);
    if (t <= now_) return;
    now_ = t;
  }
  WakeWaiters();
}

void SimulatedClock::WakeWaiters() {
  std::vector<absl::Mutex*> mutexes;
  {
    absl::MutexLock lock(&mu_);
    mutexes.assign(waiter_mutexes_.begin(), waiter_mutexes_.end());
  }
  // Locking and unlocking a waiter's mutex makes absl re-evaluate its condition.
  for (absl::Mutex* m : mutexes) {
    m->Lock();
    m->Unlock();
  }
}

}  // namespace candor
