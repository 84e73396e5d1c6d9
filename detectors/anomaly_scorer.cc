#include "detectors/anomaly_scorer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace candor::detectors {

namespace {
SeasonalBaselineOptions BaselineOptions(const AnomalyScorerOptions& o) {
  SeasonalBaselineOptions b;
  b.daily_buckets = o.daily_buckets;
  b.weekly = o.weekly != 0;
  return b;
}
}  // namespace

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
      baseline_(*RobustSeasonalBaseline::Create(BaselineOptions(options))),
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
    const bool spatial = n_ >= o.warmup && range > 0 &&
                         (x > max_ + o.spatial_tolerance * range ||
                          x < min_ - o.spatial_tolerance * range);
    result = std::min(result, o.secondary_cap);
    // Multi-scale range novelty: rolling means over several lengths breaking their own range.
    double ms_level = 0.0;
    double strength = 0.0;
    const double weights_ms[3] = {o.ms_weight1, o.ms_weight2, o.ms_weight3};
    if (spatial) strength = std::max(x - max_, min_ - x) / range;
    last_surprise_.fill(0.0);
    if (spatial) last_surprise_[0] = strength;
    const int scales[3] = {o.ms_scale1, o.ms_scale2, o.ms_scale3};
    const double levels[3] = {o.ms_level1, o.ms_level2, o.ms_level3};
    for (int k = 0; k < 3; ++k) {
      const int len = scales[k];
      if (len <= 1) continue;
      auto& st = ms_[static_cast<size_t>(k)];
      st.sum += x;
      st.window.push_back(x);
      if (static_cast<int>(st.window.size()) > len) {
        st.sum -= st.window.front();
        st.window.pop_front();
      }
      if (static_cast<int>(st.window.size()) < len) continue;
      const double m = st.sum / len;
      if (!st.init) {
        st.lo = st.hi = m;
        st.init = true;
        continue;
      }
      const double r = st.hi - st.lo;
      const double tol = k == 0 ? o.ms_tolerance : (k == 1 ? o.ms_tolerance2 : o.ms_tolerance3);
      if (n_ >= o.warmup && r > 0 && (m > st.hi + tol * r || m < st.lo - tol * r)) {
        ms_level = std::max(ms_level, levels[k]);
        const double excess = std::max(m - st.hi, st.lo - m) / r;
        strength = std::max(strength, excess * weights_ms[k]);
        last_surprise_[static_cast<size_t>(k + 1)] = excess;
      }
      st.lo = std::min(st.lo, m);
      st.hi = std::max(st.hi, m);
    }
    if (o.vol_scale > 1 && n_ > 0) {
      auto& st = vol_ms_;
      const double d = std::fabs(x - prev_x_);
      st.sum += d;
      st.window.push_back(d);
      if (static_cast<int>(st.window.size()) > o.vol_scale) {
        st.sum -= st.window.front();
        st.window.pop_front();
      }
      if (static_cast<int>(st.window.size()) == o.vol_scale) {
        const double m = st.sum / o.vol_scale;
        if (!st.init) {
          st.lo = st.hi = m;
          st.init = true;
        } else {
          const double rr = st.hi - st.lo;
          const bool up = m > st.hi + o.ms_tolerance * rr;
          const bool down = o.vol_down && m < st.lo - o.ms_tolerance * rr;
          if (n_ >= o.warmup && rr > 0 && (up || down)) {
            ms_level = std::max(ms_level, o.ms_level3);
            const double excess = std::max(m - st.hi, st.lo - m) / rr;
            strength = std::max(strength, excess * o.vol_weight);
          }
          st.lo = std::min(st.lo, m);
          st.hi = std::max(st.hi, m);
        }
      }
    }
    if (o.season_scale > 1) {
      auto& st = season_ms_;
      if (e.seasonal) {
        const double r = x - e.value;
        st.sum += r;
        st.window.push_back(r);
        if (static_cast<int>(st.window.size()) > o.season_scale) {
          st.sum -= st.window.front();
          st.window.pop_front();
        }
        ++season_n_;
        if (season_start_ == absl::InfinitePast()) season_start_ = t;
        if (static_cast<int>(st.window.size()) == o.season_scale) {
          const double m = st.sum / o.season_scale;
          if (!st.init) {
            st.lo = st.hi = m;
            st.init = true;
          } else {
            const double rr = st.hi - st.lo;
            const bool warm = o.season_days > 0 ? t - season_start_ >= absl::Hours(24) * o.season_days
                                                : season_n_ > o.season_warmup;
            if (warm && rr > 0 &&
                (m > st.hi + o.ms_tolerance * rr || m < st.lo - o.ms_tolerance * rr)) {
              ms_level = std::max(ms_level, o.ms_level3);
              const double excess = std::max(m - st.hi, st.lo - m) / rr;
              strength = std::max(strength, excess * o.season_weight);
              last_surprise_[4] = excess;
            }
            st.lo = std::min(st.lo, m);
            st.hi = std::max(st.hi, m);
          }
        }
      }
    }
    const bool quiet = since_spatial_ <= o.spatial_refractory;
    const bool event = spatial || ms_level > 0.0;
    bool weaker = false;
    if (o.event_decay > 0.0) {
      weaker = strength <= event_peak_ * o.event_ratio;
      if (event) event_peak_ = std::max(event_peak_, strength);
      event_peak_ *= o.event_decay;
    }
    if (event && !quiet && !weaker) {
      if (o.continuous == 1) {
        result = 0.5 + 0.5 * strength / (strength + o.strength_scale);
      } else {
        result = spatial ? 1.0 : std::max(result, ms_level);
      }
    } else if (quiet) {
      result *= o.after_spatial_gain;
    }
    since_spatial_ = event ? 0 : since_spatial_ + 1;
  }
  values_.Insert(x);
  baseline_.Update(t, x);
  prev_x_ = x;
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
