#include "collector/prober.h"

#include "collector/http_fetch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/collector_fixture.h"
#include "tests/testing/scripted_http_server.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;

constexpr char kSseHeaders[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

std::string Delta(const std::string& content) {
  return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":" + content + "}}]}\n\n";
}

class ProberTest : public ::testing::Test {
 protected:
  std::unique_ptr<Prober> Make(ProbeTarget target) {
    auto prober =
        Prober::Create({std::move(target)}, *stack_.processor, fetcher_, stack_.metrics, clock_);
    EXPECT_TRUE(prober.ok()) << prober.status();
    return *std::move(prober);
  }
  ProbeTarget Target(const std::string& url) {
    ProbeTarget t;
    t.name = "chat";
    t.url = url;
    t.model = "llama";
    t.provider = "aws";
    t.timeout = absl::Seconds(5);
    t.expect_json_schema =
        R"({"type":"object","required":["status"],"properties":{"status":{"enum":["ok"]}}})";
    return t;
  }
  // The recorded event of `result`, read back from the event log.
  candor::v1::InferenceEvent Stored(const ProbeResult& result) {
    auto records = stack_.log->FindByRequestId(result.event.request_id());
    EXPECT_TRUE(records.ok());
    EXPECT_EQ(records->size(), 1u);
    candor::v1::IngestItem item;
    if (records->size() == 1) {
      EXPECT_TRUE(item.ParseFromString((*records)[0].payload));
    }
    return item.inference_event();
  }

  SimulatedClock clock_{absl::FromUnixSeconds(1'798'761'600)};
  testing::IngestStack stack_{clock_};
  HttpFetcher fetcher_{clock_};
};

TEST_F(ProberTest, HealthyStreamMeasuresTtftAndPassesTheSchema) {
  std::string request_body;
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest& req, testing::ScriptedConnection& conn) {
        request_body = req.body;
        conn.Write(kSseHeaders);
        conn.Write("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n");
        clock_.AdvanceTime(absl::Milliseconds(400));
        conn.Write(Delta("\"{\\\"status\\\"\"") + Delta("\": \\\"ok\\\"}\""));
        conn.Write(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":21,\"completion_tokens\":6}}\n\n");
        conn.Write("data: [DONE]\n\n");
      });
  auto prober = Make(Target(server.url()));
  ProbeResult r = prober->ProbeNow(0);
  EXPECT_EQ(r.output, "{\"status\": \"ok\"}");
  const candor::v1::InferenceEvent e = Stored(r);
  EXPECT_EQ(e.status(), candor::v1::OK);
  EXPECT_TRUE(e.synthetic());
  EXPECT_EQ(e.priority(), "critical");
  EXPECT_EQ(e.route(), "synthetic-probe");
  EXPECT_EQ(e.http_status(), 200u);
  EXPECT_DOUBLE_EQ(e.ttft_ms(), 400);
  EXPECT_DOUBLE_EQ(e.latency_ms(), 400);
  EXPECT_EQ(e.output_tokens(), 6);
  EXPECT_EQ(e.input_tokens(), 21);
  EXPECT_EQ(e.validation(), candor::v1::PASSED);
  EXPECT_THAT(request_body, HasSubstr("\"stream\":true"));
  EXPECT_THAT(request_body, HasSubstr("\"model\":\"llama\""));
  EXPECT_THAT(stack_.metrics.Render(), HasSubstr("candor_probe_success{target=\"chat\"} 1"));
}

TEST_F(ProberTest, TotalTimeRunsToTheEndOfTheStream) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write(kSseHeaders);
        clock_.AdvanceTime(absl::Milliseconds(100));
        conn.Write(Delta("\"{\\\"status\\\":\""));
        clock_.AdvanceTime(absl::Milliseconds(900));
        conn.Write(Delta("\"\\\"ok\\\"}\"") + "data: [DONE]\n\n");
      });
  auto prober = Make(Target(server.url()));
  const candor::v1::InferenceEvent e = Stored(prober->ProbeNow(0));
  EXPECT_EQ(e.status(), candor::v1::OK);
  EXPECT_DOUBLE_EQ(e.latency_ms(), 1000);
  EXPECT_GE(e.ttft_ms(), 100);
  EXPECT_LE(e.ttft_ms(), e.latency_ms());
}

TEST_F(ProberTest, SlowServerIsATimeout) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write(kSseHeaders);
        clock_.AdvanceTime(absl::Seconds(6));  // Past the 5 s timeout, then hang.
        conn.AwaitClientClose();
      });
  auto prober = Make(Target(server.url()));
  const candor::v1::InferenceEvent e = Stored(prober->ProbeNow(0));
  EXPECT_EQ(e.status(), candor::v1::TIMEOUT);
  EXPECT_EQ(e.error_class(), "timeout");
  EXPECT_GE(e.latency_ms(), 5000);
  EXPECT_THAT(stack_.metrics.Render(),
              HasSubstr("candor_probe_failures_total{reason=\"timeout\",target=\"chat\"} 1"));
}

TEST_F(ProberTest, BrokenServerIsAnError) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 14\r\n\r\nengine crashed");
      });
  auto prober = Make(Target(server.url()));
  const candor::v1::InferenceEvent e = Stored(prober->ProbeNow(0));
  EXPECT_EQ(e.status(), candor::v1::ERROR);
  EXPECT_EQ(e.http_status(), 503u);
  EXPECT_EQ(e.error_class(), "http_5xx");
  EXPECT_THAT(e.validation_error(), HasSubstr("engine crashed"));
}

TEST_F(ProberTest, RateLimitedIsRejected) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n");
      });
  auto prober = Make(Target(server.url()));
  EXPECT_EQ(Stored(prober->ProbeNow(0)).status(), candor::v1::REJECTED);
}

TEST_F(ProberTest, MalformedStreamIsAnError) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write(kSseHeaders);
        conn.Write("data: {\"choices\": [ {\"delta\": \n\n");
      });
  auto prober = Make(Target(server.url()));
  const candor::v1::InferenceEvent e = Stored(prober->ProbeNow(0));
  EXPECT_EQ(e.status(), candor::v1::ERROR);
  EXPECT_EQ(e.error_class(), "malformed_stream");
}

TEST_F(ProberTest, WrongAnswerFailsValidationWithoutASystemError) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write(kSseHeaders);
        conn.Write(Delta("\"{\\\"status\\\": \\\"degraded\\\"}\"") + "data: [DONE]\n\n");
      });
  auto prober = Make(Target(server.url()));
  const candor::v1::InferenceEvent e = Stored(prober->ProbeNow(0));
  EXPECT_EQ(e.status(), candor::v1::OK);
  EXPECT_EQ(e.validation(), candor::v1::FAILED);
  EXPECT_THAT(e.validation_error(), HasSubstr("$.status"));
}

TEST_F(ProberTest, RegexExpectation) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write(kSseHeaders);
        conn.Write(Delta("\"Sure! Here is some prose.\"") + "data: [DONE]\n\n");
      });
  ProbeTarget t = Target(server.url());
  t.expect_json_schema.clear();
  t.expect_regex = "^\\{";
  auto prober = Make(t);
  const candor::v1::InferenceEvent e = Stored(prober->ProbeNow(0));
  EXPECT_EQ(e.validation(), candor::v1::FAILED);
  EXPECT_THAT(e.validation_error(), HasSubstr("does not match"));
}

TEST_F(ProberTest, UnreachableServerIsAnError) {
  int port = 0;
  {
    testing::ScriptedHttpServer gone([](const auto&, auto&) {});
    port = gone.port();
  }
  auto prober = Make(Target("http://127.0.0.1:" + std::to_string(port)));
  const candor::v1::InferenceEvent e = Stored(prober->ProbeNow(0));
  EXPECT_EQ(e.status(), candor::v1::ERROR);
  EXPECT_EQ(e.error_class(), "unreachable");
}

TEST_F(ProberTest, RunOnceKeepsTheInterval) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write(kSseHeaders);
        conn.Write(Delta("\"{\\\"status\\\": \\\"ok\\\"}\"") + "data: [DONE]\n\n");
      });
  auto prober = Make(Target(server.url()));
  EXPECT_EQ(prober->RunOnce(), 1);
  EXPECT_EQ(prober->RunOnce(), 0);
  clock_.AdvanceTime(absl::Seconds(59));
  EXPECT_EQ(prober->RunOnce(), 0);
  clock_.AdvanceTime(absl::Seconds(1));
  EXPECT_EQ(prober->RunOnce(), 1);
  EXPECT_EQ(server.requests(), 2);
}

TEST_F(ProberTest, BadTargetsAreRefused) {
  ProbeTarget t = Target("http://127.0.0.1:1");
  t.expect_regex = "(unclosed";
  EXPECT_FALSE(Prober::Create({t}, *stack_.processor, fetcher_, stack_.metrics, clock_).ok());
  t = Target("ftp://x");
  EXPECT_FALSE(Prober::Create({t}, *stack_.processor, fetcher_, stack_.metrics, clock_).ok());
  t = Target("http://127.0.0.1:1");
  t.model.clear();
  EXPECT_FALSE(Prober::Create({t}, *stack_.processor, fetcher_, stack_.metrics, clock_).ok());
}

TEST(JsonSchemaTest, SubsetOfKeywords) {
  const std::string schema = R"({
    "type": "object", "required": ["name", "tags"], "additionalProperties": false,
    "properties": {
      "name": {"type": "string", "minLength": 2, "maxLength": 5},
      "score": {"type": "number", "minimum": 0, "maximum": 1},
      "count": {"type": "integer"},
      "tags": {"type": "array", "items": {"type": "string"}}}})";
  EXPECT_EQ(CheckJsonSchema(schema, R"({"name":"abc","tags":["x"],"score":0.5,"count":3})"), "");
  EXPECT_EQ(CheckJsonSchema(schema, "```json\n{\"name\":\"abc\",\"tags\":[]}\n```"), "");
  EXPECT_THAT(CheckJsonSchema(schema, R"({"name":"abc"})"), HasSubstr("missing property"));
  EXPECT_THAT(CheckJsonSchema(schema, R"({"name":"a","tags":[]})"), HasSubstr("shorter"));
  EXPECT_THAT(CheckJsonSchema(schema, R"({"name":"abc","tags":[1]})"), HasSubstr("$.tags[0]"));
  EXPECT_THAT(CheckJsonSchema(schema, R"({"name":"abc","tags":[],"x":1})"),
              HasSubstr("not allowed"));
  EXPECT_THAT(CheckJsonSchema(schema, R"({"name":"abc","tags":[],"score":2})"), HasSubstr("above"));
  EXPECT_THAT(CheckJsonSchema(schema, R"({"name":"abc","tags":[],"count":1.5})"),
              HasSubstr("expected integer"));
  EXPECT_THAT(CheckJsonSchema(schema, "not json"), HasSubstr("not valid JSON"));
}

}  // namespace
}  // namespace candor::collector
