// A robust seasonal baseline for one signal: what the value "should" be at a given event time,
// and how far from it is normal. It is the first stage of every per-signal detector stack:
// charts run on its standardised residual (x - expected) / scale.
//
// Method: two models learn side by side, both from values clipped to the expectation +-
// `clip` scales, so one spike moves either by at most that much (robust to outliers; cf.
// grafana/promql-anomaly-detection#7, where a 50x spike inflated the band for a day):
// - a tracker, an exponentially weighted level that follows the series (including any daily
//   swing, with lag); it serves from the end of warm-up, so a new series is judged within
//   minutes;
// - a seasonal model: a time-of-day profile, learned at the end of each day from that day's
//   bucket means minus the day's mean (an average over days, weight 1/days until it reaches
//   `seasonal_alpha`), a day-of-week offset learned the same way from day means, and a level
//   that follows the deseasonalised series with `level_memory`. It serves once `min_seasons`
//   full days of history exist (the day-of-week term after `min_seasons` weeks).
// Each model's scale is an EW mean absolute residual times 1.2533 (= sigma for Gaussian
// noise); the reported scale is the serving model's.
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
  // EW weight of the tracker's level per sample, in (0, 1). Default: 0.05 (about 20 samples
  // of memory).
  double tracker_alpha = 0.05;
  // Memory of the seasonal model's level, > 0: the level moves by 1 - exp(-dt / memory) of
  // each (clipped) error, so it follows day-to-day changes but not the daily swing, which the
  // profile holds. Default: 6 hours.
  absl::Duration level_memory = absl::Hours(6);
  // Weight of one season's evidence in a profile term, in (0, 1): each daily bucket is
  // updated once per day, each weekday once per week; the first seasons are averaged with
  // weight 1/seasons until that is smaller. Default: 0.1 (about ten seasons of memory).
  double seasonal_alpha = 0.1;
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
  static int Weekday(int64_t unix_day);
  void Learn(absl::Time t, double x);
  void CloseDay();
  // The seasonal model's term at `t` (every learned part), and whether it serves yet.
  double SeasonalTerm(absl::Time t, bool* serves) const;

  SeasonalBaselineOptions options_;
  int64_t n_ = 0;
  double tracker_ = 0.0;              // The tracker's level.
  double tracker_abs_dev_ = 0.0;      // EW mean absolute residual of the tracker.
  double level_ = 0.0;                // The seasonal model's (deseasonalised) level.
  double abs_dev_ = 0.0;              // EW mean absolute residual of the seasonal model.
  std::vector<double> daily_;         // Offset per daily bucket (zero-mean over the day).
  std::vector<uint32_t> daily_days_;  // Days averaged into each bucket.
  std::vector<double> today_sum_;     // Clipped values of the current day, per bucket.
  std::vector<uint32_t> today_count_;
  int64_t today_ = INT64_MIN;      // Unix day being accumulated.
  double weekly_[7] = {};          // Offset per weekday (Monday = 0).
  uint32_t weekly_weeks_[7] = {};  // Weeks averaged into each weekday.
  double day_means_[7] = {};       // Means of the last consecutive whole days.
  int day_means_count_ = 0;
  int64_t last_closed_day_ = INT64_MIN;
  absl::Time first_ = absl::InfinitePast();
  absl::Time last_ = absl::InfinitePast();
  absl::Time frozen_since_ = absl::InfiniteFuture();
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_SEASONAL_BASELINE_H_
