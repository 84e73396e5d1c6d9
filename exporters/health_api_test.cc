#include "exporters/health_api.h"

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/labels.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "store/engine.h"
#include "store/series_store.h"
#include "tests/testing/subprocess.h"

namespace candor::exporters {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767571200);

class HealthApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetTime(kNow);
    store::SeriesStoreOptions o;
    o.path = dir_.path() + "/tsdb";
    o.wal_sync = false;
    auto s = store::SeriesStore::Open(o, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    engine_ = std::make_unique<store::QueryEngine>(*store_, clock_);
  }

  // One value per 10-second window over the last `windows` windows.
  void Write(const std::string& signal, const std::string& entity, std::vector<double> values) {
    const std::string kind = entity.substr(0, entity.find(':'));
    auto ref = store_->GetOrCreateSeries(LabelSet::FromTrusted(
        {{"__name__", "candor_signal_" + signal}, {"entity", entity}, {"kind", kind}}));
    ASSERT_TRUE(ref.ok());
    store::SampleBatch batch;
    for (size_t i = 0; i < values.size(); ++i) {
      batch.Add(*ref, absl::ToUnixMillis(kNow) - static_cast<int64_t>(values.size() - i) * 10'000,
                values[i]);
    }
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  nlohmann::json Get(std::vector<std::pair<std::string, std::string>> params,
                     HealthObjectives objectives = {}, int want_status = 200) {
    HttpRequest r;
    r.method = "GET";
    r.path = "/api/v1/health";
    r.params = std::move(params);
    HttpResponse resp = HealthHandler(*engine_, clock_, objectives)(r);
    EXPECT_EQ(resp.status, want_status) << resp.body;
    return nlohmann::json::parse(resp.body);
  }

  testing::TempDir dir_;
  SimulatedClock clock_;
  std::unique_ptr<store::SeriesStore> store_;
  std::unique_ptr<store::QueryEngine> engine_;
};

TEST_F(HealthApiTest, FiguresPerEntityOverTheWindowWithSloCompliance) {
  Write("requests", "provider:aws", {100, 100, 100});
  Write("requests_ok", "provider:aws", {100, 99, 100});
  Write("errors", "provider:aws", {0, 1, 0});
  Write("latency_p95_ms", "provider:aws", {800, 1200, 900});
  Write("decode_tps_p50", "provider:aws", {60, 40, 55});
  Write("requests", "provider:gcp", {50, 50});
  Write("requests_ok", "provider:gcp", {40, 45});
  Write("errors", "provider:gcp", {5, 2});
  Write("timeouts", "provider:gcp", {5, 3});
  Write("requests", "route:chat", {10});
  Write("requests_ok", "route:chat", {10});

  HealthObjectives objectives;
  objectives.availability = 0.99;
  objectives.latency_p95_ms = 1000;
  const nlohmann::json j = Get({{"window", "5m"}, {"kind", "provider"}}, objectives);
  EXPECT_EQ(j["status"], "success");
  const auto& e = j["data"]["entities"];
  ASSERT_EQ(e.size(), 2u) << j.dump();
  EXPECT_EQ(e[0]["entity"], "provider:aws");
  EXPECT_EQ(e[0]["requests"], 300);
  EXPECT_NEAR(e[0]["availability"].get<double>(), 299.0 / 300, 1e-12);
  EXPECT_NEAR(e[0]["error_rate"].get<double>(), 1.0 / 300, 1e-12);
  EXPECT_EQ(e[0]["latency_p95_ms"], 1200);  // The worst window.
  EXPECT_EQ(e[0]["decode_tps_p50"], 40);    // The slowest window.
  EXPECT_TRUE(e[0]["latency_p99_ms"].is_null());
  EXPECT_EQ(e[0]["slo"]["availability"], true);
  EXPECT_EQ(e[0]["slo"]["latency_p95"], false);
  EXPECT_EQ(e[0]["slo"]["compliant"], false);
  EXPECT_EQ(e[1]["entity"], "provider:gcp");
  EXPECT_NEAR(e[1]["error_rate"].get<double>(), 15.0 / 100, 1e-12);
  EXPECT_NEAR(e[1]["availability"].get<double>(), 0.85, 1e-12);
  EXPECT_EQ(e[1]["slo"]["availability"], false);
  EXPECT_TRUE(e[1]["slo"]["latency_p95"].is_null());

  // One entity; a short window sees only the last window.
  const nlohmann::json one = Get({{"entity", "provider:aws"}, {"window", "10s"}});
  ASSERT_EQ(one["data"]["entities"].size(), 1u);
  EXPECT_EQ(one["data"]["entities"][0]["requests"], 100);
  EXPECT_EQ(one["data"]["entities"][0]["latency_p95_ms"], 900);
  // Every kind without a filter.
  EXPECT_EQ(Get({})["data"]["entities"].size(), 3u);
}

TEST_F(HealthApiTest, BadParametersAreRefusedWithTheReason) {
  const nlohmann::json w = Get({{"window", "forever"}}, {}, 400);
  EXPECT_EQ(w["status"], "error");
  EXPECT_NE(w["error"].get<std::string>().find("window"), std::string::npos);
  const nlohmann::json t = Get({{"time", "yesterday"}}, {}, 400);
  EXPECT_NE(t["error"].get<std::string>().find("time"), std::string::npos);
  // Quotes in an entity name cannot break out of the selector.
  const nlohmann::json q = Get({{"entity", "x\"} or vector(1) or {a=\""}});
  EXPECT_EQ(q["data"]["entities"].size(), 0u);
}

}  // namespace
}  // namespace candor::exporters
