// A robust seasonal baseline for one signal: what the value "should" be at a given event time,
// and how far from it is normal. It is the first stage of every per-signal detector stack:
// charts run on its standardised residual (x - expected) / scale.
//
// Method: an exponentially weighted level plus a time-of-day profile (and, after two weeks, a
// day-of-week adjustment), each learned from Huber-clipped residuals so one spike moves it by
// at most `clip` scales (robust to outliers; cf. grafana/promql-anomaly-detection#7, where a
// 50x spike inflated the band for a day). The scale is an EW mean absolute deviation, also
// clipped, times 1.2533 (= sigma for Gaussian noise). The daily profile is used only after
// `min_seasons` full days of history, the weekly one after `min_seasons` weeks.
// While the caller marks the series as flagged (`frozen`), nothing is learned, so an incident
// does not become the new normal; after `max_freeze` of continuous freezing learning resumes,
// so a permanent level change is eventually accepted.
//
// Thread safety: not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_SEASONAL_BASELINE_H_
#define CANDOR_DETECTORS_SEASONAL_BASELINE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace candor::detectors {

struct SeasonalBaselineOptions {
  // Buckets of the daily profile, in [1, 1440]; each covers 24h / buckets. Default: 48
  // (30-minute buckets).
  int daily_buckets = 48;
  // Learn the daily profile. Default: true.
  bool daily = true;
  // Learn a day-of-week adjustment on top of the daily profile. Default: true.
  bool weekly = true;
  // Full seasons of history before a seasonal term is applied, >= 1. Default: 2.
  int min_seasons = 2;
  // EW weight of the level per sample, in (0, 1). Default: 0.02 (about 50 samples of memory).
  double level_alpha = 0.02;
  // EW weight of a profile bucket per visiting sample, in (0, 1). Default: 0.05.
  double seasonal_alpha = 0.05;
  // EW weight of the scale (mean absolute residual) per sample, in (0, 1). Default: 0.02.
  double scale_alpha = 0.02;
  // Residuals are clipped to +-clip scales before they update anything, > 0. Default: 3.
  double clip = 3.0;
  // Samples before `Expect` reports ready, >= 2. Default: 30.
  int warmup_samples = 30;
  // Floor on the scale, relative to |level| (>= 0) and absolute (> 0). Defaults: 0.001, 1e-9.
  double min_relative_scale = 0.001;
  double min_scale = 1e-9;
  // Longest continuous freeze before learning resumes anyway. Default: 6 hours.
  absl::Duration max_freeze = absl::Hours(6);
};
absl::Status Validate(const SeasonalBaselineOptions& options);

// The baseline's expectation at one time.
struct Expectation {
  double value = 0.0;     // Expected value of the signal.
  double scale = 1.0;     // Robust standard deviation of its noise around `value` (> 0).
  bool seasonal = false;  // A seasonal term is part of `value`.
  bool ready = false;     // Warm-up is over; before this, value/scale are rough.
};

class RobustSeasonalBaseline {
 public:
  // Errors: InvalidArgumentError from Validate(options).
  static absl::StatusOr<RobustSeasonalBaseline> Create(const SeasonalBaselineOptions& options);

  // The expectation at event time `t` from what has been learned so far.
  Expectation Expect(absl::Time t) const;

  // (x - expected) / scale at `t`. 0 before anything was learned.
  double Residual(absl::Time t, double x) const;

  // Learns from sample (t, x) unless `frozen`; non-finite x is ignored. Returns the
  // expectation that held for `t` before learning from x (what a detector should judge x by).
  Expectation Update(absl::Time t, double x, bool frozen = false);

  void Reset();

  // Samples learned from (frozen samples excluded).
  int64_t samples() const { return n_; }

 private:
  explicit RobustSeasonalBaseline(const SeasonalBaselineOptions& options);
  int DailyBucket(absl::Time t) const;
  static int Weekday(absl::Time t);
  double SeasonalTerm(absl::Time t, bool* used) const;
  void Learn(absl::Time t, double x, const Expectation& e);

  SeasonalBaselineOptions options_;
  int64_t n_ = 0;
  double level_ = 0.0;
  double abs_dev_ = 0.0;             // EW mean absolute residual.
  std::vector<double> daily_;        // Offset per daily bucket.
  std::vector<uint8_t> daily_seen_;  // Whether each bucket has been visited.
  double weekly_[7] = {};            // Offset per weekday (Monday = 0).
  absl::Time first_ = absl::InfinitePast();
  absl::Time last_ = absl::InfinitePast();
  absl::Time frozen_since_ = absl::InfiniteFuture();
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_SEASONAL_BASELINE_H_
