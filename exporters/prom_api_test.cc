#include "exporters/prom_api.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::exporters {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'767'225'600'000;

class PromApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("candor_promapi_test_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    clock_.SetTime(absl::FromUnixMillis(kT0 + 600'000));
    store::SeriesStoreOptions o;
    o.path = dir_.string();
    o.wal_sync = false;
    store_ = *store::SeriesStore::Open(o, clock_);
    engine_ = std::make_unique<store::QueryEngine>(*store_, clock_);
    api_ = std::make_unique<PromApi>(*store_, *engine_, clock_);
    store::SampleBatch b;
    for (int inst = 0; inst < 2; ++inst) {
      auto ref = store_->GetOrCreateSeries(LabelSet::FromTrusted(
          {{"__name__", "req_total"}, {"job", "vllm"}, {"instance", absl::StrCat("n", inst)}}));
      for (int i = 0; i <= 60; ++i) b.Add(*ref, kT0 + i * 10'000, (inst + 1) * 10.0 * i);
    }
    auto h = store_->GetOrCreateSeries(LabelSet::FromTrusted({{"__name__", "lat"}}));
    store::Histogram cum(0);
    for (int i = 0; i <= 60; ++i) {
      cum.Observe(1.5);
      cum.Observe(-3);
      cum.Observe(0);
      b.AddHistogram(*h, kT0 + i * 10'000, cum);
    }
    ASSERT_TRUE(store_->Commit(b).ok());
    ASSERT_TRUE(store_->SetMetadata("req_total", {"counter", "Requests.", ""}).ok());
  }
  void TearDown() override {
    api_.reset();
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  static HttpRequest Req(std::string method, std::string path,
                         std::vector<std::pair<std::string, std::string>> params) {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.params = std::move(params);
    return r;
  }

  std::filesystem::path dir_;
  SimulatedClock clock_;
  std::unique_ptr<store::SeriesStore> store_;
  std::unique_ptr<store::QueryEngine> engine_;
  std::unique_ptr<PromApi> api_;
};

TEST(PromApiFormatTest, ValuesAndTimestampsLikePrometheus) {
  EXPECT_EQ(FormatPromValue(1), "1");
  EXPECT_EQ(FormatPromValue(0.1), "0.1");
  EXPECT_EQ(FormatPromValue(-2.5e-7), "-0.00000025");
  EXPECT_EQ(FormatPromValue(1e21), "1000000000000000000000");
  EXPECT_EQ(FormatPromValue(NAN), "NaN");
  EXPECT_EQ(FormatPromValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatPromValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatPromTimestamp(1435781451781), "1435781451.781");
  EXPECT_EQ(FormatPromTimestamp(1435781451000), "1435781451");
  EXPECT_EQ(FormatPromTimestamp(1050), "1.050");
  EXPECT_EQ(FormatPromTimestamp(1005), "1.005");
  EXPECT_EQ(*ParsePromTime("1435781451.781"), 1435781451781);
  EXPECT_EQ(*ParsePromTime("2015-07-01T20:10:51.781Z"), 1435781451781);
  EXPECT_FALSE(ParsePromTime("yesterday").ok());
}

TEST_F(PromApiTest, InstantQueryShapes) {
  HttpResponse r = api_->Query(Req("GET", "/api/v1/query", {{"query", "1+1"}, {"time", "1000"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1000,\"2\"]}}");
  r = api_->Query(Req("POST", "/api/v1/query",
                      {{"query", "sum by (job) (rate(req_total[1m]))"},
                       {"time", absl::StrCat((kT0 + 300'000) / 1000)}}));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            absl::StrCat("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
                         "[{\"metric\":{\"job\":\"vllm\"},\"value\":[",
                         (kT0 + 300'000) / 1000, ",\"3\"]}]}}"));
  r = api_->Query(Req("GET", "/api/v1/query", {{"query", "\"hi\""}, {"time", "10.5"}}));
  EXPECT_EQ(
      r.body,
      "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[10.500,\"hi\"]}}");
  r = api_->Query(Req("GET", "/api/v1/query",
                      {{"query", "lat"}, {"time", absl::StrCat((kT0 + 600'000) / 1000)}}));
  EXPECT_THAT(r.body, HasSubstr("\"histogram\":["));
  EXPECT_THAT(r.body, HasSubstr("\"count\":\"183\""));
  EXPECT_THAT(r.body, HasSubstr("[1,\"-4\",\"-2\",\"61\"]"));
  EXPECT_THAT(r.body, HasSubstr("[3,\"-0"));
  EXPECT_THAT(r.body, HasSubstr("[0,\"1\",\"2\",\"61\"]"));
}

TEST_F(PromApiTest, RangeQueryMatrix) {
  const HttpResponse r = api_->QueryRange(Req("GET", "/api/v1/query_range",
                                              {{"query", "req_total{instance=\"n0\"}"},
                                               {"start", absl::StrCat(kT0 / 1000)},
                                               {"end", absl::StrCat(kT0 / 1000 + 20)},
                                               {"step", "10s"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      absl::StrCat("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
                   "[{\"metric\":{\"__name__\":\"req_total\",\"instance\":\"n0\",\"job\":\"vllm\"},"
                   "\"values\":[[",
                   kT0 / 1000, ",\"0\"],[", kT0 / 1000 + 10, ",\"10\"],[", kT0 / 1000 + 20,
                   ",\"20\"]]}]}}"));
}

TEST_F(PromApiTest, ErrorsUsePrometheusShapes) {
  HttpResponse r = api_->Query(Req("GET", "/api/v1/query", {{"query", "sum(("}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
                                "\"invalid parameter \\\"query\\\": 1:"));
  r = api_->Query(Req("GET", "/api/v1/query", {}));
  EXPECT_EQ(r.status, 400);
  r = api_->Query(Req("GET", "/api/v1/query", {{"query", "up"}, {"time", "noon"}}));
  EXPECT_THAT(r.body, HasSubstr("invalid parameter \\\"time\\\""));
  r = api_->Query(Req("GET", "/api/v1/query", {{"query", "req_total / on(job) req_total"}}));
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(r.body, HasSubstr("\"errorType\":\"execution\""));
  r = api_->QueryRange(Req("GET", "/api/v1/query_range",
                           {{"query", "up"}, {"start", "0"}, {"end", "100000"}, {"step", "1"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("11,000 points"));
  r = api_->QueryRange(Req("GET", "/api/v1/query_range",
                           {{"query", "up"}, {"start", "10"}, {"end", "5"}, {"step", "1"}}));
  EXPECT_EQ(r.status, 400);
  r = api_->Series(Req("GET", "/api/v1/series", {}));
  EXPECT_THAT(r.body, HasSubstr("no match[] parameter provided"));
  r = api_->LabelValues(Req("GET", "/api/v1/label/0bad/values", {}));
  EXPECT_EQ(r.status, 400);
}

TEST_F(PromApiTest, LabelsSeriesMetadataBuildinfo) {
  HttpResponse r = api_->Labels(Req("GET", "/api/v1/labels", {}));
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"__name__\",\"instance\",\"job\"]}");
  r = api_->Labels(Req("GET", "/api/v1/labels", {{"match[]", "lat"}}));
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"__name__\"]}");
  r = api_->LabelValues(Req("GET", "/api/v1/label/__name__/values", {}));
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"lat\",\"req_total\"]}");
  r = api_->LabelValues(
      Req("GET", "/api/v1/label/instance/values",
          {{"start", absl::StrCat(kT0 / 1000)}, {"end", absl::StrCat(kT0 / 1000 + 60)}}));
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"n0\",\"n1\"]}");
  r = api_->Series(
      Req("POST", "/api/v1/series", {{"match[]", "{__name__=~\"req.*\"}"}, {"match[]", "lat"}}));
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[{\"__name__\":\"lat\"},"
            "{\"__name__\":\"req_total\",\"instance\":\"n0\",\"job\":\"vllm\"},"
            "{\"__name__\":\"req_total\",\"instance\":\"n1\",\"job\":\"vllm\"}]}");
  r = api_->Metadata(Req("GET", "/api/v1/metadata", {}));
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"req_total\":[{\"type\":\"counter\",\"help\":"
            "\"Requests.\",\"unit\":\"\"}]}}");
  r = api_->BuildInfo(Req("GET", "/api/v1/status/buildinfo", {}));
  EXPECT_THAT(r.body, HasSubstr("\"version\":\"2.42.0-candor\""));
  EXPECT_EQ(api_->Routes().size(), 11u);
}

}  // namespace
}  // namespace candor::exporters
