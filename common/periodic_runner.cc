#include "common/periodic_runner.h"

#include <utility>

namespace candor {

PeriodicRunner::PeriodicRunner(Clock& clock, std::string name, absl::Duration period,
                               std::function<void()> task)
    : clock_(clock), name_(std::move(name)), period_(period), task_(std::move(task)) {}

PeriodicRunner::~PeriodicRunner() { Stop(); }

void PeriodicRunner::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void PeriodicRunner::Stop(bool run_final) {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (run_final) task_();
}

void PeriodicRunner::Loop() {
  absl::Time next = clock_.MonotonicNow() + period_;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (clock_.AwaitWithDeadline(&mu_, absl::Condition(&stop_), next)) return;
    }
    task_();
    const absl::Time now = clock_.MonotonicNow();
    next += period_;
    if (next < now) next = now + period_;  // Skip missed periods rather than bursting.
  }
}

}  // namespace candor
