#include "detectors/anomaly_scorer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace candor::detectors {

absl::Status Validate(const AnomalyScorerOptions& o) {
  if (o.window < 1) return absl::InvalidArgumentError("anomaly scorer: window must be >= 1");
  return absl::OkStatus();
}

absl::StatusOr<AnomalyScorer> AnomalyScorer::Create(const AnomalyScorerOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return AnomalyScorer(options);
}

AnomalyScorer::AnomalyScorer(const AnomalyScorerOptions& options)
    : options_(options),
      values_(static_cast<size_t>(options.history)),
      baseline_(*RobustSeasonalBaseline::Create({})),
      likelihood_(*AnomalyLikelihood::Create({})) {
  for (int c = 0; c < kChannels; ++c) raws_.emplace_back(static_cast<size_t>(options.raw_history));
}

double AnomalyScorer::NearestDistance(double scale) const {
  const auto w = static_cast<size_t>(options_.window);
  const size_t n = series_.size();
  if (n < 3 * w) return 0.0;
  const double* cur = series_.data() + (n - w);
  const size_t last_start = n - 2 * w;
  const auto mem = static_cast<size_t>(options_.max_memory);
  const size_t first_start = last_start > mem ? last_start - mem : 0;
  double best = std::numeric_limits<double>::infinity();
  for (size_t s = first_start; s <= last_start; ++s) {
    double d = 0.0;
    const double* p = series_.data() + s;
    for (size_t k = 0; k < w && d < best; ++k) {
      const double diff = cur[k] - p[k];
      d += diff * diff;
    }
    best = std::min(best, d);
  }
  return std::sqrt(best / static_cast<double>(w)) / scale;
}

double AnomalyScorer::CoarseDistance(double scale) const {
  const auto w = static_cast<size_t>(options_.coarse_window);
  const size_t n = blocks_.size();
  if (n < 3 * w) return 0.0;
  const double* cur = blocks_.data() + (n - w);
  const size_t last_start = n - 2 * w;
  const auto mem = static_cast<size_t>(options_.coarse_memory);
  const size_t first_start = last_start > mem ? last_start - mem : 0;
  double best = std::numeric_limits<double>::infinity();
  for (size_t s = first_start; s <= last_start; ++s) {
    double d = 0.0;
    const double* p = blocks_.data() + s;
    for (size_t k = 0; k < w && d < best; ++k) {
      const double diff = cur[k] - p[k];
      d += diff * diff;
    }
    best = std::min(best, d);
  }
  return std::sqrt(best / static_cast<double>(w)) / scale;
}

double AnomalyScorer::ChannelSurprise(int c, double raw) {
  SlidingRank& h = raws_[static_cast<size_t>(c)];
  double s = 0.0;
  if (static_cast<int>(h.size()) >= options_.min_history && raw > options_.min_raw) {
    s = -std::log10(h.UpperTailGpd(raw, options_.gpd_tail, options_.tail_floor));
  }
  h.Insert(raw);
  return s;
}

double AnomalyScorer::Update(absl::Time t, double x) {
  if (!std::isfinite(x)) return 0.0;
  const AnomalyScorerOptions& o = options_;
  series_.push_back(x);
  double surprise = 0.0;
  last_surprise_.fill(0.0);
  const Expectation e = baseline_.Expect(t);
  if (n_ >= o.warmup) {
    const double scale = std::max(values_.Quantile(1.0 - o.scale_q) - values_.Quantile(o.scale_q),
                                  1e-9 * std::max(1.0, std::fabs(x)));
    const double weights[kChannels] = {o.w_novelty, o.w_pattern, o.w_level, o.w_seasonal,
                                       o.w_density, o.w_diff,    0.0};
    double raw[kChannels] = {};
    raw[0] = std::max({0.0, (x - max_) / scale, (min_ - x) / scale});
    if (o.w_pattern > 0) raw[1] = NearestDistance(scale);
    if (o.w_level > 0) {
      const size_t k = std::min(series_.size(), static_cast<size_t>(o.level_window));
      double m = 0.0;
      for (size_t i = series_.size() - k; i < series_.size(); ++i) m += series_[i];
      m /= static_cast<double>(k);
      raw[2] = std::fabs(m - values_.Quantile(0.5)) / scale;
    }
    if (o.w_seasonal > 0) {
      const double r = e.seasonal ? (x - e.value) / scale : 0.0;
      residuals_.push_back(r);
      if (static_cast<int>(residuals_.size()) > o.seasonal_window) residuals_.pop_front();
      double m = 0.0;
      for (double v : residuals_) m += v;
      raw[3] = e.seasonal ? std::fabs(m / static_cast<double>(residuals_.size())) : -1.0;
    }
    if (o.w_density > 0) {
      const double hi = values_.Quantile(o.density_q);
      const double lo = values_.Quantile(1.0 - o.density_q);
      const size_t k = std::min(series_.size(), static_cast<size_t>(o.density_window));
      double count = 0.0;
      for (size_t i = series_.size() - k; i < series_.size(); ++i) {
        count += (series_[i] > hi || series_[i] < lo) ? 1.0 : 0.0;
      }
      raw[4] = count;
    }
    if (o.w_diff > 0) {
      const size_t k = std::min(series_.size(), static_cast<size_t>(o.level_window2));
      double m = 0.0;
      for (size_t i = series_.size() - k; i < series_.size(); ++i) m += series_[i];
      m /= static_cast<double>(k);
      raw[5] = std::fabs(m - values_.Quantile(0.5)) / scale;
    }
    if (o.w_coarse > 0 && series_.size() % static_cast<size_t>(o.block) == 0) {
      const auto b = static_cast<size_t>(o.block);
      double mean = 0.0, hi = -1e300, lo = 1e300;
      for (size_t i = series_.size() - b; i < series_.size(); ++i) {
        mean += series_[i];
        hi = std::max(hi, series_[i]);
        lo = std::min(lo, series_[i]);
      }
      mean /= static_cast<double>(b);
      if (blocks_.empty()) block_ma_ = mean;
      block_ma_ = 0.5 * (block_ma_ + mean);
      double v = mean;
      if (o.block_mode == 0) v = std::fabs(hi - block_ma_) >= std::fabs(lo - block_ma_) ? hi : lo;
      blocks_.push_back(v);
      coarse_surprise_ = o.w_coarse * ChannelSurprise(6, CoarseDistance(scale));
    } else if (o.w_coarse > 0 && o.hold_coarse == 0) {
      coarse_surprise_ = 0.0;
    }
    last_surprise_[6] = coarse_surprise_;
    if (o.value_mode == 1) {
      const double fl = o.tail_floor * scale;
      const double p = std::min(values_.UpperTailGpd(x, o.gpd_tail, fl),
                                values_.LowerTailGpd(x, o.gpd_tail, fl));
      last_surprise_[0] = o.w_novelty * -std::log10(std::min(1.0, 2.0 * p));
      surprise = last_surprise_[0];
    }
    surprise = o.combine == 1 ? surprise + coarse_surprise_ : std::max(surprise, coarse_surprise_);
    for (int c = o.value_mode == 1 ? 1 : 0; c < kChannels; ++c) {
      if (weights[c] <= 0.0 || raw[c] < 0.0) continue;
      const double sc = weights[c] * ChannelSurprise(c, raw[c]);
      last_surprise_[static_cast<size_t>(c)] = sc;
      if (o.record_memory > 0) {
        auto& hist = records_[static_cast<size_t>(c)];
        double prev_max = 0.0;
        for (double v : hist) prev_max = std::max(prev_max, v);
        hist.push_back(sc);
        if (static_cast<int>(hist.size()) > o.record_memory) hist.pop_front();
        surprise = std::max(surprise, sc - o.record_weight * prev_max);
      } else if (o.combine == 1) {
        surprise += sc;
      } else {
        surprise = std::max(surprise, sc);
      }
    }
  }
  if (o.likelihood_mode == 3) {
    // NAB-HTM style: bounded raw in [0, 1] from the non-novelty channels, likelihood, log
    // score, spatial-novelty override.
    double best = 0.0;
    for (int c = 1; c < kChannels; ++c)
      best = std::max(best, last_surprise_[static_cast<size_t>(c)]);
    const double raw_in = 1.0 - std::pow(10.0, -best);
    const double l = likelihood_.Update(raw_in);
    double score = AnomalyLikelihood::LogLikelihood(l);
    const double range = max_ - min_;
    if (n_ >= o.warmup && range > 0 &&
        (x > max_ + o.spatial_tolerance * range || x < min_ - o.spatial_tolerance * range)) {
      score = 1.0;
    }
    values_.Insert(x);
    baseline_.Update(t, x);
    if (n_ == 0) {
      min_ = max_ = x;
    } else {
      min_ = std::min(min_, x);
      max_ = std::max(max_, x);
    }
    ++n_;
    return score;
  }
  if (o.likelihood_mode > 0) {
    const double raw_in = o.likelihood_mode == 1 ? surprise : surprise / (surprise + o.score_scale);
    const double l = likelihood_.Update(raw_in);
    surprise = std::max(o.likelihood_mix * surprise,
                        AnomalyLikelihood::LogLikelihood(l) * o.likelihood_gain);
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
  double result = out / (out + o.score_scale);
  if (o.spatial_override > 0) {
    const double range = max_ - min_;
    if (n_ >= o.warmup && range > 0 &&
        (x > max_ + o.spatial_tolerance * range || x < min_ - o.spatial_tolerance * range)) {
      if (o.spatial_override == 1 || spatial_quiet_ <= 0) result = 1.0;
      spatial_quiet_ = o.spatial_refractory;
    }
    --spatial_quiet_;
    result = std::min(result, o.secondary_cap);
    if (spatial_quiet_ >= 0 && result < 1.0) result *= o.after_spatial_gain;
  }
  values_.Insert(x);
  baseline_.Update(t, x);
  if (n_ == 0) {
    min_ = max_ = x;
  } else {
    min_ = std::min(min_, x);
    max_ = std::max(max_, x);
  }
  ++n_;
  return result;
}

}  // namespace candor::detectors
