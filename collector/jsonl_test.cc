#include "collector/jsonl.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;

TEST(JsonlTest, ParsesProtoAndCamelCaseNamesEnumsAndInt64Strings) {
  auto item = ParseIngestItemJson(
      R"({"inference_event": {"request_id": "r1", "timestamp": "2026-11-22T10:00:00.5Z",
          "status": "TIMEOUT", "latencyMs": 30000, "outputTokens": "12", "validation": "FAILED",
          "circuit_state": "OPEN", "dependencies": [{"name": "vector-db", "latency_ms": 9000,
          "status": "TIMEOUT"}], "attributes": {"a": "b"}}})");
  ASSERT_TRUE(item.ok()) << item.status();
  const auto& e = item->inference_event();
  EXPECT_EQ(e.request_id(), "r1");
  EXPECT_EQ(e.status(), candor::v1::TIMEOUT);
  EXPECT_EQ(e.latency_ms(), 30000);
  EXPECT_EQ(e.output_tokens(), 12);
  EXPECT_EQ(e.validation(), candor::v1::FAILED);
  EXPECT_EQ(e.circuit_state(), candor::v1::OPEN);
  EXPECT_EQ(e.timestamp().nanos(), 500000000);
  EXPECT_EQ(e.dependencies(0).status(), candor::v1::TIMEOUT);
}

TEST(JsonlTest, UnknownFieldsAndEmptyItemsAreErrors) {
  auto unknown = ParseIngestItemJson(R"({"inference_event": {"request_idd": "x"}})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("request_idd"));
  EXPECT_FALSE(ParseIngestItemJson(R"({"bogus_item": {}})").ok());
  EXPECT_FALSE(ParseIngestItemJson("{}").ok());
  EXPECT_FALSE(ParseIngestItemJson("not json").ok());
  EXPECT_FALSE(ParseIngestItemJson(R"({"inference_event": {"status": "SOMETIMES"}})").ok());
}

TEST(JsonlTest, UnescapedControlCharactersAreErrors) {
  const std::string raw =
      std::string(R"({"inference_event": {"attributes": {"k)") + '\0' + R"(": "v"}}})";
  auto item = ParseIngestItemJson(raw);
  ASSERT_FALSE(item.ok());
  EXPECT_THAT(item.status().message(), HasSubstr("control character 0x00 at byte 38"));
  // Escaped, the same string is fine and comes back the same.
  auto escaped =
      ParseIngestItemJson(R"({"inference_event": {"attributes": {"k\u0000": "v\u0001"}}})");
  ASSERT_TRUE(escaped.ok()) << escaped.status();
  auto again = ParseIngestItemJson(IngestItemToJson(*escaped));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), escaped->SerializeAsString());
  // Tabs and line ends between tokens stay allowed.
  EXPECT_TRUE(ParseIngestItemJson("{\"inference_event\":\t{}}\r").ok());
}

TEST(JsonlTest, RoundTripsThroughCanonicalJson) {
  candor::v1::IngestItem item;
  auto* g = item.mutable_gpu_sample();
  g->set_node("n1");
  g->set_gpu("GPU-1");
  g->set_memory_total_bytes(80ull << 30);
  g->mutable_timestamp()->set_seconds(1800000000);
  const std::string json = IngestItemToJson(item);
  EXPECT_THAT(json, HasSubstr("\"gpu_sample\""));
  auto back = ParseIngestItemJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), item.SerializeAsString());
}

TEST(JsonlTest, MapsPrintSortedWhateverTheInsertionOrder) {
  candor::v1::IngestItem a;
  candor::v1::IngestItem b;
  const char* keys[] = {"zone-hint", "a", "tenant", "k>", "b"};
  for (const char* k : keys) (*a.mutable_inference_event()->mutable_attributes())[k] = "v";
  for (int i = 4; i >= 0; --i) (*b.mutable_inference_event()->mutable_attributes())[keys[i]] = "v";
  const std::string json = IngestItemToJson(a);
  EXPECT_EQ(json, IngestItemToJson(b));
  EXPECT_THAT(json, HasSubstr(R"("attributes":{"a":"v","b":"v","k\u003e":"v","tenant":"v",)"
                              R"("zone-hint":"v"})"));
  for (int i = 0; i < 50; ++i) {
    auto again = ParseIngestItemJson(json);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(IngestItemToJson(*again), json);
  }
}

TEST(JsonlTest, ReadJsonlNamesTheLineOfAnError) {
  std::istringstream in(
      "{\"annotation\": {\"entity\": \"fleet\", \"kind\": \"DEPLOY_STARTED\"}}\n"
      "\n"
      "{\"annotation\": {\"entity\": 5}}\n");
  int seen = 0;
  absl::Status s = ReadJsonl(in, [&](int64_t, candor::v1::IngestItem&) {
    ++seen;
    return absl::OkStatus();
  });
  EXPECT_EQ(seen, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("line 3:"));
}

}  // namespace
}  // namespace candor::collector
