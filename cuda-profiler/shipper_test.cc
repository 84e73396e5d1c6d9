#include "cuda-profiler/shipper.h"

#include <deque>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Answers from a script, then acks everything; records the batches it saw.
class FakeTransport final : public IngestTransport {
 public:
  absl::StatusOr<candor::v1::IngestAck> Write(const candor::v1::IngestBatch& batch,
                                              absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    batches_.push_back(batch);
    timeouts_.push_back(timeout);
    if (!script_.empty()) {
      auto r = std::move(script_.front());
      script_.pop_front();
      return r;
    }
    candor::v1::IngestAck ack;
    ack.set_batch_id(batch.batch_id());
    ack.set_accepted(static_cast<uint32_t>(batch.items_size()));
    return ack;
  }
  void Script(absl::StatusOr<candor::v1::IngestAck> r) {
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(r));
  }
  std::vector<candor::v1::IngestBatch> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  std::vector<absl::Duration> timeouts() {
    absl::MutexLock lock(&mu_);
    return timeouts_;
  }
  // Waits (real time, as a safety net only) until `n` writes happened.
  bool WaitForWrites(size_t n) {
    RealClock real;
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return batches_.size() >= n; };
    return real.AwaitWithDeadline(&mu_, absl::Condition(&enough),
                                  real.MonotonicNow() + absl::Seconds(30));
  }

 private:
  absl::Mutex mu_;
  std::deque<absl::StatusOr<candor::v1::IngestAck>> script_ ABSL_GUARDED_BY(mu_);
  std::vector<candor::v1::IngestBatch> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> timeouts_ ABSL_GUARDED_BY(mu_);
};

candor::v1::KernelSummary Summary(uint64_t kernels, std::string node = "n") {
  candor::v1::KernelSummary s;
  s.set_node(std::move(node));
  s.set_kernel_count(kernels);
  return s;
}

std::vector<candor::v1::KernelSummary> Summaries(int n) {
  std::vector<candor::v1::KernelSummary> out;
  for (int i = 0; i < n; ++i) out.push_back(Summary(10, "n" + std::to_string(i)));
  return out;
}

candor::v1::IngestAck AckWithCode(int32_t code, absl::Duration retry_after) {
  candor::v1::IngestAck ack;
  ack.set_code(code);
  ack.set_message("busy");
  ack.mutable_retry_after()->set_seconds(absl::ToInt64Seconds(retry_after));
  return ack;
}

class ShipperTest : public ::testing::Test {
 protected:
  ShipperOptions Options() {
    ShipperOptions o;
    o.queue_capacity = 8;
    o.max_batch_items = 3;
    o.backoff = BackoffOptions{
        .initial = absl::Seconds(1), .max = absl::Seconds(8), .multiplier = 2.0, .jitter = 0.0};
    return o;
  }
  std::unique_ptr<Shipper> Make(ShipperOptions o) {
    EXPECT_TRUE(ValidateShipperOptions(o).ok());
    return std::make_unique<Shipper>(clock_, transport_, o,
                                     [this](uint64_t n) { dropped_records_ += n; });
  }

  SimulatedClock clock_;
  FakeTransport transport_;
  uint64_t dropped_records_ = 0;
};

TEST_F(ShipperTest, SendsQueuedSummariesInBatchesInOrder) {
  auto s = Make(Options());
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kIdle);
  s->Enqueue(Summaries(5));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kSent);
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kSent);
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kIdle);
  const auto batches = transport_.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].items_size(), 3);
  EXPECT_EQ(batches[1].items_size(), 2);
  EXPECT_NE(batches[0].batch_id(), batches[1].batch_id());
  EXPECT_EQ(batches[0].items(0).kernel_summary().node(), "n0");
  EXPECT_EQ(batches[1].items(1).kernel_summary().node(), "n4");
  EXPECT_THAT(transport_.timeouts(), ElementsAre(absl::Seconds(5), absl::Seconds(5)));
  const ShipperStats st = s->stats();
  EXPECT_EQ(st.sent, 5u);
  EXPECT_EQ(st.accepted, 5u);
  EXPECT_EQ(st.queued, 0u);
}

TEST_F(ShipperTest, BacksOffOnTransientFailuresAndResetsAfterSuccess) {
  auto s = Make(Options());
  transport_.Script(absl::UnavailableError("connection refused"));
  transport_.Script(absl::DeadlineExceededError("deadline"));
  s->Enqueue(Summaries(2));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kRetry);
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kBackingOff);  // 1 s has not passed.
  clock_.AdvanceTime(absl::Milliseconds(999));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kBackingOff);
  clock_.AdvanceTime(absl::Milliseconds(1));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kRetry);
  clock_.AdvanceTime(absl::Milliseconds(1999));  // The second delay is 2 s.
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kBackingOff);
  clock_.AdvanceTime(absl::Milliseconds(1));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kSent);
  // The same two summaries went out three times, in order, and arrived once.
  const auto batches = transport_.batches();
  ASSERT_EQ(batches.size(), 3u);
  for (const auto& b : batches) {
    ASSERT_EQ(b.items_size(), 2);
    EXPECT_EQ(b.items(0).kernel_summary().node(), "n0");
  }
  ShipperStats st = s->stats();
  EXPECT_EQ(st.failures, 2u);
  EXPECT_EQ(st.sent, 2u);
  EXPECT_THAT(st.last_error, HasSubstr("deadline"));
  // After a success the next failure starts again at 1 s.
  transport_.Script(absl::UnavailableError("down"));
  s->Enqueue(Summaries(1));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kRetry);
  clock_.AdvanceTime(absl::Seconds(1));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kSent);
  EXPECT_EQ(dropped_records_, 0u);
}

TEST_F(ShipperTest, HonoursRetryAfterOnOverload) {
  auto s = Make(Options());
  transport_.Script(AckWithCode(8, absl::Seconds(5)));  // RESOURCE_EXHAUSTED in the ack.
  s->Enqueue(Summaries(1));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kRetry);
  clock_.AdvanceTime(absl::Seconds(4));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kBackingOff);
  clock_.AdvanceTime(absl::Seconds(1));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kSent);
}

TEST_F(ShipperTest, DropsBatchesRefusedForGoodAndCountsTheirRecords) {
  auto s = Make(Options());
  transport_.Script(absl::InvalidArgumentError("malformed"));
  transport_.Script(AckWithCode(16, absl::ZeroDuration()));  // UNAUTHENTICATED.
  s->Enqueue(Summaries(4));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kDropped);
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kDropped);
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kIdle);
  const ShipperStats st = s->stats();
  EXPECT_EQ(st.dropped_refused, 4u);
  EXPECT_EQ(dropped_records_, 40u);
}

TEST_F(ShipperTest, CountsPerItemRejects) {
  auto s = Make(Options());
  candor::v1::IngestAck ack;
  ack.set_accepted(1);
  auto* r = ack.add_rejects();
  r->set_index(1);
  r->set_field("kernel_summary.gpu");
  r->set_reason("missing");
  transport_.Script(ack);
  s->Enqueue(Summaries(2));
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kSent);
  const ShipperStats st = s->stats();
  EXPECT_EQ(st.accepted, 1u);
  EXPECT_EQ(st.rejected_items, 1u);
  EXPECT_THAT(st.last_error, HasSubstr("kernel_summary.gpu"));
}

TEST_F(ShipperTest, FullQueueDropsTheOldestWithoutBlocking) {
  auto s = Make(Options());  // Capacity 8.
  std::vector<candor::v1::KernelSummary> many;
  for (int i = 0; i < 12; ++i) many.push_back(Summary(static_cast<uint64_t>(i + 1)));
  s->Enqueue(std::move(many));
  ShipperStats st = s->stats();
  EXPECT_EQ(st.queued, 8u);
  EXPECT_EQ(st.dropped_overflow, 4u);
  EXPECT_EQ(dropped_records_, 1u + 2 + 3 + 4);
  EXPECT_EQ(s->RunOnce(), Shipper::Step::kSent);
  EXPECT_EQ(transport_.batches()[0].items(0).kernel_summary().kernel_count(), 5u);
}

TEST_F(ShipperTest, StopDrainsRetryingOnceAfterAFailure) {
  auto s = Make(Options());
  s->Enqueue(Summaries(7));
  transport_.Script(absl::UnavailableError("blip"));
  s->Stop(absl::Seconds(10));
  EXPECT_EQ(s->stats().sent, 7u);
  EXPECT_EQ(s->stats().dropped_shutdown, 0u);
}

TEST_F(ShipperTest, StopDrainsUntilTwoFailuresAndCountsTheRest) {
  auto s = Make(Options());
  s->Enqueue(Summaries(7));
  transport_.Script(candor::v1::IngestAck());
  transport_.Script(absl::UnavailableError("gone"));
  transport_.Script(absl::UnavailableError("still gone"));
  s->Stop(absl::Seconds(10));
  const ShipperStats st = s->stats();
  EXPECT_EQ(st.sent, 3u);
  EXPECT_EQ(st.dropped_shutdown, 4u);
  EXPECT_EQ(st.queued, 0u);
  EXPECT_EQ(dropped_records_, 40u);
}

TEST_F(ShipperTest, ThreadShipsAndRetriesOnTheClock) {
  auto s = Make(Options());
  transport_.Script(absl::UnavailableError("down"));
  s->Start();
  s->Enqueue(Summaries(1));
  ASSERT_TRUE(transport_.WaitForWrites(1));
  // The thread now waits for its backoff deadline on the simulated clock.
  while (clock_.NumWaiters() == 0) std::this_thread::yield();
  clock_.AdvanceTime(absl::Seconds(1));
  ASSERT_TRUE(transport_.WaitForWrites(2));
  s->Stop(absl::Seconds(1));
  EXPECT_EQ(s->stats().sent, 1u);
  EXPECT_EQ(s->stats().failures, 1u);
}

// The first Write hangs (a black-holed connection) until cancelled; later ones succeed.
class HangingTransport final : public IngestTransport {
 public:
  absl::StatusOr<candor::v1::IngestAck> Write(const candor::v1::IngestBatch& batch,
                                              absl::Duration) override {
    absl::MutexLock lock(&mu_);
    ++writes_;
    if (writes_ == 1) {
      mu_.Await(absl::Condition(&cancelled_));
      return absl::CancelledError("cancelled");
    }
    candor::v1::IngestAck ack;
    ack.set_accepted(static_cast<uint32_t>(batch.items_size()));
    return ack;
  }
  void CancelInFlight() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  void WaitForFirstWrite() {
    absl::MutexLock lock(&mu_);
    auto started = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return writes_ >= 1; };
    mu_.Await(absl::Condition(&started));
  }

 private:
  absl::Mutex mu_;
  int writes_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(ShipperStopTest, CancelsAHungCallAndDrains) {
  SimulatedClock clock;
  HangingTransport transport;
  Shipper s(clock, transport, ShipperOptions{}, nullptr);
  s.Start();
  s.Enqueue(Summaries(2));
  transport.WaitForFirstWrite();
  s.Stop(absl::Seconds(2));  // Returns only because the hung call was cancelled.
  const ShipperStats st = s.stats();
  EXPECT_EQ(st.failures, 1u);
  EXPECT_EQ(st.sent, 2u);
  EXPECT_EQ(st.dropped_shutdown, 0u);
}

TEST(ShipperOptionsTest, ValidatesRanges) {
  EXPECT_TRUE(ValidateShipperOptions(ShipperOptions{}).ok());
  ShipperOptions o;
  o.queue_capacity = 0;
  EXPECT_FALSE(ValidateShipperOptions(o).ok());
  o = {};
  o.backoff.max = absl::Milliseconds(1);
  EXPECT_FALSE(ValidateShipperOptions(o).ok());
  o = {};
  o.backoff.jitter = 2;
  EXPECT_FALSE(ValidateShipperOptions(o).ok());
}

}  // namespace
}  // namespace candor::cuda_profiler
