// Monitoring a rate of per-request bits (fallback used, validation failed, provider error,
// request timed out) from windowed counts: a Bernoulli log-likelihood-ratio CUSUM.
//
// Method: for each window with s successes out of n trials, the CUSUM adds the binomial log
// likelihood ratio of p1 against p0, s*ln(p1/p0) + (n - s)*ln((1 - p1)/(1 - p0)), floored at 0
// (Page 1954; Reynolds & Stoumbos, J. Quality Technology 1999). It is the optimal detector of
// a step from p0 to p1 (Moustakides 1986).
// False-alarm design: the decision interval is h = ln(arl0_trials). By Lorden's bound (Ann.
// Math. Stat. 1971) a likelihood-ratio CUSUM with threshold h has an in-control ARL of at
// least e^h trials, so the stated ARL0 is a guaranteed floor (the real ARL0 is higher).
// Expected delay after a step to p1 is about (h + overshoot) / KL(p1 || p0) trials.
//
// Thread safety: not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_PROPORTION_H_
#define CANDOR_DETECTORS_PROPORTION_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "detectors/finding.h"

namespace candor::detectors {

struct BernoulliCusumOptions {
  // In-control rate p0 in (0, 1). Default: unset, estimated from the first `warmup_trials`
  // trials (with `min_p0` as a floor) and then frozen.
  std::optional<double> p0;
  // Trials to estimate p0 from, >= 1. Default: 1000.
  int64_t warmup_trials = 1000;
  // Floor on p0 so a clean warm-up (zero failures) still gives a finite statistic, in (0, 0.5).
  // Default: 0.001.
  double min_p0 = 0.001;
  // The shift the chart is tuned to: p1 = p0 * rate_ratio upward (capped at 0.999) and
  // p0 / rate_ratio downward; > 1. Default: 2 (a doubling of the rate).
  double rate_ratio = 2.0;
  // Also require the rate to rise by at least this much in absolute terms (p1 >= p0 +
  // min_increase), so a 0.1 % -> 0.2 % move on a noisy signal is not what is tuned for; in
  // [0, 1). Default: 0.
  double min_increase = 0.0;
  // Guaranteed lower bound on the in-control average run length, in trials, > 1. Default: 1e6.
  double arl0_trials = 1e6;
  // Default: kUpper (rates of bad outcomes matter when they rise).
  Sides sides = Sides::kUpper;
};
absl::Status Validate(const BernoulliCusumOptions& options);

class BernoulliCusum {
 public:
  static absl::StatusOr<BernoulliCusum> Create(const BernoulliCusumOptions& options);

  // Feeds the window ending at `t` with `successes` of `trials` bits set. Errors:
  // InvalidArgumentError if trials < 0, successes < 0 or successes > trials (nothing learned).
  // A window with zero trials returns the current state.
  absl::StatusOr<Finding> Update(absl::Time t, int64_t successes, int64_t trials);
  void Reset();

  bool warmed_up() const { return warm_trials_ < 0; }
  double p0() const { return p0_; }
  double p1_upper() const { return p1_up_; }
  double threshold() const { return h_; }
  double upper() const { return upper_; }
  double lower() const { return lower_; }

 private:
  explicit BernoulliCusum(const BernoulliCusumOptions& options);
  void SetRates(double p0);

  BernoulliCusumOptions options_;
  double h_ = 0.0;
  double p0_ = 0.0;
  double p1_up_ = 0.0;
  double p1_down_ = 0.0;
  double up_hit_ = 0.0, up_miss_ = 0.0;  // LLR increments per success / per failure.
  double down_hit_ = 0.0, down_miss_ = 0.0;
  double upper_ = 0.0;
  double lower_ = 0.0;
  absl::Time upper_zero_ = absl::InfinitePast();
  absl::Time lower_zero_ = absl::InfinitePast();
  int64_t warm_trials_ = 0;  // -1 once p0 is known.
  int64_t warm_successes_ = 0;
  double recent_rate_ = 0.0;  // EW rate of recent windows, for `observed`.
  bool have_rate_ = false;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_PROPORTION_H_
