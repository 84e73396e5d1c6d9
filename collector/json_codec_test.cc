#include "collector/json_codec.h"

#include <string>
#include <vector>

#include "collector/jsonl.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace candor::collector {
namespace {

bool Same(const candor::v1::IngestItem& a, const candor::v1::IngestItem& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

const std::vector<std::string>& Samples() {
  static const auto* samples = new std::vector<std::string>{
      R"({"inference_event":{"request_id":"r1","trace_id":"t1","timestamp":"2026-01-05T00:00:00.142Z","provider":"aws","region":"us-east-1","zone":"us-east-1a","node":"aws-gpu-1","replica":"llama-aws-1","gpu":"GPU-ac53b80e","route":"chat","tenant":"acme","priority":"normal","model":"llama-3-70b","model_version":"v184","quantization":"fp8","release_track":"stable","status":"OK","http_status":200,"queue_ms":23.1,"ttft_ms":84.7,"latency_ms":457.4,"input_tokens":"231","output_tokens":"17","max_output_tokens":"1024","context_window":"8192","queue_depth":"0","running_requests":"98","kv_cache_usage":0.362,"preemptions":"0","batch_size":"98","circuit_state":"CLOSED","validation":"PASSED","quality_score":0.853,"dependencies":[{"name":"auth","latency_ms":1.7,"status":"OK"},{"name":"vector-db","latency_ms":20000,"status":"TIMEOUT"}]}})",
      R"({"inferenceEvent":{"requestId":"r2","timestamp":"2026-01-05T01:02:03+02:00","status":"TIMEOUT","latencyMs":1e3,"inputTokens":12,"truncatedInputTokens":0,"fallbackTier":2,"fallbackReason":"circuit_open","synthetic":true,"attributes":{"a":"x","b\u00e9":"\ud83d\ude00 \"q\""}}})",
      R"({"replica_sample":{"timestamp":"2026-01-05T00:00:00.517Z","provider":"azure","replica":"mistral-azure-1","engine":"vllm","queue_depth":"0","running_requests":55,"kv_cache_usage":0.224,"preemptions_total":"0","gpu_utilization":0.319,"ready":true,"warming":false}})",
      R"({"gpu_sample":{"timestamp":"2026-01-05T00:00:00.271Z","node":"aws-gpu-1","gpu":"GPU-1","sm_clock_mhz":1977,"max_sm_clock_mhz":1980,"memory_used_bytes":"79027398246","clock_event_reasons":"96","xid_last":0,"ecc_uncorrected_total":"0"}})",
      R"({"kernel_summary":{"interval_start":"2026-01-05T00:00:00Z","interval_end":"2026-01-05T00:00:10.000000001Z","node":"n","gpu":"g","pid":42,"kernel_count":"7","copies":[{"kind":"HTOD","count":"1","bytes":"4096","time_ms":0.5}],"request_ids":["a","b"]}})",
      R"( { "annotation" : { "timestamp" : "2026-01-05T00:10:00Z" , "entity" : "route:chat" , "kind" : "FEATURE_DISABLED" , "message" : "tab\there" } } )",
  };
  return *samples;
}

TEST(JsonCodecTest, FastPathAgreesWithTheCanonicalParser) {
  for (const std::string& line : Samples()) {
    candor::v1::IngestItem fast;
    ASSERT_TRUE(FastDecodeIngestItemJson(line, fast)) << line;
    absl::StatusOr<candor::v1::IngestItem> slow = ParseIngestItemJson(line);
    ASSERT_TRUE(slow.ok()) << slow.status();
    EXPECT_TRUE(Same(fast, *slow)) << line;
  }
}

TEST(JsonCodecTest, EncodingRoundTripsThroughBothParsers) {
  for (const std::string& line : Samples()) {
    absl::StatusOr<candor::v1::IngestItem> item = ParseIngestItemJson(line);
    ASSERT_TRUE(item.ok());
    std::string json;
    EncodeIngestItemJson(*item, json);
    EXPECT_EQ(json, IngestItemToJson(*item));
    absl::StatusOr<candor::v1::IngestItem> again = DecodeIngestItemJson(json);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(Same(*again, *item));
  }
}

TEST(JsonCodecTest, UnusualFormsGoToTheCanonicalParser) {
  const std::vector<std::string> lines = {
      R"({"inference_event":{"request_id":"r","bogus":1}})",          // unknown field
      R"({"inference_event":{"request_id":"r","request_id":"s"}})",   // duplicate
      R"({"inference_event":{}, "annotation":{}})",                   // two oneof members
      R"({"inference_event":{"status":2}})",                          // enum by number
      R"({"inference_event":{"input_tokens":1.0}})",                  // integral double
      R"({"inference_event":{"latency_ms":"12"}})",                   // quoted double
      R"({"inference_event":{"timestamp":"2026-01-05 00:00:00Z"}})",  // not RFC 3339
      R"({"inference_event":{"timestamp":"2026-02-30T00:00:00Z"}})",  // no such day
      R"({"inference_event":{"route":null}})",                        // null
      R"({"inference_event":{"route":"a\ud800"}})",                   // lone surrogate
      R"({"inference_event":{"input_tokens":01}})",                   // leading zero
      R"({})",                                                        // no member
      R"({"inference_event":{}} trailing)",
      R"([1,2])",
  };
  for (const std::string& line : lines) {
    candor::v1::IngestItem item;
    EXPECT_FALSE(FastDecodeIngestItemJson(line, item)) << line;
    // Whatever the outcome, DecodeIngestItemJson is ParseIngestItemJson's.
    absl::StatusOr<candor::v1::IngestItem> decoded = DecodeIngestItemJson(line);
    absl::StatusOr<candor::v1::IngestItem> canonical = ParseIngestItemJson(line);
    EXPECT_EQ(decoded.status(), canonical.status()) << line;
    if (decoded.ok()) {
      EXPECT_TRUE(Same(*decoded, *canonical));
    }
  }
}

// Random edits of valid lines: whenever the fast path accepts, the canonical parser accepts
// the same message.
TEST(JsonCodecTest, MutatedLinesNeverDecodeDifferently) {
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  const auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const std::string alphabet = "{}[]\":,0123456789-.eE+ tfnu\\azAZ";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = Samples()[next() % Samples().size()];
    const int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits && !line.empty(); ++e) {
      const size_t at = next() % line.size();
      switch (next() % 3) {
        case 0:
          line.erase(at, 1);
          break;
        case 1:
          line.insert(at, 1, alphabet[next() % alphabet.size()]);
          break;
        default:
          line[at] = alphabet[next() % alphabet.size()];
      }
    }
    candor::v1::IngestItem fast;
    if (!FastDecodeIngestItemJson(line, fast)) continue;
    ++accepted;
    absl::StatusOr<candor::v1::IngestItem> slow = ParseIngestItemJson(line);
    ASSERT_TRUE(slow.ok()) << line << ": " << slow.status();
    ASSERT_TRUE(Same(fast, *slow)) << line;
  }
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace candor::collector
