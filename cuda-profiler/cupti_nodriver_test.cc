// libcandor_cupti.so loaded with dlopen against the real libcupti on a machine without a CUDA
// driver: the library must load, return 1 from InitializeInjection, say why it is not
// tracing, and refuse every call cleanly. On a machine with a driver it must trace or say why
// not, and shut down cleanly either way.

#include <dlfcn.h>

#include <string>

#include "cuda-profiler/candor_cupti.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;

template <typename F>
F Symbol(void* handle, const char* name) {
  return reinterpret_cast<F>(dlsym(handle, name));
}

TEST(CuptiNoDriverTest, DegradesCleanlyWithoutADriver) {
  void* lib = dlopen(CANDOR_CUPTI_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  auto initialize = Symbol<int (*)()>(lib, "InitializeInjection");
  auto status = Symbol<int (*)()>(lib, "candor_cupti_status");
  auto message = Symbol<size_t (*)(char*, size_t)>(lib, "candor_cupti_status_message");
  auto push = Symbol<int (*)(const char*)>(lib, "candor_cupti_push_request");
  auto flush = Symbol<int (*)()>(lib, "candor_cupti_flush");
  auto shutdown = Symbol<int (*)()>(lib, "candor_cupti_shutdown");
  ASSERT_NE(initialize, nullptr);
  ASSERT_NE(status, nullptr);
  ASSERT_NE(message, nullptr);
  ASSERT_NE(push, nullptr);
  ASSERT_NE(flush, nullptr);
  ASSERT_NE(shutdown, nullptr);
  // Nothing else leaks out of the library: its candor, protobuf and CUPTI glue stay hidden.
  EXPECT_EQ(dlsym(lib, "_ZN6candor13cuda_profiler12CuptiSession5FlushEv"), nullptr);

  setenv("CANDOR_CUPTI_ENDPOINT", "none", 1);
  EXPECT_EQ(initialize(), 1);
  char buf[512];
  message(buf, sizeof(buf));
  const std::string why = buf;

  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver == nullptr) {
    EXPECT_EQ(status(), CANDOR_CUPTI_UNAVAILABLE) << why;
    EXPECT_THAT(why, HasSubstr("cuptiSubscribe_v2"));
    EXPECT_EQ(push("req-1"), CANDOR_CUPTI_ERR_NOT_ACTIVE);
    EXPECT_EQ(flush(), CANDOR_CUPTI_ERR_NOT_ACTIVE);
  } else {
    dlclose(driver);
    EXPECT_NE(status(), CANDOR_CUPTI_NOT_STARTED) << why;
  }
  EXPECT_EQ(shutdown(), CANDOR_CUPTI_OK);
  EXPECT_NE(message(nullptr, 0), 0u);
}

}  // namespace
