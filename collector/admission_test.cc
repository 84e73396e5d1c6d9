#include "collector/admission.h"

#include "candor/v1/ingest.pb.h"
#include "gtest/gtest.h"

namespace candor::collector {
namespace {

candor::v1::IngestItem EventWithPriority(std::string priority) {
  candor::v1::IngestItem item;
  item.mutable_inference_event()->set_request_id("r");
  item.mutable_inference_event()->set_priority(std::move(priority));
  return item;
}

std::string Encode(std::vector<candor::v1::IngestItem> items) {
  candor::v1::IngestBatch batch;
  batch.set_batch_id(9);
  for (auto& i : items) *batch.add_items() = std::move(i);
  return batch.SerializeAsString();
}

TEST(ClassifyBatchTest, EventsByTheirPriority) {
  EXPECT_EQ(ClassifyBatch(Encode({EventWithPriority("critical")})).priority, Priority::kCritical);
  EXPECT_EQ(ClassifyBatch(Encode({EventWithPriority("normal")})).priority, Priority::kNormal);
  EXPECT_EQ(ClassifyBatch(Encode({EventWithPriority("")})).priority, Priority::kNormal);
  EXPECT_EQ(ClassifyBatch(Encode({EventWithPriority("gold")})).priority, Priority::kNormal);
  EXPECT_EQ(ClassifyBatch(Encode({EventWithPriority("batch")})).priority, Priority::kLow);
  EXPECT_EQ(ClassifyBatch(Encode({EventWithPriority("shadow")})).priority, Priority::kLow);
}

TEST(ClassifyBatchTest, TheMostImportantItemDecides) {
  candor::v1::IngestItem gpu;
  gpu.mutable_gpu_sample()->set_node("n");
  candor::v1::IngestItem replica;
  replica.mutable_replica_sample()->set_replica("r");
  candor::v1::IngestItem kernels;
  kernels.mutable_kernel_summary()->set_node("n");
  EXPECT_EQ(ClassifyBatch(Encode({EventWithPriority("batch"), gpu})).priority, Priority::kCritical);
  EXPECT_EQ(ClassifyBatch(Encode({replica})).priority, Priority::kCritical);
  EXPECT_EQ(ClassifyBatch(Encode({EventWithPriority("batch"), kernels})).priority,
            Priority::kNormal);
  EXPECT_EQ(
      ClassifyBatch(Encode({EventWithPriority("shadow"), EventWithPriority("batch")})).priority,
      Priority::kLow);
}

TEST(ClassifyBatchTest, ItemViewsAreTheEncodedItems) {
  std::vector<candor::v1::IngestItem> items = {EventWithPriority("critical"),
                                               EventWithPriority("batch")};
  const std::string bytes = Encode(items);
  BatchScan scan = ClassifyBatch(bytes);
  ASSERT_TRUE(scan.well_formed);
  ASSERT_EQ(scan.items.size(), 2u);
  for (size_t i = 0; i < items.size(); ++i) {
    candor::v1::IngestItem parsed;
    ASSERT_TRUE(
        parsed.ParseFromArray(scan.items[i].data(), static_cast<int>(scan.items[i].size())));
    EXPECT_EQ(parsed.SerializeAsString(), items[i].SerializeAsString());
  }
}

TEST(ClassifyBatchTest, MalformedBytesAreNotWellFormed) {
  EXPECT_FALSE(ClassifyBatch("\xff\xff\xff\x07garbage").well_formed);
  std::string truncated = Encode({EventWithPriority("critical")});
  truncated.pop_back();
  EXPECT_FALSE(ClassifyBatch(truncated).well_formed);
  EXPECT_TRUE(ClassifyBatch("").well_formed);
  EXPECT_EQ(ClassifyBatch("").priority, Priority::kNormal);
}

using Queue = AdmissionQueue<int>;

TEST(AdmissionQueueTest, LowIsShedFirstThenNormalAndCriticalKeepsTheRest) {
  Queue q(AdmissionOptions{10, 1u << 30, 0.5, 0.8});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(q.Push(Priority::kLow, 1, i), Queue::Verdict::kAdmitted);
  EXPECT_EQ(q.Push(Priority::kLow, 1, 5), Queue::Verdict::kOverloaded);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(q.Push(Priority::kNormal, 1, i), Queue::Verdict::kAdmitted);
  }
  EXPECT_EQ(q.Push(Priority::kNormal, 1, 9), Queue::Verdict::kOverloaded);
  EXPECT_EQ(q.Push(Priority::kCritical, 1, 100), Queue::Verdict::kAdmitted);
  EXPECT_EQ(q.Push(Priority::kCritical, 1, 101), Queue::Verdict::kAdmitted);
  EXPECT_EQ(q.Push(Priority::kCritical, 1, 102), Queue::Verdict::kOverloaded);
  EXPECT_EQ(q.queued_batches(), 10u);
}

TEST(AdmissionQueueTest, ByteBoundAndReleaseAfterProcessing) {
  Queue q(AdmissionOptions{100, 1000, 0.5, 0.8});
  EXPECT_EQ(q.Push(Priority::kNormal, 700, 1), Queue::Verdict::kAdmitted);
  EXPECT_EQ(q.Push(Priority::kNormal, 200, 2), Queue::Verdict::kOverloaded);  // 900 > 800.
  EXPECT_EQ(q.Push(Priority::kCritical, 200, 3), Queue::Verdict::kAdmitted);
  auto first = q.Pop();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->second, 1);  // Served in arrival order, whatever the class.
  // Popped bytes stay charged until the batch is done.
  EXPECT_EQ(q.charged_bytes(), 900u);
  q.Release(first->first);
  EXPECT_EQ(q.charged_bytes(), 200u);
  EXPECT_FALSE(q.Idle());
}

TEST(AdmissionQueueTest, AnOversizeBatchFitsOnlyAnIdleQueue) {
  Queue q(AdmissionOptions{100, 10, 0.5, 0.8});
  EXPECT_EQ(q.Push(Priority::kLow, 50, 1), Queue::Verdict::kAdmitted);
  EXPECT_EQ(q.Push(Priority::kCritical, 50, 2), Queue::Verdict::kOverloaded);
}

TEST(AdmissionQueueTest, ZeroBatchesRefusesEverything) {
  Queue q(AdmissionOptions{0, 1000, 0.5, 0.8});
  EXPECT_EQ(q.Push(Priority::kCritical, 1, 1), Queue::Verdict::kOverloaded);
}

TEST(AdmissionQueueTest, ClosedRefusesAndStopEndsPop) {
  Queue q(AdmissionOptions{});
  EXPECT_EQ(q.Push(Priority::kNormal, 1, 7), Queue::Verdict::kAdmitted);
  q.Close(/*stop=*/false);
  EXPECT_EQ(q.Push(Priority::kCritical, 1, 8), Queue::Verdict::kClosed);
  q.Close(/*stop=*/true);
  auto item = q.Pop();  // What was queued before closing is still handed out.
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->second, 7);
  q.Release(item->first);
  EXPECT_FALSE(q.Pop().has_value());
  EXPECT_TRUE(q.Idle());
}

}  // namespace
}  // namespace candor::collector
