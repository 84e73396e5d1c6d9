// Pushes the same remote-write requests to a real Prometheus (started by the test on a free
// loopback port with a temporary data directory) and to candor_store_server, then compares the
// results of rate, sum by, increase and *_over_time queries, instant and range, within
// floating-point tolerance. Skipped only when the `prometheus` binary is not installed.

#include <cmath>
#include <fstream>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/store/rw_client.h"
#include "bench/store/tsgen.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"

namespace candor {
namespace {

using Series = std::map<std::string, std::vector<std::pair<double, double>>>;  // labels -> (t, v)

double ParseValue(const std::string& s) {
  if (s == "NaN") return NAN;
  if (s == "+Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  return std::stod(s);
}

// A query_range or vector reply as labels -> points.
Series Parse(const std::string& body) {
  Series out;
  const nlohmann::json j = nlohmann::json::parse(body);
  EXPECT_EQ(j["status"], "success") << body.substr(0, 300);
  for (const auto& r : j["data"]["result"]) {
    std::string key;
    for (const auto& [k, v] : r["metric"].items()) key += k + "=" + v.get<std::string>() + ",";
    auto& pts = out[key];
    if (r.contains("values")) {
      for (const auto& p : r["values"])
        pts.push_back({p[0].get<double>(), ParseValue(p[1].get<std::string>())});
    } else {
      pts.push_back({r["value"][0].get<double>(), ParseValue(r["value"][1].get<std::string>())});
    }
  }
  return out;
}

class PrometheusCompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prometheus_ = testing::FindOnPath("prometheus");
    if (prometheus_.empty()) {
      GTEST_SKIP() << "the prometheus binary is not on PATH (apt-get install prometheus); "
                      "the comparison with Prometheus cannot run";
    }
  }
  std::string prometheus_;
};

TEST_F(PrometheusCompareTest, SameRequestsSameAnswers) {
  testing::TempDir dir;
  { std::ofstream(dir.path() + "/prom.yml") << "global:\n  scrape_interval: 1h\n"; }
  const int prom_port = testing::PickFreePort();
  auto prom =
      testing::Subprocess::Start({prometheus_, "--config.file=" + dir.path() + "/prom.yml",
                                  "--storage.tsdb.path=" + dir.path() + "/prom",
                                  absl::StrCat("--web.listen-address=127.0.0.1:", prom_port),
                                  "--web.enable-remote-write-receiver", "--log.level=info"});
  ASSERT_TRUE(prom.ok()) << prom.status();
  ASSERT_TRUE((*prom)->WaitForLine("Server is ready to receive web requests").ok())
      << (*prom)->Output();
  auto candor =
      testing::Subprocess::Start({testing::BuildPath("bench/store/candor_store_server"), "--path",
                                  dir.path() + "/candor", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(candor.ok()) << candor.status();
  auto line = (*candor)->WaitForLine("listening on");
  ASSERT_TRUE(line.ok()) << (*candor)->Output();
  int candor_port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(line->substr(line->rfind(':') + 1), &candor_port)) << *line;

  // Two value profiles, 500 series each, one hour at 10 s, ending an hour ago.
  RealClock clock;
  int64_t start = absl::ToUnixMillis(clock.Now()) - 2 * 3'600'000;
  start -= start % 10'000;
  auto p = bench::HttpConnection::Connect(prom_port);
  auto c = bench::HttpConnection::Connect(candor_port);
  ASSERT_TRUE(p.ok() && c.ok());
  for (bench::Profile profile : {bench::Profile::kCounter, bench::Profile::kMs}) {
    bench::DatasetSpec spec;
    spec.profile = profile;
    spec.series = 500;
    spec.samples = 360;
    spec.start_ms = start;
    bench::Generator gen(spec);
    std::vector<bench::Labels> labels;
    for (int i = 0; i < spec.series; ++i) labels.push_back(bench::SeriesLabels(profile, i));
    for (int k = 0; k < spec.samples / 5; ++k) {
      std::vector<bench::SeriesSamples> req(static_cast<size_t>(spec.series));
      for (int i = 0; i < spec.series; ++i)
        req[static_cast<size_t>(i)].labels = &labels[static_cast<size_t>(i)];
      for (int j = 0; j < 5; ++j) {
        const auto& v = gen.Next();
        for (int i = 0; i < spec.series; ++i) {
          req[static_cast<size_t>(i)].samples.push_back(
              {gen.timestamp(), v[static_cast<size_t>(i)]});
        }
      }
      const std::string body = bench::EncodeWriteRequest(req);
      auto rp = bench::PostWrite(p->get(), body);
      auto rc = bench::PostWrite(c->get(), body);
      ASSERT_TRUE(rp.ok() && rc.ok());
      ASSERT_EQ(rp->status / 100, 2) << rp->body;
      ASSERT_EQ(rc->status, 204) << rc->body;
    }
  }

  const int64_t end = start + 359 * 10'000;
  const std::vector<std::string> queries = {
      "rate(inference_requests_total[5m])",
      "sum by (model) (rate(inference_requests_total[5m]))",
      "sum by (model, instance) (increase(inference_prompt_tokens_total[15m]))",
      "max_over_time(inference_ttft_seconds[10m])",
      "avg_over_time(inference_e2e_seconds{stat=\"p99\"}[5m])",
      "max by (instance) (max_over_time(inference_e2e_seconds[10m]))",
      "sum(rate(inference_requests_total[1m])) / sum(rate(inference_prompt_tokens_total[1m]))",
  };
  int compared = 0;
  for (const std::string& q : queries) {
    std::vector<std::string> targets = {
        absl::StrCat("/api/v1/query_range?query=", bench::UrlEncode(q), "&start=", start / 1000,
                     "&end=", end / 1000, "&step=60"),
        absl::StrCat("/api/v1/query?query=", bench::UrlEncode(q), "&time=",
                     absl::StrFormat("%.3f", static_cast<double>(end - 123'456) / 1000.0)),
    };
    for (const std::string& target : targets) {
      auto rp = (*p)->Request("GET", target);
      auto rc = (*c)->Request("GET", target);
      ASSERT_TRUE(rp.ok() && rc.ok());
      ASSERT_EQ(rp->status, 200) << rp->body;
      ASSERT_EQ(rc->status, 200) << rc->body;
      const Series a = Parse(rp->body);
      const Series b = Parse(rc->body);
      ASSERT_FALSE(a.empty()) << q;
      ASSERT_EQ(a.size(), b.size()) << q;
      for (const auto& [key, pts] : a) {
        auto it = b.find(key);
        ASSERT_NE(it, b.end()) << q << ": candor lacks series " << key;
        ASSERT_EQ(pts.size(), it->second.size()) << q << " " << key;
        for (size_t i = 0; i < pts.size(); ++i) {
          ASSERT_DOUBLE_EQ(pts[i].first, it->second[i].first) << q << " " << key;
          const double x = pts[i].second;
          const double y = it->second[i].second;
          ASSERT_NEAR(x, y, 1e-9 * std::max(1.0, std::fabs(x)))
              << q << " " << key << " at " << pts[i].first;
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 10000);
}

}  // namespace
}  // namespace candor
