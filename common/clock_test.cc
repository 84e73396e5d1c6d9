#include "common/clock.h"

#include <thread>

#include "gtest/gtest.h"

namespace candor {
namespace {

TEST(SimulatedClockTest, MovesOnlyWhenTold) {
  SimulatedClock clock(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.MonotonicNow(), clock.Now());
  clock.AdvanceTime(absl::Seconds(5));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1005));
  clock.AdvanceTime(absl::Seconds(-3));  // Ignored.
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1005));
  clock.SetTime(absl::FromUnixSeconds(900));  // Never backwards.
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1005));
  clock.SetTime(absl::FromUnixSeconds(2000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(2000));
}

TEST(SimulatedClockTest, AwaitReturnsImmediatelyWhenConditionHolds) {
  SimulatedClock clock;
  absl::Mutex mu;
  bool flag = true;
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(clock.AwaitWithDeadline(&mu, absl::Condition(&flag), clock.Now() + absl::Hours(1)));
}

TEST(SimulatedClockTest, AwaitWakesWhenSimulatedDeadlinePasses) {
  SimulatedClock clock;
  absl::Mutex mu;
  bool flag = false;
  bool result = true;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    result = clock.AwaitWithDeadline(&mu, absl::Condition(&flag), clock.Now() + absl::Seconds(10));
  });
  // Wait (on the real scheduler, not on time) until the thread is parked in the clock.
  while (clock.NumWaiters() == 0) std::this_thread::yield();
  clock.AdvanceTime(absl::Seconds(9));
  EXPECT_EQ(clock.NumWaiters(), 1);
  clock.AdvanceTime(absl::Seconds(1));
  waiter.join();
  EXPECT_FALSE(result);
}

TEST(SimulatedClockTest, AwaitWakesWhenConditionBecomesTrue) {
  SimulatedClock clock;
  absl::Mutex mu;
  bool flag = false;
  bool result = false;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    result = clock.AwaitWithDeadline(&mu, absl::Condition(&flag), clock.Now() + absl::Hours(1));
  });
  while (clock.NumWaiters() == 0) std::this_thread::yield();
  {
    absl::MutexLock lock(&mu);
    flag = true;
  }
  waiter.join();
  EXPECT_TRUE(result);
}

TEST(RealClockTest, MonotonicAdvancesAndAwaitTimesOut) {
  RealClock clock;
  const absl::Time a = clock.MonotonicNow();
  absl::Mutex mu;
  bool flag = false;
  absl::MutexLock lock(&mu);
  EXPECT_FALSE(clock.AwaitWithDeadline(&mu, absl::Condition(&flag), a + absl::Milliseconds(1)));
  EXPECT_GE(clock.MonotonicNow() - a, absl::Milliseconds(1));
  EXPECT_GT(clock.Now(), absl::FromUnixSeconds(1600000000));
}

}  // namespace
}  // namespace candor
