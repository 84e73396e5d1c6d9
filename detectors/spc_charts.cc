#include "detectors/spc_charts.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "detectors/arl.h"

namespace candor::detectors {
namespace {

absl::Status ValidateInControl(const InControlOptions& o, const char* chart) {
  if (o.sigma.has_value() && !(*o.sigma > 0.0 && std::isfinite(*o.sigma))) {
    return absl::InvalidArgumentError(
        absl::StrCat(chart, ": in_control.sigma must be > 0, got ", *o.sigma));
  }
  if (o.mean.has_value() && !std::isfinite(*o.mean)) {
    return absl::InvalidArgumentError(absl::StrCat(chart, ": in_control.mean must be finite"));
  }
  if (o.warmup_samples < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(chart, ": in_control.warmup_samples must be >= 2, got ", o.warmup_samples));
  }
  if (!(o.min_sigma > 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat(chart, ": in_control.min_sigma must be > 0"));
  }
  return absl::OkStatus();
}

bool WatchesUp(Sides s) { return s != Sides::kLower; }
bool WatchesDown(Sides s) { return s != Sides::kUpper; }

// Welford step over the warm-up samples.
void WarmupStep(int64_t* n, double* mean, double* m2, double x) {
  ++*n;
  const double d = x - *mean;
  *mean += d / static_cast<double>(*n);
  *m2 += d * (x - *mean);
}

// Resolves the in-control mean and sigma from the options and the warm-up estimate.
void ResolveInControl(const InControlOptions& o, int64_t n, double mean, double m2, double* mu0,
                      double* sigma0) {
  *mu0 = o.mean.value_or(mean);
  double sigma = n > 1 ? std::sqrt(m2 / static_cast<double>(n - 1)) : 0.0;
  if (o.sigma.has_value()) sigma = *o.sigma;
  *sigma0 = std::max(sigma, o.min_sigma);
}

bool NeedsWarmup(const InControlOptions& o) { return !(o.mean.has_value() && o.sigma.has_value()); }

Finding Base(std::string_view detector, std::string_view statistic, absl::Time t, double x,
             double baseline, double threshold) {
  Finding f;
  f.detector = detector;
  f.statistic = statistic;
  f.time = t;
  f.observed = x;
  f.baseline = baseline;
  f.threshold = threshold;
  return f;
}

}  // namespace

// ---- EWMA ----

absl::StatusOr<EwmaOptions> EwmaOptions::ForArl(double lambda, double arl0, Sides sides) {
  auto l = DesignEwmaLimit(lambda, arl0, sides);
  if (!l.ok()) return l.status();
  EwmaOptions o;
  o.lambda = lambda;
  o.limit_width = *l;
  o.sides = sides;
  return o;
}

absl::Status Validate(const EwmaOptions& o) {
  if (!(o.lambda > 0.0 && o.lambda <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ewma: lambda must be in (0, 1], got ", o.lambda));
  }
  if (!(o.limit_width > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ewma: limit_width must be > 0, got ", o.limit_width));
  }
  return ValidateInControl(o.in_control, "ewma");
}

absl::StatusOr<EwmaChart> EwmaChart::Create(const EwmaOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return EwmaChart(options);
}

EwmaChart::EwmaChart(const EwmaOptions& options) : options_(options) { Reset(); }

void EwmaChart::Reset() {
  warm_n_ = 0;
  warm_mean_ = 0.0;
  warm_m2_ = 0.0;
  decay_pow_ = 1.0;
  side_ = Direction::kNone;
  side_since_ = absl::InfinitePast();
  active_ = false;
  mu0_ = options_.in_control.mean.value_or(0.0);
  sigma0_ = options_.in_control.sigma.value_or(1.0);
  z_ = mu0_;
  if (!NeedsWarmup(options_.in_control)) FinishWarmup();
}

void EwmaChart::FinishWarmup() {
  ResolveInControl(options_.in_control, warm_n_, warm_mean_, warm_m2_, &mu0_, &sigma0_);
  z_ = mu0_;
  warm_n_ = -1;
}

Finding EwmaChart::Update(absl::Time t, double x) {
  const double lambda = options_.lambda;
  const double l = options_.limit_width;
  Finding f = Base(name(), "ewma_z", t, x, mu0_, l);
  if (!std::isfinite(x)) {
    f.active = active_;
    return f;
  }
  if (warm_n_ >= 0) {
    WarmupStep(&warm_n_, &warm_mean_, &warm_m2_, x);
    if (warm_n_ >= options_.in_control.warmup_samples) FinishWarmup();
    f.baseline = warm_mean_;
    return f;
  }
  z_ = lambda * x + (1.0 - lambda) * z_;
  double var_factor = lambda / (2.0 - lambda);
  if (options_.time_varying_limits) {
    decay_pow_ *= (1.0 - lambda) * (1.0 - lambda);
    var_factor *= 1.0 - decay_pow_;
  }
  const double dev = (z_ - mu0_) / (sigma0_ * std::sqrt(var_factor));
  const Direction side = z_ > mu0_ ? Direction::kUp : (z_ < mu0_ ? Direction::kDown : side_);
  if (side != side_) {
    side_ = side;
    side_since_ = t;
  }
  active_ = (WatchesUp(options_.sides) && dev >= l) || (WatchesDown(options_.sides) && dev <= -l);
  f.statistic_value = dev;
  f.score = ThresholdScore(dev, l);
  f.direction = dev > 0 ? Direction::kUp : (dev < 0 ? Direction::kDown : Direction::kNone);
  f.active = active_;
  if (active_) f.onset = side_since_;
  return f;
}

// ---- CUSUM ----

absl::StatusOr<CusumOptions> CusumOptions::ForArl(double k, double arl0, Sides sides) {
  auto h = DesignCusumThreshold(k, arl0, sides);
  if (!h.ok()) return h.status();
  CusumOptions o;
  o.k = k;
  o.h = *h;
  o.sides = sides;
  return o;
}

absl::Status Validate(const CusumOptions& o) {
  if (!(o.k >= 0.0) || !std::isfinite(o.k)) {
    return absl::InvalidArgumentError(absl::StrCat("cusum: k must be >= 0, got ", o.k));
  }
  if (!(o.h > 0.0) || !std::isfinite(o.h)) {
    return absl::InvalidArgumentError(absl::StrCat("cusum: h must be > 0, got ", o.h));
  }
  if (!(o.headstart >= 0.0 && o.headstart < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cusum: headstart must be in [0, 1), got ", o.headstart));
  }
  return ValidateInControl(o.in_control, "cusum");
}

absl::StatusOr<CusumChart> CusumChart::Create(const CusumOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return CusumChart(options);
}

CusumChart::CusumChart(const CusumOptions& options) : options_(options) { Reset(); }

void CusumChart::Reset() {
  warm_n_ = 0;
  warm_mean_ = 0.0;
  warm_m2_ = 0.0;
  active_ = false;
  mu0_ = options_.in_control.mean.value_or(0.0);
  sigma0_ = options_.in_control.sigma.value_or(1.0);
  Restart();
  if (!NeedsWarmup(options_.in_control)) FinishWarmup();
}

void CusumChart::Restart() {
  upper_ = lower_ = options_.headstart * options_.h;
  upper_zero_ = lower_zero_ = absl::InfinitePast();
}

void CusumChart::FinishWarmup() {
  ResolveInControl(options_.in_control, warm_n_, warm_mean_, warm_m2_, &mu0_, &sigma0_);
  warm_n_ = -1;
}

Finding CusumChart::Update(absl::Time t, double x) {
  const double h = options_.h;
  Finding f = Base(name(), "cusum_upper", t, x, mu0_, h);
  if (!std::isfinite(x)) {
    f.active = active_;
    return f;
  }
  if (warm_n_ >= 0) {
    WarmupStep(&warm_n_, &warm_mean_, &warm_m2_, x);
    if (warm_n_ >= options_.in_control.warmup_samples) FinishWarmup();
    f.baseline = warm_mean_;
    return f;
  }
  const double z = (x - mu0_) / sigma0_;
  // The onset is the first sample of the current excursion: the sample after the last zero.
  if (upper_ <= 0.0) upper_zero_ = t;
  if (lower_ <= 0.0) lower_zero_ = t;
  upper_ = std::max(0.0, upper_ + z - options_.k);
  lower_ = std::max(0.0, lower_ - z - options_.k);
  const bool up = WatchesUp(options_.sides);
  const bool down = WatchesDown(options_.sides);
  const bool up_alarm = up && upper_ >= h;
  const bool down_alarm = down && lower_ >= h;
  // Report the side that is alarming, or else the one closer to its limit.
  const bool report_lower =
      down && (down_alarm ? !up_alarm || lower_ > upper_ : !up || lower_ > upper_);
  if (report_lower) {
    f.statistic = "cusum_lower";
    f.statistic_value = lower_;
    f.direction = lower_ > 0.0 ? Direction::kDown : Direction::kNone;
    f.onset = lower_zero_;
  } else {
    f.statistic_value = upper_;
    f.direction = upper_ > 0.0 ? Direction::kUp : Direction::kNone;
    f.onset = upper_zero_;
  }
  active_ = up_alarm || down_alarm;
  f.active = active_;
  f.score = ThresholdScore(f.statistic_value, h);
  if (!active_) f.onset = absl::InfinitePast();
  if (active_ && options_.restart_after_alarm) Restart();
  return f;
}

// ---- Shewhart ----

absl::Status Validate(const ShewhartOptions& o) {
  if (!(o.k_sigma > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("shewhart: k_sigma must be > 0, got ", o.k_sigma));
  }
  if (o.rules == 0 || (o.rules & ~kNelsonRules & ~kWesternElectricRules) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("shewhart: rules must be a non-empty set of ",
                                                   "ShewhartRule bits, got ", o.rules));
  }
  return ValidateInControl(o.in_control, "shewhart");
}

absl::StatusOr<ShewhartChart> ShewhartChart::Create(const ShewhartOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return ShewhartChart(options);
}

ShewhartChart::ShewhartChart(const ShewhartOptions& options) : options_(options) { Reset(); }

void ShewhartChart::Reset() {
  warm_n_ = 0;
  warm_mean_ = 0.0;
  warm_m2_ = 0.0;
  count_ = 0;
  head_ = 0;
  last_fired_ = 0;
  active_ = false;
  run_start_ = absl::InfinitePast();
  mu0_ = options_.in_control.mean.value_or(0.0);
  sigma0_ = options_.in_control.sigma.value_or(1.0);
  if (!NeedsWarmup(options_.in_control)) warm_n_ = -1;
}

double ShewhartChart::Recent(int back) const {
  return history_[(head_ - back + kHistory) % kHistory];
}

uint32_t ShewhartChart::EvaluateRules() const {
  const uint32_t rules = options_.rules;
  const bool up = WatchesUp(options_.sides);
  const bool down = WatchesDown(options_.sides);
  uint32_t fired = 0;
  auto count_beyond = [&](int window, double limit, int sign) {
    int c = 0;
    for (int i = 0; i < window; ++i) c += sign * Recent(i) > limit ? 1 : 0;
    return c;
  };
  auto same_side_run = [&](int len, int sign) {
    if (count_ < len) return false;
    for (int i = 0; i < len; ++i) {
      if (!(sign * Recent(i) > 0.0)) return false;
    }
    return true;
  };
  const double z = Recent(0);
  if ((rules & kRuleBeyond3Sigma) &&
      ((up && z > options_.k_sigma) || (down && z < -options_.k_sigma))) {
    fired |= kRuleBeyond3Sigma;
  }
  for (int sign : {1, -1}) {
    if ((sign > 0 && !up) || (sign < 0 && !down)) continue;
    if ((rules & kRuleTwoOfThreeBeyond2) && count_ >= 3 && count_beyond(3, 2.0, sign) >= 2) {
      fired |= kRuleTwoOfThreeBeyond2;
    }
    if ((rules & kRuleFourOfFiveBeyond1) && count_ >= 5 && count_beyond(5, 1.0, sign) >= 4) {
      fired |= kRuleFourOfFiveBeyond1;
    }
    if ((rules & kRuleEightOneSide) && same_side_run(8, sign)) fired |= kRuleEightOneSide;
    if ((rules & kRuleNineOneSide) && same_side_run(9, sign)) fired |= kRuleNineOneSide;
    if ((rules & kRuleSixTrending) && count_ >= 6) {
      bool trend = true;
      for (int i = 0; i < 5 && trend; ++i) trend = sign * (Recent(i) - Recent(i + 1)) > 0.0;
      if (trend) fired |= kRuleSixTrending;
    }
  }
  if ((rules & kRuleFourteenAlternating) && count_ >= 14) {
    bool alternating = true;
    for (int i = 0; i < 12 && alternating; ++i) {
      alternating = (Recent(i) - Recent(i + 1)) * (Recent(i + 1) - Recent(i + 2)) < 0.0;
    }
    if (alternating) fired |= kRuleFourteenAlternating;
  }
  if ((rules & kRuleFifteenWithin1) && count_ >= 15) {
    bool within = true;
    for (int i = 0; i < 15 && within; ++i) within = std::fabs(Recent(i)) < 1.0;
    if (within) fired |= kRuleFifteenWithin1;
  }
  if ((rules & kRuleEightOutside1) && count_ >= 8) {
    bool outside = true;
    bool above = false;
    bool below = false;
    for (int i = 0; i < 8 && outside; ++i) {
      outside = std::fabs(Recent(i)) > 1.0;
      above |= Recent(i) > 1.0;
      below |= Recent(i) < -1.0;
    }
    if (outside && above && below) fired |= kRuleEightOutside1;
  }
  return fired;
}

Finding ShewhartChart::Update(absl::Time t, double x) {
  Finding f = Base(name(), "shewhart_z", t, x, mu0_, options_.k_sigma);
  if (!std::isfinite(x)) {
    f.active = active_;
    return f;
  }
  if (warm_n_ >= 0) {
    WarmupStep(&warm_n_, &warm_mean_, &warm_m2_, x);
    if (warm_n_ >= options_.in_control.warmup_samples) {
      ResolveInControl(options_.in_control, warm_n_, warm_mean_, warm_m2_, &mu0_, &sigma0_);
      warm_n_ = -1;
    }
    f.baseline = warm_mean_;
    return f;
  }
  const double z = (x - mu0_) / sigma0_;
  head_ = (head_ + 1) % kHistory;
  history_[head_] = z;
  count_ = std::min(count_ + 1, kHistory);
  last_fired_ = EvaluateRules();
  const bool was_active = active_;
  active_ = last_fired_ != 0;
  if (active_ && !was_active) run_start_ = t;
  f.active = active_;
  f.statistic_value = z;
  f.score = ThresholdScore(z, options_.k_sigma);
  f.direction = z > 0 ? Direction::kUp : (z < 0 ? Direction::kDown : Direction::kNone);
  if (active_) f.onset = run_start_;
  return f;
}

}  // namespace candor::detectors
