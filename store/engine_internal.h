// Internals of QueryEngine shared by engine.cc (selectors, aggregation, binary operators) and
// engine_functions.cc (PromQL functions). Expressions evaluate for all steps of a query at
// once: a vector value is a set of series, each with one optional point per step.
//
// Thread safety: an Evaluation belongs to one query on one thread.

#ifndef CANDOR_STORE_ENGINE_INTERNAL_H_
#define CANDOR_STORE_ENGINE_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "store/engine.h"
#include "store/promql.h"
#include "store/series_store.h"

namespace candor::store::engine_internal {

// One series over the steps of a query.
struct StepSeries {
  LabelSet labels;
  std::vector<double> v;                            // Per step.
  std::vector<uint8_t> has;                         // Per step: 1 if a point is present.
  std::vector<std::shared_ptr<const Histogram>> h;  // Empty, or per step (null for floats).
  std::vector<int64_t> ts;                          // Empty, or the sample time per step.

  void Init(size_t n) {
    v.assign(n, 0);
    has.assign(n, 0);
  }
  bool HasHistogram(size_t i) const { return !h.empty() && h[i] != nullptr; }
  void SetHistogram(size_t i, std::shared_ptr<const Histogram> hist) {
    if (h.empty()) h.resize(v.size());
    h[i] = std::move(hist);
    has[i] = 1;
  }
  void SetFloat(size_t i, double value) {
    v[i] = value;
    has[i] = 1;
    if (!h.empty()) h[i] = nullptr;
  }
};

struct Value {
  ValueType type = ValueType::kVector;
  std::vector<double> scalar;        // kScalar: per step.
  std::vector<StepSeries> series;    // kVector.
  std::string str;                   // kString.
  std::vector<MatrixSeries> matrix;  // kMatrix (only a top-level range selector).
};

class Evaluation {
 public:
  Evaluation(const SeriesStore& store, Clock& clock, const EngineOptions& options, int64_t start,
             int64_t end, int64_t step);

  absl::StatusOr<Value> Eval(const Expr& e);

  size_t steps() const { return times_.size(); }
  int64_t time(size_t i) const { return times_[i]; }
  int64_t step_ms() const { return step_; }
  int64_t samples_read() const { return samples_read_; }
  const EngineOptions& options() const { return options_; }
  ReadOptions ReadOptionsFor(const Expr& selector, bool allow_rollup) const;

  // Loads the series of a selector for [mint, maxt] at a resolution chosen for `range_ms`.
  absl::StatusOr<std::vector<SeriesData>> Load(const Expr& selector, int64_t mint, int64_t maxt,
                                               bool allow_rollup);
  // The same, one series at a time (store/series_store.h SelectEach).
  absl::Status LoadEach(const Expr& selector, int64_t mint, int64_t maxt, bool allow_rollup,
                        bool histogram_columns, const std::function<absl::Status(SeriesData&)>& fn);
  absl::Status CheckDeadline() const;

  // Functions (engine_functions.cc).
  absl::StatusOr<Value> EvalCall(const Expr& e);
  absl::StatusOr<Value> EvalRangeFunction(const Expr& e, const Expr& matrix, double param);
  // Evaluates a range function over one series into `o`.
  absl::Status RangeFunctionSeries(const Expr& e, const Expr& m, double param, SeriesData& d,
                                   StepSeries* o);

 private:
  absl::StatusOr<Value> EvalVectorSelector(const Expr& e);
  absl::StatusOr<Value> EvalMatrixSelectorInstant(const Expr& e);
  absl::StatusOr<Value> EvalAggregate(const Expr& e);
  absl::StatusOr<Value> EvalBinary(const Expr& e);

  const SeriesStore& store_;
  Clock& clock_;
  const EngineOptions& options_;
  const int64_t step_;
  std::vector<int64_t> times_;
  int64_t samples_read_ = 0;
  absl::Time deadline_;
  // Per-series scratch of range functions, kept across series so that one query does not
  // allocate (and fault in) a sample-sized buffer per series.
  std::vector<double> corr_scratch_;
  std::vector<long double> prefix_scratch_;
};

// Helpers shared by both files.
LabelSet DropName(const LabelSet& l);
double PromQuantile(double q, std::vector<double>* values);  // Sorts `values`.
// Classic `le` bucket quantile (Prometheus's bucketQuantile): `buckets` are (le, cumulative
// count) pairs in any order.
double BucketQuantile(double q, std::vector<std::pair<double, double>>* buckets);
Value ScalarValue(size_t n, double v);

}  // namespace candor::store::engine_internal

#endif  // CANDOR_STORE_ENGINE_INTERNAL_H_
