// Window drift tests: does the current window of a signal come from the same distribution as
// a reference window? Used for input drift (prompt lengths, tenants, truncation) and output
// drift (output lengths, validation outcomes, quality scores).
//
// The test is chosen by Evidently's rule (v0.7, `_get_default_stattest`), because a large
// reference makes p-values flag trivially small shifts:
// - numeric, > 5 unique values: two-sample Kolmogorov-Smirnov (drift if p <= 0.05) when the
//   reference has <= 1000 points, otherwise the Wasserstein-1 distance divided by the
//   reference's standard deviation (floored at 0.001; drift if >= 0.1);
// - numeric with <= 5 unique values, or categorical with > 2 categories: chi-squared goodness
//   of fit with expected = reference counts * n_cur / n_ref (drift if p < 0.05) up to 1000
//   reference points, Jensen-Shannon distance (natural log; drift if >= 0.1) above;
// - binary (<= 2 categories): two-proportion Z test (drift if p < 0.05) up to 1000, then
//   Jensen-Shannon.
// PSI is always reported as a magnitude (< 0.1 stable, 0.1-0.25 moderate, > 0.25 major), never
// as the decision.
//
// Thread safety: pure functions; safe from any thread.

#ifndef CANDOR_DETECTORS_WINDOW_DRIFT_H_
#define CANDOR_DETECTORS_WINDOW_DRIFT_H_

#include <cstddef>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "detectors/finding.h"

namespace candor::detectors {

enum class DriftTest : unsigned char {
  kKolmogorovSmirnov,
  kWasserstein,
  kChiSquared,
  kJensenShannon,
  kZProportion,
};
// "ks", "wasserstein", "chi_squared", "jensen_shannon", "z_proportion".
std::string_view DriftTestName(DriftTest t);

struct DriftOptions {
  // Reference sizes above this use distances instead of p-values. Default: 1000.
  size_t size_switch = 1000;
  // p-value threshold for KS (drift if p <= it), chi-squared and Z (drift if p < it).
  // Default: 0.05.
  double p_threshold = 0.05;
  // Normed Wasserstein threshold (drift if >=). Default: 0.1.
  double wasserstein_threshold = 0.1;
  // Jensen-Shannon distance threshold (drift if >=). Default: 0.1.
  double jensen_shannon_threshold = 0.1;
  // Floor on the reference standard deviation for the normed Wasserstein. Default: 0.001.
  double min_std = 0.001;
  // Numeric columns with at most this many unique values are treated as categorical.
  // Default: 5.
  size_t max_categorical_unique = 5;
  // Fewest points in each window for a verdict, >= 1. Default: 5.
  size_t min_samples = 5;
};
absl::Status Validate(const DriftOptions& options);

struct DriftResult {
  DriftTest test = DriftTest::kKolmogorovSmirnov;
  double statistic = 0.0;  // KS D, normed Wasserstein, chi-squared, JS distance, or |z|.
  double p_value = 1.0;    // For KS, chi-squared and Z; NaN for the distances.
  double threshold = 0.0;  // What `statistic` or `p_value` is compared with.
  bool drifted = false;
  double psi = 0.0;  // Population stability index, reported as a magnitude.
  size_t n_reference = 0;
  size_t n_current = 0;
};

// Numeric windows (raw values; non-finite values are dropped). Errors: InvalidArgumentError
// on bad options; FailedPreconditionError if a window has fewer than min_samples values.
absl::StatusOr<DriftResult> NumericDrift(std::span<const double> reference,
                                         std::span<const double> current,
                                         const DriftOptions& options = {});

// Categorical windows given as counts per category, aligned by index (category i is
// reference_counts[i] and current_counts[i]). Windowed histogram summaries of a numeric signal
// (bucket counts over the same bounds, e.g. the store's latency sketches) are judged here
// too: per bucket, as categories. Errors: InvalidArgumentError on bad options,
// mismatched sizes or negative/non-finite counts; FailedPreconditionError if either total is
// below min_samples.
absl::StatusOr<DriftResult> CategoricalDrift(std::span<const double> reference_counts,
                                             std::span<const double> current_counts,
                                             const DriftOptions& options = {});

// The result as a Finding at time `t` with the detector named after the test; statistic
// "p_value" for the p-value tests, else the distance; direction kUp when the current mean
// (numeric) is higher, kNone for categorical.
Finding ToFinding(const DriftResult& r, absl::Time t);

// Building blocks, exposed for tests and other detectors.

// Two-sample KS statistic D and its asymptotic p-value (Kolmogorov distribution with
// Stephens' small-sample correction, Numerical Recipes §14.3). Inputs need not be sorted.
struct KsResult {
  double d = 0.0;
  double p_value = 1.0;
};
KsResult KolmogorovSmirnov(std::span<const double> a, std::span<const double> b);

// Wasserstein-1 distance between the empirical distributions of `a` and `b`.
double Wasserstein1(std::span<const double> a, std::span<const double> b);

// Jensen-Shannon distance (square root of the divergence, natural log) between two count
// vectors normalised to frequencies.
double JensenShannonDistance(std::span<const double> p_counts, std::span<const double> q_counts);

// PSI between two count vectors over the same bins: sum (r - c) ln(r / c) with empty bins set
// to 1e-4 (Evidently's rule).
double PopulationStabilityIndex(std::span<const double> reference_counts,
                                std::span<const double> current_counts);

// Upper tail of the chi-squared distribution with `dof` degrees of freedom at `x`.
double ChiSquaredSurvival(double x, double dof);

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_WINDOW_DRIFT_H_
