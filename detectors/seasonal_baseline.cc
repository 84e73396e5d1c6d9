#include "detectors/seasonal_baseline.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace candor::detectors {
namespace {

// E|X| = sigma * sqrt(2 / pi) for Gaussian noise, so sigma = 1.2533 * mean absolute deviation.
constexpr double kAbsDevToSigma = 1.2533141373155;
constexpr int64_t kSecondsPerDay = 86400;

absl::Status CheckUnit(double v, const char* name) {
  if (!(v > 0.0 && v < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("seasonal baseline: ", name, " must be in (0, 1), got ", v));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Validate(const SeasonalBaselineOptions& o) {
  if (o.daily_buckets < 1 || o.daily_buckets > 1440) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seasonal baseline: daily_buckets must be in [1, 1440], got ", o.daily_buckets));
  }
  if (o.min_seasons < 1) {
    return absl::InvalidArgumentError("seasonal baseline: min_seasons must be >= 1");
  }
  if (absl::Status s = CheckUnit(o.tracker_alpha, "tracker_alpha"); !s.ok()) return s;
  if (o.level_memory <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("seasonal baseline: level_memory must be > 0");
  }
  if (absl::Status s = CheckUnit(o.seasonal_alpha, "seasonal_alpha"); !s.ok()) return s;
  if (absl::Status s = CheckUnit(o.scale_alpha, "scale_alpha"); !s.ok()) return s;
  if (!(o.clip > 0.0)) return absl::InvalidArgumentError("seasonal baseline: clip must be > 0");
  if (o.warmup_samples < 2) {
    return absl::InvalidArgumentError("seasonal baseline: warmup_samples must be >= 2");
  }
  if (!(o.min_relative_scale >= 0.0) || !(o.min_scale > 0.0)) {
    return absl::InvalidArgumentError(
        "seasonal baseline: min_relative_scale must be >= 0 and min_scale > 0");
  }
  if (o.max_freeze < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("seasonal baseline: max_freeze must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<RobustSeasonalBaseline> RobustSeasonalBaseline::Create(
    const SeasonalBaselineOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return RobustSeasonalBaseline(options);
}

RobustSeasonalBaseline::RobustSeasonalBaseline(const SeasonalBaselineOptions& options)
    : options_(options) {
  Reset();
}

void RobustSeasonalBaseline::Reset() {
  n_ = 0;
  tracker_ = tracker_abs_dev_ = 0.0;
  level_ = abs_dev_ = 0.0;
  const auto buckets = static_cast<size_t>(options_.daily_buckets);
  daily_.assign(buckets, 0.0);
  daily_days_.assign(buckets, 0);
  today_sum_.assign(buckets, 0.0);
  today_count_.assign(buckets, 0);
  today_ = INT64_MIN;
  std::fill(std::begin(weekly_), std::end(weekly_), 0.0);
  std::fill(std::begin(weekly_weeks_), std::end(weekly_weeks_), 0u);
  day_means_count_ = 0;
  last_closed_day_ = INT64_MIN;
  first_ = last_ = absl::InfinitePast();
  frozen_since_ = absl::InfiniteFuture();
}

int RobustSeasonalBaseline::DailyBucket(absl::Time t) const {
  const int64_t secs = absl::ToUnixSeconds(t);
  const int64_t of_day = ((secs % kSecondsPerDay) + kSecondsPerDay) % kSecondsPerDay;
  return static_cast<int>(of_day * options_.daily_buckets / kSecondsPerDay);
}

int RobustSeasonalBaseline::Weekday(int64_t unix_day) {
  // 1970-01-01 was a Thursday; Monday = 0.
  return static_cast<int>(((unix_day + 3) % 7 + 7) % 7);
}

double RobustSeasonalBaseline::SeasonalTerm(absl::Time t, bool* serves) const {
  const absl::Duration history = n_ > 0 ? last_ - first_ : absl::ZeroDuration();
  const bool daily = options_.daily && history >= absl::Hours(24) * options_.min_seasons;
  const bool weekly = options_.weekly && history >= absl::Hours(24 * 7) * options_.min_seasons;
  *serves = daily || (weekly && !options_.daily);
  double term = 0.0;
  if (options_.daily) term += daily_[static_cast<size_t>(DailyBucket(t))];
  if (options_.weekly) {
    term += weekly_[Weekday(absl::ToUnixSeconds(t) / kSecondsPerDay)];
  }
  return term;
}

Expectation RobustSeasonalBaseline::Expect(absl::Time t) const {
  Expectation e;
  bool serves = false;
  const double term = SeasonalTerm(t, &serves);
  e.seasonal = serves;
  const double level = serves ? level_ + term : tracker_;
  const double abs_dev = serves ? abs_dev_ : tracker_abs_dev_;
  e.value = level;
  e.scale = std::max({kAbsDevToSigma * abs_dev, options_.min_relative_scale * std::fabs(level),
                      options_.min_scale});
  e.ready = n_ >= options_.warmup_samples;
  return e;
}

double RobustSeasonalBaseline::Residual(absl::Time t, double x) const {
  if (n_ == 0) return 0.0;
  const Expectation e = Expect(t);
  return (x - e.value) / e.scale;
}

Expectation RobustSeasonalBaseline::Update(absl::Time t, double x, bool frozen) {
  const Expectation e = Expect(t);
  if (!std::isfinite(x)) return e;
  if (frozen) {
    if (frozen_since_ == absl::InfiniteFuture()) frozen_since_ = t;
    if (t - frozen_since_ < options_.max_freeze) return e;
  } else {
    frozen_since_ = absl::InfiniteFuture();
  }
  Learn(t, x);
  return e;
}

void RobustSeasonalBaseline::Learn(absl::Time t, double x) {
  const absl::Time prev = last_;
  if (first_ == absl::InfinitePast()) first_ = t;
  last_ = std::max(last_, t);
  ++n_;
  const int64_t day = absl::ToUnixSeconds(t) / kSecondsPerDay;
  if (day != today_) {
    CloseDay();
    today_ = day;
  }
  if (n_ <= options_.warmup_samples) {
    // Plain running mean and mean absolute deviation until there is enough to clip against.
    if (n_ > 1) {
      tracker_abs_dev_ +=
          (std::fabs(x - tracker_) - tracker_abs_dev_) / static_cast<double>(n_ - 1);
    }
    tracker_ += (x - tracker_) / static_cast<double>(n_);
    level_ = tracker_;
    abs_dev_ = tracker_abs_dev_;
    const auto b = static_cast<size_t>(DailyBucket(t));
    today_sum_[b] += x;
    ++today_count_[b];
    return;
  }
  // The tracker.
  const double tracker_scale = std::max(kAbsDevToSigma * tracker_abs_dev_, options_.min_scale);
  const double tracker_bound = options_.clip * tracker_scale;
  const double tracker_err = std::clamp(x - tracker_, -tracker_bound, tracker_bound);
  tracker_ += options_.tracker_alpha * tracker_err;
  tracker_abs_dev_ += options_.scale_alpha * (std::fabs(tracker_err) - tracker_abs_dev_);

  // The seasonal model.
  bool serves = false;
  const double term = SeasonalTerm(t, &serves);
  const double scale = std::max(kAbsDevToSigma * abs_dev_, options_.min_scale);
  const double bound = options_.clip * scale;
  const double err = std::clamp(x - (level_ + term), -bound, bound);
  const double clipped = level_ + term + err;
  const auto b = static_cast<size_t>(DailyBucket(t));
  today_sum_[b] += clipped;
  ++today_count_[b];
  const double memory = absl::ToDoubleSeconds(options_.level_memory);
  const double dt = std::clamp(absl::ToDoubleSeconds(t - prev), 0.0, memory);
  level_ += (1.0 - std::exp(-dt / memory)) * err;
  abs_dev_ += options_.scale_alpha * (std::fabs(err) - abs_dev_);
}

// At the end of a day: each visited bucket's mean minus the day's mean updates the profile;
// the day's mean against the last week's updates the weekday offset. A day with fewer than
// half of its buckets visited teaches nothing (its mean would be biased).
void RobustSeasonalBaseline::CloseDay() {
  const size_t buckets = daily_.size();
  size_t visited = 0;
  double mean_sum = 0.0;
  for (size_t b = 0; b < buckets; ++b) {
    if (today_count_[b] == 0) continue;
    ++visited;
    mean_sum += today_sum_[b] / today_count_[b];
  }
  if (today_ != INT64_MIN && visited > 0 && 2 * visited >= buckets) {
    const double day_mean = mean_sum / static_cast<double>(visited);
    for (size_t b = 0; b < buckets; ++b) {
      if (today_count_[b] == 0) continue;
      const double dev = today_sum_[b] / today_count_[b] - day_mean;
      ++daily_days_[b];
      const double rate = std::max(options_.seasonal_alpha, 1.0 / daily_days_[b]);
      daily_[b] += rate * (dev - daily_[b]);
    }
    if (today_ != last_closed_day_ + 1) day_means_count_ = 0;
    if (day_means_count_ == 7) {
      double week_mean = 0.0;
      for (double m : day_means_) week_mean += m / 7.0;
      const int wd = Weekday(today_);
      ++weekly_weeks_[wd];
      const double rate = std::max(options_.seasonal_alpha, 1.0 / weekly_weeks_[wd]);
      weekly_[wd] += rate * ((day_mean - week_mean) - weekly_[wd]);
    }
    // Shift the window of consecutive day means.
    if (day_means_count_ == 7) {
      std::copy(std::begin(day_means_) + 1, std::end(day_means_), std::begin(day_means_));
      day_means_[6] = day_mean;
    } else {
      day_means_[day_means_count_++] = day_mean;
    }
    last_closed_day_ = today_;
  }
  std::fill(today_sum_.begin(), today_sum_.end(), 0.0);
  std::fill(today_count_.begin(), today_count_.end(), 0u);
}

}  // namespace candor::detectors
