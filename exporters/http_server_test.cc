#include "exporters/http_server.h"

#include "exporters/prometheus_metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"

namespace candor::exporters {
namespace {

using ::testing::HasSubstr;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartWith(std::vector<HttpRoute> routes, HttpServerOptions options = {}) {
    options.listen_address = "127.0.0.1:0";
    auto server = HttpServer::Start(options, std::move(routes), &metrics_, clock_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  RealClock clock_;
  PrometheusMetrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, RoutesExactAndPrefixAndDecodesParams) {
  StartWith({
      {"GET", "/a", false,
       [](const HttpRequest& r) {
         return HttpResponse::Text(200, "a:" + r.Param("x") + "," + r.Param("y"));
       }},
      {"", "/api/v1/label/", true,
       [](const HttpRequest& r) { return HttpResponse::Text(200, "label:" + r.path); }},
  });
  auto a = testing::HttpGet(server_->port(), "/a?x=1%202&y=a+b");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "a:1 2,a b");
  auto l = testing::HttpGet(server_->port(), "/api/v1/label/model/values");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->body, "label:/api/v1/label/model/values");
  auto missing = testing::HttpGet(server_->port(), "/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr("\"status\":\"error\""));
}

TEST_F(HttpServerTest, WrongMethodIs405AndFormBodyIsParsed) {
  StartWith({{"POST", "/form", false,
              [](const HttpRequest& r) { return HttpResponse::Text(200, r.Param("query")); }}});
  auto get = testing::HttpGet(server_->port(), "/form");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 405);
  auto post =
      testing::HttpRequestTo(server_->port(), "POST", "/form", "query=up%7Bjob%3D%22a%22%7D",
                             {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, "up{job=\"a\"}");
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 10;
  StartWith({{"POST", "/w", false, [](const HttpRequest&) { return HttpResponse::Text(200, ""); }}},
            options);
  auto r = testing::HttpRequestTo(server_->port(), "POST", "/w", std::string(100, 'x'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr("exceeds the limit"));
}

TEST_F(HttpServerTest, CountsRequestsPerHandler) {
  StartWith({{"GET", "/x", false, [](const HttpRequest&) { return HttpResponse::Text(500, ""); }}});
  ASSERT_TRUE(testing::HttpGet(server_->port(), "/x").ok());
  EXPECT_THAT(metrics_.Render(),
              HasSubstr("candor_http_requests_total{code=\"5xx\",handler=\"/x\"} 1"));
}

TEST(HttpServerStartTest, RejectsBadAddressesAndPortsInUse) {
  RealClock clock;
  HttpServerOptions options;
  options.listen_address = "nonsense";
  EXPECT_FALSE(HttpServer::Start(options, {}, nullptr, clock).ok());
  options.listen_address = "127.0.0.1:0";
  auto first = HttpServer::Start(options, {}, nullptr, clock);
  ASSERT_TRUE(first.ok());
  options.listen_address = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = HttpServer::Start(options, {}, nullptr, clock);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST(ParseFormEncodedTest, DecodesRepeatedAndEscapedPairs) {
  auto pairs = ParseFormEncoded("match%5B%5D=a&match%5B%5D=b&empty=&flag");
  ASSERT_EQ(pairs.size(), 4u);
  EXPECT_EQ(pairs[0].first, "match[]");
  EXPECT_EQ(pairs[1].second, "b");
  EXPECT_EQ(pairs[2].second, "");
  EXPECT_EQ(pairs[3].first, "flag");
}

}  // namespace
}  // namespace candor::exporters
