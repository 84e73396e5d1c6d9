#include "common/status.h"

#include <cstdio>
#include <cstdlib>

namespace candor::internal {

void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "level=fatal msg=\"check failed: %s\" caller=%s:%d\n", condition, file,
               line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace candor::internal
