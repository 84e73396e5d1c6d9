#include "collector/prom_text.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(testing::SharedPath("fixtures/" + name));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(PromTextTest, ParsesNamesLabelsEscapesAndSpecialValues) {
  auto samples = ParsePromText(
      "# HELP vllm:x Help with \\\\ and \\n.\n"
      "# TYPE vllm:x counter\n"
      "vllm:x_total{model_name=\"org/m\",path=\"a\\\\b\\\"c\\nd\"} 1.5e3\n"
      "\n"
      "untyped_metric +Inf\n"
      "neg{a=\"1\",} -Inf 1700000000000\n"
      "nan_metric NaN\n"
      "   spaced { a = \"x\" }   7\n");
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 5u);
  const PromSample& x = (*samples)[0];
  EXPECT_EQ(x.name, "vllm:x_total");
  EXPECT_EQ(x.type, PromType::kCounter);
  EXPECT_EQ(x.value, 1500);
  EXPECT_EQ(x.Label("model_name"), "org/m");
  EXPECT_EQ(x.Label("path"), "a\\b\"c\nd");
  EXPECT_TRUE(std::isinf((*samples)[1].value));
  EXPECT_EQ((*samples)[1].type, PromType::kUntyped);
  EXPECT_LT((*samples)[2].value, 0);
  EXPECT_EQ((*samples)[2].timestamp_ms, 1700000000000);
  EXPECT_TRUE(std::isnan((*samples)[3].value));
  EXPECT_EQ((*samples)[4].Label("a"), "x");
  EXPECT_EQ((*samples)[4].value, 7);
}

TEST(PromTextTest, SuffixesFindTheirFamilyType) {
  auto samples = ParsePromText(
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 3\nh_created 17\n"
      "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n");
  ASSERT_TRUE(samples.ok());
  for (const PromSample& s : *samples) {
    EXPECT_TRUE(s.type == PromType::kHistogram || s.type == PromType::kSummary) << s.name;
  }
}

TEST(PromTextTest, OpenMetricsEofAndExemplars) {
  auto samples =
      ParsePromText("# TYPE a counter\na_total 3 # {trace_id=\"abc\"} 1.0 1700000000.5\n# EOF\n");
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_FALSE(ParsePromText("# EOF\nafter 1\n").ok());
}

TEST(PromTextTest, StreamsAcrossArbitraryChunkBoundaries) {
  const std::string page = ReadFixture("vllm_metrics.txt");
  ASSERT_FALSE(page.empty());
  auto whole = ParsePromText(page);
  ASSERT_TRUE(whole.ok()) << whole.status();
  for (size_t chunk : {1u, 7u, 4096u}) {
    size_t n = 0;
    PromTextParser parser({}, [&](const PromSample& s) {
      ASSERT_LT(n, whole->size());
      EXPECT_EQ(s.name, (*whole)[n].name);
      ++n;
    });
    for (size_t i = 0; i < page.size(); i += chunk) {
      ASSERT_TRUE(parser.Feed(std::string_view(page).substr(i, chunk)).ok());
    }
    ASSERT_TRUE(parser.Finish().ok());
    EXPECT_EQ(n, whole->size());
  }
}

TEST(PromTextTest, EveryFixtureParses) {
  for (const char* name : {"vllm_metrics.txt", "sglang_metrics.txt", "tgi_metrics.txt",
                           "triton_metrics.txt", "dcgm_exporter_metrics.txt"}) {
    auto samples = ParsePromText(ReadFixture(name));
    ASSERT_TRUE(samples.ok()) << name << ": " << samples.status();
    EXPECT_GT(samples->size(), 30u) << name;
  }
}

TEST(PromTextTest, MalformedLinesNameTheLineAndReason) {
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {"ok 1\n9bad 1\n", "line 2: a sample must start with a metric name"},
           {"m{a=\"x} 1\n", "unterminated value"},
           {"m{a=x} 1\n", "expected a quoted value"},
           {"m{a=\"\\q\"} 1\n", "invalid escape"},
           {"m{a=\"1\",a=\"2\"} 1\n", "duplicate label"},
           {"m{a=\"1\" 1\n", "line 1"},
           {"m one\n", "invalid sample value"},
           {"m 1 2 3\n", "unexpected text after the value"},
           {"m 1 soon\n", "invalid timestamp"},
           {"# TYPE m bogus\n", "unknown metric type"},
           {"m\n", "invalid sample value"},
       }) {
    auto r = ParsePromText(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_THAT(r.status().message(), HasSubstr(c.error)) << c.text;
  }
}

TEST(PromTextTest, HostileSizesAreBounded) {
  PromParserOptions o;
  o.max_line_bytes = 64;
  o.max_labels = 2;
  o.max_samples = 3;
  EXPECT_THAT(ParsePromText(std::string(100, 'a') + " 1\n", o).status().message(),
              HasSubstr("longer than 64"));
  EXPECT_THAT(ParsePromText("m{a=\"1\",b=\"2\",c=\"3\"} 1\n", o).status().message(),
              HasSubstr("more than 2 labels"));
  EXPECT_THAT(ParsePromText("a 1\nb 1\nc 1\nd 1\n", o).status().message(),
              HasSubstr("more than 3 samples"));
  // An error sticks: later input is refused.
  PromTextParser p(o, [](const PromSample&) {});
  EXPECT_FALSE(p.Feed("bad line\n").ok());
  EXPECT_FALSE(p.Feed("a 1\n").ok());
}

}  // namespace
}  // namespace candor::collector
