// Status helpers shared by every component: candor returns absl::Status / absl::StatusOr
// values and never throws. CANDOR_CHECK is for impossible states only.

#ifndef CANDOR_COMMON_STATUS_H_
#define CANDOR_COMMON_STATUS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CANDOR_STATUS_CONCAT_INNER_(a, b) a##b
#define CANDOR_STATUS_CONCAT_(a, b) CANDOR_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if not OK.
#define CANDOR_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status candor_status_ = (expr);          \
    if (!candor_status_.ok()) return candor_status_; \
  } while (false)

// `CANDOR_ASSIGN_OR_RETURN(auto x, MakeX());` evaluates an absl::StatusOr<T>; on error returns
// its status, otherwise moves the value into `lhs`.
#define CANDOR_ASSIGN_OR_RETURN(lhs, rexpr) \
  CANDOR_ASSIGN_OR_RETURN_IMPL_(CANDOR_STATUS_CONCAT_(candor_statusor_, __LINE__), lhs, rexpr)

#define CANDOR_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

namespace candor::internal {
// Prints the failed condition with its location to stderr and aborts.
[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);
}  // namespace candor::internal

// Aborts with a message if `cond` is false. Only for states that cannot happen.
#define CANDOR_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::candor::internal::CheckFailed(#cond, __FILE__, __LINE__))

#endif  // CANDOR_COMMON_STATUS_H_
