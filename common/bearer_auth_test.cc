#include "common/bearer_auth.h"

#include "gtest/gtest.h"

namespace candor {
namespace {

TEST(BearerAuthTest, OffWithoutTokens) {
  BearerAuthenticator auth;
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.Authenticate("Bearer anything-at-all-here"), -1);
}

TEST(BearerAuthTest, FindsTheClientOfAValidToken) {
  auto auth = BearerAuthenticator::Create(
      {{"gateway", "0123456789abcdef-gw"}, {"nvml", "fedcba9876543210-nv"}});
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE(auth->enabled());
  EXPECT_EQ(auth->Authenticate("Bearer 0123456789abcdef-gw"), 0);
  EXPECT_EQ(auth->Authenticate("bearer fedcba9876543210-nv"), 1);
  EXPECT_EQ(auth->client(1), "nvml");
}

TEST(BearerAuthTest, RefusesWrongMissingOrMalformedTokens) {
  auto auth = BearerAuthenticator::Create({{"gateway", "0123456789abcdef-gw"}});
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->Authenticate(""), -1);
  EXPECT_EQ(auth->Authenticate("Bearer "), -1);
  EXPECT_EQ(auth->Authenticate("Basic 0123456789abcdef-gw"), -1);
  EXPECT_EQ(auth->Authenticate("Bearer 0123456789abcdef-g"), -1);
  EXPECT_EQ(auth->Authenticate("Bearer 0123456789abcdef-gwX"), -1);
  EXPECT_EQ(auth->Authenticate("0123456789abcdef-gw"), -1);
}

TEST(BearerAuthTest, RejectsBadConfiguration) {
  EXPECT_FALSE(BearerAuthenticator::Create({{"", "0123456789abcdef"}}).ok());
  EXPECT_FALSE(BearerAuthenticator::Create({{"a", "short"}}).ok());
  EXPECT_FALSE(BearerAuthenticator::Create({{"a", "0123456789 abcdef"}}).ok());
  EXPECT_FALSE(
      BearerAuthenticator::Create({{"a", "0123456789abcdef"}, {"a", "0123456789abcdeX"}}).ok());
  EXPECT_FALSE(
      BearerAuthenticator::Create({{"a", "0123456789abcdef"}, {"b", "0123456789abcdef"}}).ok());
}

TEST(BearerAuthTest, HttpWrapperAnswers401AndNeverCallsTheHandler) {
  auto auth = BearerAuthenticator::Create({{"grafana", "0123456789abcdef-gf"}});
  ASSERT_TRUE(auth.ok());
  int calls = 0;
  HttpHandler h = RequireBearer(
      *auth,
      [&](const HttpRequest&) {
        ++calls;
        return HttpResponse::Text(200, "ok");
      },
      nullptr);
  HttpRequest req;
  EXPECT_EQ(h(req).status, 401);
  req.headers.emplace_back("authorization", "Bearer nope-nope-nope-nope");
  EXPECT_EQ(h(req).status, 401);
  EXPECT_EQ(calls, 0);
  req.headers.back().second = "Bearer 0123456789abcdef-gf";
  EXPECT_EQ(h(req).status, 200);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace candor
