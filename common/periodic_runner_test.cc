#include "common/periodic_runner.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace candor {
namespace {

TEST(PeriodicRunnerTest, RunsOncePerSimulatedPeriod) {
  SimulatedClock clock;
  std::atomic<int> runs{0};
  PeriodicRunner runner(clock, "test", absl::Seconds(10), [&] { runs.fetch_add(1); });
  runner.Start();
  auto advance_and_wait = [&](int expected) {
    while (clock.NumWaiters() == 0) std::this_thread::yield();
    clock.AdvanceTime(absl::Seconds(10));
    while (runs.load() < expected) std::this_thread::yield();
  };
  advance_and_wait(1);
  advance_and_wait(2);
  advance_and_wait(3);
  runner.Stop();
  EXPECT_EQ(runs.load(), 3);
}

TEST(PeriodicRunnerTest, StopWithFinalRunCallsTaskOnceMore) {
  SimulatedClock clock;
  int runs = 0;
  PeriodicRunner runner(clock, "test", absl::Hours(1), [&] { ++runs; });
  runner.Start();
  runner.Stop(/*run_final=*/true);
  EXPECT_EQ(runs, 1);
  runner.Stop();  // Idempotent.
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace candor
