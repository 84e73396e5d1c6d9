// PeriodicRunner owns one thread that calls a task every `period` of Clock time.
//
// Periodic work in candor (flushes, window ticks, scrapes, probes, alert delivery) is written
// as a `RunOnce()`-style function with no thread and no waiting, so tests drive it directly
// on a SimulatedClock. The runner is only the thread that calls it in production. With a
// SimulatedClock the runner also works: its thread wakes as the clock is advanced.
//
// Thread safety: Start and Stop may be called from any one thread; the task runs on the
// runner's thread only, never concurrently with itself.

#ifndef CANDOR_COMMON_PERIODIC_RUNNER_H_
#define CANDOR_COMMON_PERIODIC_RUNNER_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace candor {

class PeriodicRunner {
 public:
  // `clock` must outlive the runner. `name` appears in logs.
  PeriodicRunner(Clock& clock, std::string name, absl::Duration period, std::function<void()> task);
  // Stops the thread if running.
  ~PeriodicRunner();

  PeriodicRunner(const PeriodicRunner&) = delete;
  PeriodicRunner& operator=(const PeriodicRunner&) = delete;

  // Starts the thread; the first call of the task happens one period after Start.
  void Start();
  // Asks the thread to stop, waits for a task call in progress, and joins. Idempotent.
  // If `run_final` is true, calls the task once more after the thread has stopped.
  void Stop(bool run_final = false);

 private:
  void Loop();

  Clock& clock_;
  const std::string name_;
  const absl::Duration period_;
  const std::function<void()> task_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace candor

#endif  // CANDOR_COMMON_PERIODIC_RUNNER_H_
