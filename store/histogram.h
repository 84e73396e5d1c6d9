// Exponential-bucket histograms: the distribution type of candor's store, in the schema of
// Prometheus native histograms and OpenTelemetry exponential histograms.
//
// A histogram at schema s (-4..8) has bucket boundaries at powers of γ = 2^(2^-s): positive
// bucket i holds observations in (γ^(i-1), γ^i], negative bucket i holds (-γ^i, -γ^(i-1)],
// and the zero bucket holds [-zero_threshold, zero_threshold]. Schemas nest: schema s-1's
// bucket j is exactly s's buckets 2j-1 and 2j, so any two histograms merge exactly at the
// smaller of their schemas by adding counts.
//
// Quantiles come from the bucket holding the requested rank. `Quantile` returns that bucket's
// harmonic midpoint 2·l·u/(l+u), which is within a relative error of α = (γ-1)/(γ+1) of every
// value in the bucket, hence of the exact quantile of the observations (rank rounding aside):
//   schema 3: 4.33 %   schema 4: 2.17 %   schema 5: 1.08 %   schema 6: 0.54 %   schema 8: 0.14 %
// `RelativeErrorBound(schema)` returns α.
//
// Stored histograms are cumulative (counter-like: counts only grow until a reset), so the
// distribution of the observations in (t1, t2] is H(t2) - H(t1); `Sub` computes that.
//
// Thread safety: a Histogram is a value; const methods are safe from any thread.

#ifndef CANDOR_STORE_HISTOGRAM_H_
#define CANDOR_STORE_HISTOGRAM_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace candor::store {

inline constexpr int32_t kMinSchema = -4;
inline constexpr int32_t kMaxSchema = 8;
// The schema candor's own recorders use: relative error ≤ 1.08 %.
inline constexpr int32_t kDefaultSchema = 5;
// Observations with |v| ≤ this land in the zero bucket by default.
inline constexpr double kDefaultZeroThreshold = 1e-128;

// One populated bucket: its index and its count.
struct Bucket {
  int32_t index = 0;
  double count = 0;
  friend bool operator==(const Bucket&, const Bucket&) = default;
};

class Histogram {
 public:
  // An empty histogram at `schema` (clamped to kMinSchema..kMaxSchema).
  explicit Histogram(int32_t schema = kDefaultSchema,
                     double zero_threshold = kDefaultZeroThreshold);

  // Adds `n` observations of `value`. NaN observations count in `count` and `sum` only (as in
  // Prometheus); ±Inf land in the outermost representable bucket.
  void Observe(double value, double n = 1);

  // Adds `other` into this histogram. If the schemas differ, the finer one is reduced to the
  // coarser first (exactly). The larger zero threshold wins; buckets of the other histogram
  // that fall inside it move into the zero bucket. Merging is exact.
  void Add(const Histogram& other);

  // this - other, bucket by bucket, at the coarser schema: the observations between two
  // samples of a cumulative histogram. Counts may go negative if `other` is not an earlier
  // state of the same counter (callers detect resets with `IsResetFrom` first).
  void Sub(const Histogram& other);

  // Multiplies every count and the sum by `factor` (rates, extrapolation).
  void Scale(double factor);

  // Reduces the schema to `target` (< schema()) by merging buckets; exact.
  void ReduceSchema(int32_t target);

  // Removes buckets whose count is 0 (the canonical form the store keeps).
  void DropEmptyBuckets();

  // True if this histogram cannot be a later state of `earlier`: its count, zero count or any
  // bucket decreased, its schema got finer, or its zero threshold changed. This is
  // Prometheus's counter-reset rule for native histograms.
  bool IsResetFrom(const Histogram& earlier) const;

  // The q-quantile (0 ≤ q ≤ 1) of the observations, within RelativeErrorBound(schema()) of
  // the exact value for observations outside the zero bucket. Returns NaN if the histogram is
  // empty or q is NaN; -Inf for q < 0 and +Inf for q > 1 (as PromQL does).
  double Quantile(double q) const;

  // The fraction of observations ≤ `value`, interpolated within the bucket holding it.
  double FractionBelow(double value) const;

  // The lower and upper boundary of positive bucket `index` at `schema` (negate and swap for
  // negative buckets).
  static std::pair<double, double> BucketBounds(int32_t schema, int32_t index);
  // The index of the positive bucket holding `value` (> 0) at `schema`.
  static int32_t BucketIndex(int32_t schema, double value);
  // α = (γ-1)/(γ+1) for γ = 2^(2^-schema).
  static double RelativeErrorBound(int32_t schema);

  // Checks the invariants a histogram from outside must satisfy: schema in range, finite
  // non-negative counts, sorted unique bucket indices, count ≥ the sum of all buckets.
  // Returns InvalidArgumentError naming the first violation.
  absl::Status Validate() const;

  int32_t schema() const { return schema_; }
  double zero_threshold() const { return zero_threshold_; }
  double zero_count() const { return zero_count_; }
  double count() const { return count_; }
  double sum() const { return sum_; }
  const std::vector<Bucket>& positive() const { return positive_; }
  const std::vector<Bucket>& negative() const { return negative_; }

  // Setters for decoders and adapters (remote write); callers Validate() afterwards when the
  // data comes from outside. Bucket vectors must be sorted by index without duplicates.
  void set_zero_threshold(double t) { zero_threshold_ = t; }
  void set_zero_count(double c) { zero_count_ = c; }
  void set_count(double c) { count_ = c; }
  void set_sum(double s) { sum_ = s; }
  void set_positive(std::vector<Bucket> b) { positive_ = std::move(b); }
  void set_negative(std::vector<Bucket> b) { negative_ = std::move(b); }
  std::vector<Bucket>* mutable_positive() { return &positive_; }
  std::vector<Bucket>* mutable_negative() { return &negative_; }

  // Exact equality of every field (used by tests and by the duplicate-sample check).
  friend bool operator==(const Histogram&, const Histogram&) = default;

 private:
  void WidenZeroBucket(double threshold);

  int32_t schema_;
  double zero_threshold_;
  double zero_count_ = 0;
  double count_ = 0;
  double sum_ = 0;
  std::vector<Bucket> positive_;
  std::vector<Bucket> negative_;
};

}  // namespace candor::store

#endif  // CANDOR_STORE_HISTOGRAM_H_
