#include "collector/remote_write.h"

#include <snappy.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/remote.pb.h"

namespace candor::collector {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int64_t kT0 = 1'767'225'600'000;

class RemoteWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("candor_rw_test_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    clock_.SetTime(absl::FromUnixMillis(kT0 + 3600'000));
    store::SeriesStoreOptions o;
    o.path = dir_.string();
    o.wal_sync = false;
    o.max_series_per_metric = 50;
    auto s = store::SeriesStore::Open(o, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    rw_ = std::make_unique<RemoteWriteReceiver>(*store_);
  }
  void TearDown() override {
    rw_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static void AddSeries(prometheus::WriteRequest* req,
                        std::vector<std::pair<std::string, std::string>> labels,
                        std::vector<std::pair<int64_t, double>> samples) {
    auto* ts = req->add_timeseries();
    for (auto& [n, v] : labels) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    }
    for (auto& [t, v] : samples) {
      auto* s = ts->add_samples();
      s->set_timestamp(t);
      s->set_value(v);
    }
  }

  static HttpRequest Post(const std::string& proto_bytes) {
    HttpRequest r;
    r.method = "POST";
    r.path = "/api/v1/write";
    r.headers = {{"content-encoding", "snappy"},
                 {"content-type", "application/x-protobuf"},
                 {"x-prometheus-remote-write-version", "0.1.0"}};
    snappy::Compress(proto_bytes.data(), proto_bytes.size(), &r.body);
    return r;
  }
  HttpResponse Send(const prometheus::WriteRequest& req) {
    return rw_->Handle(Post(req.SerializeAsString()));
  }
  std::vector<store::SeriesData> Select(const std::string& name) {
    auto r = store_->Select({store::LabelMatcher::Equal("__name__", name)}, INT64_MIN, INT64_MAX);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<store::SeriesData>{};
  }

  std::filesystem::path dir_;
  SimulatedClock clock_;
  std::unique_ptr<store::SeriesStore> store_;
  std::unique_ptr<RemoteWriteReceiver> rw_;
};

TEST_F(RemoteWriteTest, StoresSamplesAndReusesRefs) {
  for (int round = 0; round < 3; ++round) {
    prometheus::WriteRequest req;
    for (int s = 0; s < 10; ++s) {
      std::vector<std::pair<int64_t, double>> samples;
      for (int i = 0; i < 5; ++i) {
        const int64_t t = kT0 + (round * 5 + i) * 10'000;
        samples.push_back({t, s * 1000.0 + round * 5 + i});
      }
      AddSeries(&req,
                {{"__name__", "inference_ttft_seconds"},
                 {"instance", absl::StrCat("node-", s)},
                 {"job", "vllm"}},
                samples);
    }
    const HttpResponse r = Send(req);
    ASSERT_EQ(r.status, 204) << r.body;
  }
  auto data = Select("inference_ttft_seconds");
  ASSERT_THAT(data, SizeIs(10));
  EXPECT_EQ(data[3].labels.Get("instance"), "node-3");
  ASSERT_THAT(data[3].samples, SizeIs(15));
  EXPECT_EQ(data[3].samples[14].v, 3014);
  const RemoteWriteStats st = rw_->Stats();
  EXPECT_EQ(st.requests_total, 3u);
  EXPECT_EQ(st.samples_total, 150u);
  EXPECT_EQ(st.series_created_total, 10u);  // Later requests hit the ref cache.
}

TEST_F(RemoteWriteTest, UnsortedLabelsAreTheSameSeries) {
  prometheus::WriteRequest a, b;
  AddSeries(&a, {{"__name__", "m"}, {"a", "1"}, {"b", "2"}}, {{kT0, 1}});
  AddSeries(&b, {{"b", "2"}, {"__name__", "m"}, {"a", "1"}}, {{kT0 + 1000, 2}});
  ASSERT_EQ(Send(a).status, 204);
  ASSERT_EQ(Send(b).status, 204);
  auto data = Select("m");
  ASSERT_THAT(data, SizeIs(1));
  EXPECT_THAT(data[0].samples, SizeIs(2));
}

TEST_F(RemoteWriteTest, MalformedRequestsGetPrecise400s) {
  struct Case {
    std::function<HttpRequest()> make;
    int status;
    const char* message;
  };
  prometheus::WriteRequest good;
  AddSeries(&good, {{"__name__", "m"}}, {{kT0, 1}});
  const std::string good_bytes = good.SerializeAsString();
  const std::vector<Case> cases = {
      {[&] {
         HttpRequest r = Post(good_bytes);
         r.method = "GET";
         return r;
       },
       405, "POST"},
      {[&] {
         HttpRequest r = Post(good_bytes);
         r.headers[1].second = "application/json";
         return r;
       },
       415, "Content-Type"},
      {[&] {
         HttpRequest r = Post(good_bytes);
         r.headers[0].second = "gzip";
         return r;
       },
       415, "Content-Encoding"},
      {[&] {
         HttpRequest r = Post(good_bytes);
         r.body = "not snappy at all \xff\xff\xff\xff\xff";
         return r;
       },
       400, "snappy"},
      {[&] { return Post(good_bytes.substr(0, good_bytes.size() - 2)); }, 400, "protobuf"},
      {[&] { return Post(std::string("\x0a\x05\x0a\x03", 4)); }, 400, "protobuf"},
  };
  for (const Case& c : cases) {
    const HttpResponse r = rw_->Handle(c.make());
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_THAT(r.body, HasSubstr(c.message));
    EXPECT_THAT(r.body, HasSubstr("\"status\":\"error\""));
  }
  EXPECT_EQ(rw_->Stats().bad_requests_total, cases.size());
  EXPECT_THAT(Select("m"), SizeIs(0));
}

TEST_F(RemoteWriteTest, BadSeriesAreSkippedAndNamed) {
  prometheus::WriteRequest req;
  AddSeries(&req, {{"__name__", "ok"}}, {{kT0, 1}});
  AddSeries(&req, {{"__name__", "bad"}, {"0bad", "x"}}, {{kT0, 1}, {kT0 + 1, 2}});
  AddSeries(&req, {{"job", "no-name"}}, {{kT0, 1}});
  AddSeries(&req, {{"__name__", "dup"}, {"a", "1"}, {"a", "2"}}, {{kT0, 1}});
  AddSeries(&req, {{"__name__", "utf"}, {"a", "\xc3\x28"}}, {{kT0, 1}});
  const HttpResponse r = Send(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("invalid label name \\\"0bad\\\""));
  EXPECT_THAT(r.body, HasSubstr("\"accepted\":1"));
  EXPECT_THAT(r.body, HasSubstr("\"rejected\":5"));
  EXPECT_THAT(Select("ok"), SizeIs(1));
  EXPECT_EQ(rw_->Stats().rejected_samples_total, 5u);
}

TEST_F(RemoteWriteTest, RejectedSamplesAndCardinalityLimit) {
  prometheus::WriteRequest req;
  AddSeries(&req, {{"__name__", "m"}}, {{kT0 + 55 * 60000, 1}, {kT0 - 10 * 60000, 1}});  // Too old.
  HttpResponse r = Send(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("too_old"));
  prometheus::WriteRequest many;
  for (int i = 0; i < 60; ++i)
    AddSeries(&many, {{"__name__", "wide"}, {"i", absl::StrCat(i)}}, {{kT0, 1}});
  r = Send(many);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("max_series_per_metric"));
  EXPECT_THAT(r.body, HasSubstr("\"accepted\":50"));
  EXPECT_THAT(Select("wide"), SizeIs(50));
}

TEST_F(RemoteWriteTest, NativeHistogramsAndMetadata) {
  prometheus::WriteRequest req;
  auto* ts = req.add_timeseries();
  auto* l = ts->add_labels();
  l->set_name("__name__");
  l->set_value("lat_seconds");
  auto* h = ts->add_histograms();
  h->set_count_int(6);
  h->set_sum(1.5);
  h->set_schema(3);
  h->set_zero_threshold(1e-128);
  h->set_zero_count_int(1);
  auto* span = h->add_positive_spans();
  span->set_offset(-2);
  span->set_length(2);
  span = h->add_positive_spans();
  span->set_offset(3);
  span->set_length(1);
  h->add_positive_deltas(2);   // index -2: 2
  h->add_positive_deltas(-1);  // index -1: 1
  h->add_positive_deltas(1);   // index 3: 2
  h->set_timestamp(kT0);
  auto* md = req.add_metadata();
  md->set_type(prometheus::MetricMetadata::HISTOGRAM);
  md->set_metric_family_name("lat_seconds");
  md->set_help("request latency");
  const HttpResponse r = Send(req);
  ASSERT_EQ(r.status, 204) << r.body;
  auto data = Select("lat_seconds");
  ASSERT_THAT(data, SizeIs(1));
  ASSERT_THAT(data[0].histograms, SizeIs(1));
  const store::Histogram& got = data[0].histograms[0].h;
  EXPECT_EQ(got.schema(), 3);
  EXPECT_EQ(got.count(), 6);
  EXPECT_EQ(got.zero_count(), 1);
  EXPECT_EQ(got.positive(), (std::vector<store::Bucket>{{-2, 2}, {-1, 1}, {3, 2}}));
  auto metas = store_->Metadata();
  ASSERT_THAT(metas, SizeIs(1));
  EXPECT_EQ(metas[0].second.type, "histogram");
  EXPECT_EQ(metas[0].second.help, "request latency");
  // Spans that do not match the deltas are named.
  h->add_positive_deltas(1);
  const HttpResponse bad = Send(req);
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("spans describe 3 buckets but 4 counts"));
}

TEST_F(RemoteWriteTest, RandomBodiesNeverCrash) {
  std::mt19937_64 rng(9);
  prometheus::WriteRequest req;
  for (int s = 0; s < 5; ++s)
    AddSeries(&req, {{"__name__", "m"}, {"s", absl::StrCat(s)}}, {{kT0, 1}, {kT0 + 1000, 2}});
  const std::string valid = req.SerializeAsString();
  for (int i = 0; i < 3000; ++i) {
    std::string body = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) body[rng() % body.size()] = static_cast<char>(rng());
    if (i % 3 == 0) body.resize(rng() % body.size());
    const HttpResponse r = rw_->Handle(Post(body));
    EXPECT_TRUE(r.status == 204 || r.status == 400) << r.status << " " << r.body;
  }
  for (int i = 0; i < 500; ++i) {
    HttpRequest r = Post(valid);
    for (char& c : r.body) {
      if (rng() % 10 == 0) c = static_cast<char>(rng());
    }
    const HttpResponse resp = rw_->Handle(r);
    EXPECT_TRUE(resp.status == 204 || resp.status == 400 || resp.status == 413) << resp.body;
  }
}

}  // namespace
}  // namespace candor::collector
