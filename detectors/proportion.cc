#include "detectors/proportion.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace candor::detectors {

absl::Status Validate(const BernoulliCusumOptions& o) {
  if (o.p0.has_value() && !(*o.p0 > 0.0 && *o.p0 < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bernoulli cusum: p0 must be in (0, 1), got ", *o.p0));
  }
  if (o.warmup_trials < 1) {
    return absl::InvalidArgumentError("bernoulli cusum: warmup_trials must be >= 1");
  }
  if (!(o.min_p0 > 0.0 && o.min_p0 < 0.5)) {
    return absl::InvalidArgumentError("bernoulli cusum: min_p0 must be in (0, 0.5)");
  }
  if (!(o.rate_ratio > 1.0) || !std::isfinite(o.rate_ratio)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bernoulli cusum: rate_ratio must be > 1, got ", o.rate_ratio));
  }
  if (!(o.min_increase >= 0.0 && o.min_increase < 1.0)) {
    return absl::InvalidArgumentError("bernoulli cusum: min_increase must be in [0, 1)");
  }
  if (!(o.arl0_trials > 1.0) || !std::isfinite(o.arl0_trials)) {
    return absl::InvalidArgumentError("bernoulli cusum: arl0_trials must be > 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<BernoulliCusum> BernoulliCusum::Create(const BernoulliCusumOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return BernoulliCusum(options);
}

BernoulliCusum::BernoulliCusum(const BernoulliCusumOptions& options) : options_(options) {
  // Lorden: ARL0 >= e^h per side; two sides share the budget (1/ARL <= 1/ARL+ + 1/ARL-).
  const double budget =
      options_.sides == Sides::kBoth ? 2.0 * options_.arl0_trials : options_.arl0_trials;
  h_ = std::log(budget);
  Reset();
}

void BernoulliCusum::Reset() {
  upper_ = lower_ = 0.0;
  upper_zero_ = lower_zero_ = absl::InfinitePast();
  warm_trials_ = 0;
  warm_successes_ = 0;
  recent_rate_ = 0.0;
  have_rate_ = false;
  if (options_.p0.has_value()) SetRates(*options_.p0);
}

void BernoulliCusum::SetRates(double p0) {
  p0_ = std::clamp(p0, options_.min_p0, 0.99);
  p1_up_ = std::min(std::max(p0_ * options_.rate_ratio, p0_ + options_.min_increase), 0.999);
  p1_down_ = p0_ / options_.rate_ratio;
  up_hit_ = std::log(p1_up_ / p0_);
  up_miss_ = std::log((1.0 - p1_up_) / (1.0 - p0_));
  down_hit_ = std::log(p1_down_ / p0_);
  down_miss_ = std::log((1.0 - p1_down_) / (1.0 - p0_));
  warm_trials_ = -1;
}

absl::StatusOr<Finding> BernoulliCusum::Update(absl::Time t, int64_t successes, int64_t trials) {
  if (trials < 0 || successes < 0 || successes > trials) {
    return absl::InvalidArgumentError(absl::StrCat("bernoulli cusum: bad window: ", successes,
                                                   " successes of ", trials, " trials"));
  }
  Finding f;
  f.detector = "bernoulli_cusum";
  f.statistic = "cusum_upper";
  f.time = t;
  f.threshold = h_;
  f.baseline = p0_;
  if (trials > 0) {
    const double rate = static_cast<double>(successes) / static_cast<double>(trials);
    recent_rate_ = have_rate_ ? 0.7 * recent_rate_ + 0.3 * rate : rate;
    have_rate_ = true;
  }
  f.observed = recent_rate_;
  if (warm_trials_ >= 0) {
    warm_trials_ += trials;
    warm_successes_ += successes;
    if (warm_trials_ >= options_.warmup_trials) {
      SetRates(static_cast<double>(warm_successes_) / static_cast<double>(warm_trials_));
    }
    f.baseline = warm_trials_ > 0
                     ? static_cast<double>(warm_successes_) / static_cast<double>(warm_trials_)
                     : 0.0;
    return f;
  }
  const auto s = static_cast<double>(successes);
  const auto misses = static_cast<double>(trials - successes);
  if (trials > 0) {
    if (upper_ <= 0.0) upper_zero_ = t;
    if (lower_ <= 0.0) lower_zero_ = t;
    upper_ = std::max(0.0, upper_ + s * up_hit_ + misses * up_miss_);
    lower_ = std::max(0.0, lower_ + s * down_hit_ + misses * down_miss_);
  }
  const bool up = options_.sides != Sides::kLower;
  const bool down = options_.sides != Sides::kUpper;
  const bool up_alarm = up && upper_ >= h_;
  const bool down_alarm = down && lower_ >= h_;
  if (down && (down_alarm ? !up_alarm || lower_ > upper_ : !up || lower_ > upper_)) {
    f.statistic = "cusum_lower";
    f.statistic_value = lower_;
    f.direction = lower_ > 0.0 ? Direction::kDown : Direction::kNone;
    f.onset = lower_zero_;
  } else {
    f.statistic_value = upper_;
    f.direction = upper_ > 0.0 ? Direction::kUp : Direction::kNone;
    f.onset = upper_zero_;
  }
  f.active = up_alarm || down_alarm;
  f.score = ThresholdScore(f.statistic_value, h_);
  if (!f.active) f.onset = absl::InfinitePast();
  return f;
}

}  // namespace candor::detectors
