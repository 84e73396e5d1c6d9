#include "detectors/anomaly_scorer.h"

#include <algorithm>
#include <cmath>

namespace candor::detectors {
namespace {

double TwoSided(const SlidingRank& r, double x, double tail) {
  if (tail > 0.0) {
    return std::min(1.0, 2.0 * std::min(r.UpperTailGpd(x, tail), r.LowerTailGpd(x, tail)));
  }
  return std::min(1.0, 2.0 * std::min(r.UpperTail(x), r.LowerTail(x)));
}

}  // namespace

absl::Status Validate(const AnomalyScorerOptions& o) {
  if (o.history < 10) return absl::InvalidArgumentError("anomaly scorer: history must be >= 10");
  return absl::OkStatus();
}

absl::StatusOr<AnomalyScorer> AnomalyScorer::Create(const AnomalyScorerOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return AnomalyScorer(options);
}

AnomalyScorer::AnomalyScorer(const AnomalyScorerOptions& options)
    : options_(options),
      values_(static_cast<size_t>(options.history)),
      short_means_(static_cast<size_t>(options.history)),
      long_means_(static_cast<size_t>(options.history)),
      diffs_(static_cast<size_t>(options.history)),
      seasonal_(static_cast<size_t>(options.history)),
      baseline_(*RobustSeasonalBaseline::Create({})) {}

double AnomalyScorer::Update(absl::Time t, double x) {
  if (!std::isfinite(x)) return 0.0;
  const AnomalyScorerOptions& o = options_;
  recent_.push_back(x);
  recent_sum_ += x;
  if (static_cast<int>(recent_.size()) > std::max(1, o.short_mean)) {
    recent_sum_ -= recent_.front();
    recent_.pop_front();
  }
  const double short_mean = recent_sum_ / static_cast<double>(recent_.size());
  recent_long_.push_back(x);
  recent_long_sum_ += x;
  if (static_cast<int>(recent_long_.size()) > std::max(1, o.long_mean)) {
    recent_long_sum_ -= recent_long_.front();
    recent_long_.pop_front();
  }
  const double long_mean = recent_long_sum_ / static_cast<double>(recent_long_.size());
  const double diff = std::fabs(x - prev_);
  const Expectation e = baseline_.Expect(t);
  const double residual = (x - e.value) / e.scale;

  double surprise = 0.0;
  if (n_ >= o.warmup) {
    double p = o.value_channel ? TwoSided(values_, x, o.gpd_tail) : 1.0;
    if (o.diff_channel)
      p = std::min(p,
                   o.gpd_tail > 0 ? diffs_.UpperTailGpd(diff, o.gpd_tail) : diffs_.UpperTail(diff));
    if (o.short_mean > 1) p = std::min(p, TwoSided(short_means_, short_mean, o.gpd_tail));
    if (o.long_mean > 1) p = std::min(p, TwoSided(long_means_, long_mean, o.gpd_tail));
    if (o.seasonal_channel && e.seasonal)
      p = std::min(p, TwoSided(seasonal_, residual, o.gpd_tail));
    p = std::min(1.0, p * o.bonferroni);
    surprise = -std::log10(p);
    const double range = max_ - min_;
    if (o.novelty_bonus > 0.0 &&
        (x > max_ + o.novelty_margin * range || x < min_ - o.novelty_margin * range)) {
      surprise += o.novelty_bonus;
    }
  }
  smooth_.push_back(surprise);
  smooth_sum_ += surprise;
  if (static_cast<int>(smooth_.size()) > std::max(1, o.smooth)) {
    smooth_sum_ -= smooth_.front();
    smooth_.pop_front();
  }
  const double smoothed = smooth_sum_ / static_cast<double>(smooth_.size());
  double out = smoothed;
  if (o.decay > 0.0) {
    if (smoothed <= peak_) out = smoothed * (1.0 - o.suppress_gain);
    peak_ = std::max(smoothed, peak_ * o.decay);
  }
  last_surprise_ = surprise;

  // Learn.
  values_.Insert(x);
  if (n_ > 0) diffs_.Insert(diff);
  short_means_.Insert(short_mean);
  long_means_.Insert(long_mean);
  if (e.seasonal) seasonal_.Insert(residual);
  baseline_.Update(t, x);
  if (n_ == 0) {
    min_ = max_ = x;
  } else {
    min_ = std::min(min_, x);
    max_ = std::max(max_, x);
  }
  prev_ = x;
  ++n_;
  return 1.0 - std::exp(-out / o.score_scale);
}

}  // namespace candor::detectors
