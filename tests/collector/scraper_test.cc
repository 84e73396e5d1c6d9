#include "collector/scraper.h"

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/collector_fixture.h"
#include "tests/testing/scripted_http_server.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  std::ifstream in(testing::SharedPath("fixtures/" + name));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Page(const std::string& body, int status = 200) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class ScraperTest : public ::testing::Test {
 protected:
  std::unique_ptr<Scraper> Make(std::vector<ScrapeTarget> targets, size_t max_page = 16u << 20) {
    ScraperOptions o;
    o.targets = std::move(targets);
    o.max_page_bytes = max_page;
    auto s = Scraper::Create(o, *stack_.processor, fetcher_, stack_.metrics, clock_);
    EXPECT_TRUE(s.ok()) << s.status();
    return *std::move(s);
  }
  std::vector<candor::v1::IngestItem> Stored(uint8_t kind) {
    store::RecordQuery q;
    q.kind = kind;
    q.limit = 1000;
    std::vector<candor::v1::IngestItem> out;
    absl::StatusOr<std::vector<store::StoredRecord>> records = stack_.log->Query(q);
    EXPECT_TRUE(records.ok());
    if (!records.ok()) return out;
    for (const store::StoredRecord& r : *records) {
      candor::v1::IngestItem item;
      EXPECT_TRUE(item.ParseFromString(r.payload));
      out.push_back(item);
    }
    return out;
  }

  SimulatedClock clock_{absl::FromUnixSeconds(1'798'761'600)};
  testing::IngestStack stack_{clock_};
  HttpFetcher fetcher_{clock_};
};

TEST_F(ScraperTest, VllmPageBecomesAReplicaSampleThroughTheProcessor) {
  std::string headers;
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest& req, testing::ScriptedConnection& conn) {
        headers = req.headers;
        conn.Write(Page(Fixture("vllm_metrics.txt")));
      });
  ScrapeTarget t;
  t.url = server.url() + "/metrics";
  t.provider = "aws";
  t.replica = "llama-0";
  auto scraper = Make({t});
  EXPECT_EQ(scraper->RunOnce(), 1);
  auto items = Stored(candor::v1::IngestItem::kReplicaSample);
  ASSERT_EQ(items.size(), 1u);
  const auto& r = items[0].replica_sample();
  EXPECT_EQ(r.engine(), "vllm");
  EXPECT_EQ(r.replica(), "llama-0");
  EXPECT_EQ(r.node(), "127.0.0.1");
  EXPECT_EQ(r.running_requests(), 23);
  EXPECT_EQ(r.timestamp().seconds(), 1'798'761'600);
  EXPECT_THAT(headers, HasSubstr("text/plain;version=0.0.4"));
  EXPECT_THAT(stack_.metrics.Render(), HasSubstr("candor_scrape_up{target=\"" + t.url + "\"} 1"));
}

TEST_F(ScraperTest, DcgmPageGivesOneGpuSamplePerGpu) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write(Page(Fixture("dcgm_exporter_metrics.txt")));
      });
  ScrapeTarget t;
  t.url = server.url() + "/metrics";
  t.engine = "dcgm";
  auto scraper = Make({t});
  ASSERT_TRUE(scraper->ScrapeNow(0).ok());
  auto gpus = Stored(candor::v1::IngestItem::kGpuSample);
  ASSERT_EQ(gpus.size(), 2u);
  for (const auto& g : gpus) EXPECT_EQ(g.gpu_sample().node(), "gpu-node-17");
}

TEST_F(ScraperTest, FailuresProduceNothingAndAreCounted) {
  int mode = 0;
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        switch (mode) {
          case 0:
            conn.Write(Page("not found", 404));
            break;
          case 1:
            conn.Write(Page("vllm:num_requests_running{model_name=\"m\" 3\n"));
            break;
          case 2:
            conn.Write(Page(std::string(4096, '#') + "\n"));
            break;
          case 3:
            conn.Write(Page("some_other_metric 1\n"));
            break;
          default:
            conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nvllm:num_req");
            clock_.AdvanceTime(absl::Seconds(20));
            conn.AwaitClientClose();
        }
      });
  ScrapeTarget t;
  t.name = "flaky";
  t.url = server.url() + "/metrics";
  auto scraper = Make({t}, /*max_page=*/1024);
  EXPECT_THAT(scraper->ScrapeNow(0).status().message(), HasSubstr("HTTP 404"));
  mode = 1;
  EXPECT_THAT(scraper->ScrapeNow(0).status().message(), HasSubstr("line 1"));
  mode = 2;
  EXPECT_EQ(scraper->ScrapeNow(0).status().code(), absl::StatusCode::kResourceExhausted);
  mode = 3;
  EXPECT_THAT(scraper->ScrapeNow(0).status().message(), HasSubstr("no metrics of a known engine"));
  mode = 4;
  EXPECT_EQ(scraper->ScrapeNow(0).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(Stored(candor::v1::IngestItem::kReplicaSample).empty());
  const std::string metrics = stack_.metrics.Render();
  EXPECT_THAT(metrics, HasSubstr("candor_scrape_failures_total{target=\"flaky\"} 5"));
  EXPECT_THAT(metrics, HasSubstr("candor_scrape_up{target=\"flaky\"} 0"));
}

TEST_F(ScraperTest, TargetsKeepTheirIntervalOnTheClock) {
  testing::ScriptedHttpServer server(
      [&](const testing::ScriptedRequest&, testing::ScriptedConnection& conn) {
        conn.Write(Page(Fixture("tgi_metrics.txt")));
      });
  ScrapeTarget t;
  t.url = server.url() + "/metrics";
  t.interval = absl::Seconds(15);
  auto scraper = Make({t});
  EXPECT_EQ(scraper->RunOnce(), 1);
  clock_.AdvanceTime(absl::Seconds(14));
  EXPECT_EQ(scraper->RunOnce(), 0);
  clock_.AdvanceTime(absl::Seconds(1));
  EXPECT_EQ(scraper->RunOnce(), 1);
  EXPECT_EQ(Stored(candor::v1::IngestItem::kReplicaSample).size(), 2u);
}

TEST_F(ScraperTest, BadTargetsAreRefused) {
  ScraperOptions o;
  o.targets.push_back({});
  o.targets.back().url = "not a url";
  EXPECT_FALSE(Scraper::Create(o, *stack_.processor, fetcher_, stack_.metrics, clock_).ok());
  o.targets.back().url = "http://127.0.0.1:9/metrics";
  o.targets.back().engine = "llama.cpp";
  EXPECT_FALSE(Scraper::Create(o, *stack_.processor, fetcher_, stack_.metrics, clock_).ok());
}

}  // namespace
}  // namespace candor::collector
