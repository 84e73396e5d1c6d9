#include "store/event_log_format.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::store::event_log_format {
namespace {

using ::testing::ElementsAre;

TEST(EventLogFormatTest, RecordRoundTripsWithIdsEntitiesAndBinaryPayload) {
  LogRecord r;
  r.event_time = absl::FromUnixMillis(1'800'000'000'123);
  r.kind = 3;
  r.request_id = "req";
  r.trace_id = "";
  r.entities = {"fleet", "node:gpu-1"};
  const std::string payload("\0\xff\x01payload", 10);
  r.payload = payload;
  auto back = DecodeRecord(42, EncodeRecord(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->seq, 42u);
  EXPECT_EQ(back->event_time, r.event_time);
  EXPECT_EQ(back->kind, 3);
  EXPECT_EQ(back->request_id, "req");
  EXPECT_EQ(back->trace_id, "");
  EXPECT_THAT(back->entities, ElementsAre("fleet", "node:gpu-1"));
  EXPECT_EQ(back->payload, payload);
}

TEST(EventLogFormatTest, CorruptRecordsAreDataLossNotCrashes) {
  LogRecord r;
  r.entities = {"fleet"};
  const std::string good = EncodeRecord(r);
  for (size_t cut = 0; cut < good.size(); ++cut) {
    auto back = DecodeRecord(1, good.substr(0, cut));
    if (!back.ok()) {
      EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  std::string bad_version = good;
  bad_version[0] = 9;
  EXPECT_EQ(DecodeRecord(1, bad_version).status().code(), absl::StatusCode::kDataLoss);
}

TEST(EventLogFormatTest, TimeKeysAndSeqKeysSortNumerically) {
  EXPECT_LT(TimeKey(absl::FromUnixMillis(-5)), TimeKey(absl::FromUnixMillis(3)));
  EXPECT_EQ(FromTimeKey(TimeKey(absl::FromUnixMillis(-1234))), absl::FromUnixMillis(-1234));
  EXPECT_LT(RecordKey(255), RecordKey(256));
  EXPECT_EQ(ReadBigEndian64(RecordKey(0x0102030405060708ULL)), 0x0102030405060708ULL);
}

TEST(EventLogFormatTest, IdHashIsStableAndPrefixesHaveFixedLength) {
  // The hash is on disk: these values must never change.
  EXPECT_EQ(IdHash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(IdHash("req-1"), 0x0a2881c3268a7392ULL);
  EXPECT_NE(IdHash("req-1"), IdHash("req-2"));
  EXPECT_EQ(IdPrefix(kRequestTag, "a-much-longer-request-identifier").size(), kIdPrefixBytes);
}

TEST(EventLogFormatTest, TimeSpanRoundTripsAndRejectsGarbage) {
  TimeSpan span;
  span.min_time = absl::FromUnixMillis(1000);
  span.max_time = absl::FromUnixMillis(59000);
  span.seqs = {7, 8, 12, 1000};
  TimeSpan back;
  ASSERT_TRUE(DecodeTimeSpan(TimeSpanKey(span), TimeSpanValue(span), &back));
  EXPECT_EQ(back.min_time, span.min_time);
  EXPECT_EQ(back.max_time, span.max_time);
  EXPECT_EQ(back.seqs, span.seqs);
  EXPECT_FALSE(DecodeTimeSpan("short", TimeSpanValue(span), &back));
  EXPECT_FALSE(DecodeTimeSpan(TimeSpanKey(span), "x", &back));
}

TEST(EventLogFormatTest, PartitionNamesRoundTrip) {
  const int64_t day = DayOf(absl::FromUnixSeconds(1'800'000'000));
  for (PartitionPart part : kAllParts) {
    auto parsed = ParsePartitionName(PartitionName(part, day));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->first, part);
    EXPECT_EQ(parsed->second, day);
  }
  EXPECT_EQ(PartitionName(PartitionPart::kRecords, 0), "events_19700101");
  EXPECT_FALSE(ParsePartitionName("events_2026").has_value());
  EXPECT_FALSE(ParsePartitionName("meta").has_value());
  EXPECT_EQ(DayOf(absl::FromUnixSeconds(-1)), -1);
}

}  // namespace
}  // namespace candor::store::event_log_format
