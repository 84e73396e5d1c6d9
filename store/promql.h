// PromQL syntax: the expression tree and its parser (the subset listed in store/engine.h).
// Parse errors are InvalidArgumentError with Prometheus's wording where it has one
// ("parse error: unexpected ...") and the byte position.
//
// Thread safety: a parsed Expr is immutable and may be shared across threads.

#ifndef CANDOR_STORE_PROMQL_H_
#define CANDOR_STORE_PROMQL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/engine.h"
#include "store/matcher.h"

namespace candor::store {

enum class ExprKind {
  kNumber,
  kString,
  kVectorSelector,
  kMatrixSelector,
  kCall,
  kAggregate,
  kBinary,
  kUnaryMinus,
};

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEq,
  kNe,
  kGt,
  kLt,
  kGe,
  kLe,
  kAnd,
  kOr,
  kUnless,
};

enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  bool on = false;                   // on(...) rather than ignoring(...).
  std::vector<std::string> labels;   // The on/ignoring list.
  std::vector<std::string> include;  // group_left/group_right extra labels.
};

struct Expr {
  ExprKind kind = ExprKind::kNumber;
  ValueType type = ValueType::kScalar;  // The static type of the expression's value.

  double number = 0;  // kNumber.
  std::string text;   // kString; the function or aggregation name for kCall / kAggregate.

  // Selectors.
  std::vector<LabelMatcher> matchers;
  int64_t range_ms = 0;   // kMatrixSelector.
  int64_t offset_ms = 0;  // offset modifier (selectors only).

  // kCall args; kAggregate: args[0] is the vector, args[1] the parameter (topk, quantile, …).
  std::vector<std::unique_ptr<Expr>> args;
  bool without = false;
  std::vector<std::string> grouping;

  // kBinary (lhs = args[0], rhs = args[1]); kUnaryMinus (args[0]).
  BinaryOp op = BinaryOp::kAdd;
  bool return_bool = false;
  VectorMatching matching;

  // Prometheus-style text of the expression (for errors and absent()).
  std::string ToString() const;
};

using ExprPtr = std::unique_ptr<Expr>;

// Parses a PromQL expression. InvalidArgumentError on any syntax or type error.
absl::StatusOr<ExprPtr> ParsePromQL(std::string_view query);

// Parses a Prometheus duration ("5m", "1h30m", "250ms") or a float number of seconds ("1.5")
// into milliseconds. InvalidArgumentError if it is neither.
absl::StatusOr<int64_t> ParseDurationMs(std::string_view text);

// Parses a series selector alone (the match[] parameter of the HTTP API).
absl::StatusOr<std::vector<LabelMatcher>> ParseSeriesSelector(std::string_view text);

}  // namespace candor::store

#endif  // CANDOR_STORE_PROMQL_H_
