#include "cuda-profiler/request_registry.h"

#include <string>

#include "gtest/gtest.h"

namespace candor::cuda_profiler {
namespace {

TEST(RequestRegistryTest, RegistersAndResolves) {
  RequestRegistry r;
  const auto a = r.Register("req-a");
  ASSERT_TRUE(a.ok());
  EXPECT_NE(*a & kRegisteredIdBit, 0u);
  EXPECT_EQ(r.Register("req-a").value(), *a);  // Same id while registered.
  const auto b = r.Register("req-b");
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(r.Resolve(*a), "req-a");
  EXPECT_EQ(r.Resolve(*b), "req-b");
  EXPECT_EQ(r.Resolve(42), "42");  // A numeric id the server pushed itself.
  EXPECT_EQ(r.Resolve(kRegisteredIdBit | 999), std::nullopt);
}

TEST(RequestRegistryTest, RefusesBadIds) {
  RequestRegistry r;
  EXPECT_FALSE(r.Register("").ok());
  EXPECT_FALSE(r.Register(std::string(kMaxRequestIdBytes + 1, 'x')).ok());
  EXPECT_TRUE(r.Register(std::string(kMaxRequestIdBytes, 'x')).ok());
  EXPECT_FALSE(r.Register("bad\xc3").ok());
  EXPECT_FALSE(r.Register("tab\there").ok());
  EXPECT_TRUE(r.Register("caf\xc3\xa9").ok());
}

TEST(RequestRegistryTest, ForgetsTheOldestPastCapacity) {
  RequestRegistry r(2);
  const uint64_t a = *r.Register("a");
  const uint64_t b = *r.Register("b");
  const uint64_t c = *r.Register("c");
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.evicted(), 1u);
  EXPECT_EQ(r.Resolve(a), std::nullopt);
  EXPECT_EQ(r.Resolve(b), "b");
  EXPECT_EQ(r.Resolve(c), "c");
  EXPECT_NE(*r.Register("a"), a);  // Registered anew.
}

}  // namespace
}  // namespace candor::cuda_profiler
