// QueryEngine: PromQL evaluation over a SeriesStore, used by the Prometheus-compatible HTTP
// API (exporters/prom_api.h), by /api/v1/health and by detectors that read history back.
//
// The language is the subset Grafana dashboards for inference fleets use:
//   selectors with = != =~ !~, range vectors [d], offset d, number and string literals;
//   rate, increase, irate, delta, idelta, resets, changes;
//   avg|min|max|sum|count|last|quantile|stddev|stdvar|present_over_time;
//   sum, avg, min, max, count, group, stddev, stdvar, topk, bottomk, quantile,
//   count_values — with by (...) / without (...);
//   histogram_quantile (classic `le` buckets and native histograms), histogram_count,
//   histogram_sum, histogram_fraction;
//   binary + - * / % ^ == != > < >= <= (with bool), and, or, unless, with on/ignoring and
//   group_left/group_right;
//   abs, ceil, floor, round, exp, ln, log2, log10, sqrt, sgn, clamp, clamp_min, clamp_max,
//   absent, absent_over_time, label_replace, label_join, scalar, vector, time, timestamp,
//   sort, sort_desc, minute, hour, day_of_week, day_of_month, days_in_month, month, year.
// Subqueries and the @ modifier are rejected with a clear error.
//
// Semantics follow Prometheus 2.42: instant selectors look back `lookback_delta` and honour
// staleness markers; range selectors include both ends of [t-d, t]; rate/increase extrapolate
// as Prometheus's extrapolatedRate does; native-histogram rate() yields histograms whose
// quantiles are within Histogram::RelativeErrorBound(schema) of the exact ones.
//
// Long ranges read rollups automatically: in a range query whose step and range-selector window
// are both at least `rollup_5m_min_step` (or `rollup_1h_min_step`), the *_over_time aggregates,
// rate, increase, delta and last_over_time read 5-minute (1-hour) rollups of days that have
// them; the windows are then (t − d, t] on rollup interval boundaries instead of [t − d, t].
// Instant queries read 5-minute rollups for windows of 6 h or more and 1-hour rollups for 3 d
// or more (edges move by at most 1/72 of the window). Any read falls back to rollups where raw
// data has expired. quantile_over_time reads raw samples while they exist.
//
// Thread safety: a QueryEngine is immutable; any number of queries may run concurrently.

#ifndef CANDOR_STORE_ENGINE_H_
#define CANDOR_STORE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/labels.h"
#include "store/histogram.h"
#include "store/series_store.h"

namespace candor::store {

// One value of a series at one time: a float, or a histogram when `h` is set.
struct Point {
  int64_t t = 0;
  double v = 0;
  std::shared_ptr<const Histogram> h;
};

struct VectorElement {
  LabelSet labels;
  Point point;
};

struct MatrixSeries {
  LabelSet labels;
  std::vector<Point> points;
};

enum class ValueType { kScalar, kVector, kMatrix, kString };
const char* ValueTypeName(ValueType t);  // "scalar", "vector", "matrix", "string"

struct QueryResult {
  ValueType type = ValueType::kVector;
  Point scalar;                       // kScalar.
  std::string string_value;           // kString (t in scalar.t).
  std::vector<VectorElement> vector;  // kVector.
  std::vector<MatrixSeries> matrix;   // kMatrix (range queries, range-vector selectors).
  std::vector<std::string> warnings;
  int64_t samples_read = 0;  // Samples loaded from the store for this query.
};

struct EngineOptions {
  // How far back an instant selector looks for the newest sample. Default: 5 min.
  absl::Duration lookback_delta = absl::Minutes(5);
  // A query that would load more samples fails with ResourceExhaustedError.
  // Default: 50,000,000.
  int64_t max_samples = 50'000'000;
  // A range query whose result would exceed this many points per series fails with
  // InvalidArgumentError (Prometheus's limit). Default: 11000.
  int64_t max_points_per_series = 11000;
  // A query running longer than this (MonotonicNow of the engine's clock) fails with
  // DeadlineExceededError. Default: 2 min.
  absl::Duration timeout = absl::Minutes(2);
  // Minimum step and window for reading 5-minute rollups instead of raw samples.
  // Default: 30 min.
  absl::Duration rollup_5m_min_step = absl::Minutes(30);
  // Minimum step and window for reading 1-hour rollups. Default: 6 h.
  absl::Duration rollup_1h_min_step = absl::Hours(6);
};

class QueryEngine {
 public:
  // `store` and `clock` must outlive the engine.
  QueryEngine(const SeriesStore& store, Clock& clock, EngineOptions options = {});

  // Evaluates `promql` at `t_ms`. Returns InvalidArgumentError for a parse error or bad
  // argument (message in Prometheus's "parse error: ..." form where it applies),
  // ResourceExhaustedError past max_samples, DeadlineExceededError past the timeout, and
  // DataLossError if stored data is corrupt.
  absl::StatusOr<QueryResult> Instant(std::string_view promql, int64_t t_ms) const;

  // Evaluates `promql` at start, start+step, ..., ≤ end; the result is a matrix (or an error
  // as for Instant; InvalidArgumentError if step ≤ 0, end < start, or too many points).
  absl::StatusOr<QueryResult> Range(std::string_view promql, int64_t start_ms, int64_t end_ms,
                                    int64_t step_ms) const;

  // Typed helper for detectors and /api/v1/health: the q-quantile over (end - window, end]
  // of the native-histogram series matching `matchers`, merged per group of `by` labels
  // (all matching series form one group when `by` is empty). Equivalent to
  //   histogram_quantile(q, sum by (by...) (increase(selector[window])))
  // evaluated at end_ms. Errors as for Instant.
  absl::StatusOr<std::vector<VectorElement>> WindowQuantile(
      const std::vector<LabelMatcher>& matchers, double q, int64_t end_ms, absl::Duration window,
      const std::vector<std::string>& by) const;

 private:
  const SeriesStore& store_;
  Clock& clock_;
  const EngineOptions options_;
};

}  // namespace candor::store

#endif  // CANDOR_STORE_ENGINE_H_
