#include "detectors/stream_drift.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace candor::detectors {

// ---- ADWIN ----

absl::Status Validate(const AdwinOptions& o) {
  if (!(o.delta > 0.0 && o.delta < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("adwin: delta must be in (0, 1), got ", o.delta));
  }
  if (o.clock < 1 || o.max_buckets < 2 || o.min_window_length < 1 || o.grace_period < 1) {
    return absl::InvalidArgumentError(
        "adwin: clock, min_window_length and grace_period must be >= 1, max_buckets >= 2");
  }
  return absl::OkStatus();
}

absl::StatusOr<Adwin> Adwin::Create(const AdwinOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return Adwin(options);
}

Adwin::Adwin(const AdwinOptions& options) : options_(options) { Reset(); }

void Adwin::Reset() {
  rows_.clear();
  width_ = 0;
  total_ = 0.0;
  variance_ = 0.0;
  seen_ = 0;
}

void Adwin::Insert(absl::Time t, double x) {
  if (rows_.empty()) rows_.emplace_back();
  rows_[0].push_front({x, 0.0, t});
  if (width_ > 0) {
    const double mean = total_ / static_cast<double>(width_);
    const auto w = static_cast<double>(width_);
    variance_ += w / (w + 1.0) * (x - mean) * (x - mean);
  }
  ++width_;
  total_ += x;
  Compress();
}

// Keeps at most max_buckets buckets per row: the two oldest of a full row merge into one
// bucket of the next row (exponential histogram, Datar et al. 2002).
void Adwin::Compress() {
  const auto limit = static_cast<size_t>(options_.max_buckets);
  for (size_t r = 0; r < rows_.size(); ++r) {
    if (rows_[r].size() <= limit) break;
    const Bucket older = rows_[r].back();
    rows_[r].pop_back();
    const Bucket newer = rows_[r].back();
    rows_[r].pop_back();
    const double n = std::ldexp(1.0, static_cast<int>(r));
    const double diff = older.total / n - newer.total / n;
    const Bucket merged{older.total + newer.total,
                        older.variance + newer.variance + n * n / (2.0 * n) * diff * diff,
                        older.start};
    if (r + 1 == rows_.size()) rows_.emplace_back();
    rows_[r + 1].push_front(merged);
  }
}

void Adwin::DropOldest() {
  size_t r = rows_.size();
  while (r > 0 && rows_[r - 1].empty()) --r;
  if (r == 0) return;
  const Bucket b = rows_[r - 1].back();
  rows_[r - 1].pop_back();
  const double nb = std::ldexp(1.0, static_cast<int>(r - 1));
  const auto nw = static_cast<double>(width_);
  const double nr = nw - nb;
  if (nr <= 0.0) {
    width_ = 0;
    total_ = variance_ = 0.0;
    return;
  }
  const double mean_b = b.total / nb;
  const double mean_r = (total_ - b.total) / nr;
  variance_ -= b.variance + nb * nr / nw * (mean_b - mean_r) * (mean_b - mean_r);
  variance_ = std::max(0.0, variance_);
  width_ -= static_cast<int64_t>(nb);
  total_ -= b.total;
  while (!rows_.empty() && rows_.back().empty()) rows_.pop_back();
}

bool Adwin::DetectCut(absl::Time* onset, double* old_mean, double* new_mean) {
  const auto n = static_cast<double>(width_);
  if (width_ < 2 * options_.min_window_length) return false;
  const double v = variance_ / n;
  const double log_term = std::log(2.0 * std::log(n) / options_.delta);
  double n0 = 0.0;
  double s0 = 0.0;
  // Walk cut points from the oldest bucket to the newest.
  for (size_t r = rows_.size(); r-- > 0;) {
    const double size = std::ldexp(1.0, static_cast<int>(r));
    const auto& row = rows_[r];
    for (size_t i = row.size(); i-- > 0;) {
      n0 += size;
      s0 += row[i].total;
      const double n1 = n - n0;
      if (n1 < options_.min_window_length) return false;
      if (n0 < options_.min_window_length) continue;
      const double m0 = s0 / n0;
      const double m1 = (total_ - s0) / n1;
      // m = 1 / (1/n0 + 1/n1): the harmonic-mean sample size of the two sub-windows.
      const double m = 1.0 / (1.0 / (n0 - options_.min_window_length + 1.0) +
                              1.0 / (n1 - options_.min_window_length + 1.0));
      const double eps = std::sqrt(2.0 / m * v * log_term) + 2.0 / (3.0 * m) * log_term;
      if (std::fabs(m0 - m1) > eps) {
        // The first sample after the cut starts the next-newer bucket.
        if (i > 0) {
          *onset = row[i - 1].start;
        } else if (r > 0 && !rows_[r - 1].empty()) {
          *onset = rows_[r - 1].back().start;
        }
        *old_mean = m0;
        *new_mean = m1;
        return true;
      }
    }
  }
  return false;
}

Finding Adwin::Update(absl::Time t, double x) {
  Finding f;
  f.detector = name();
  f.statistic = "mean_gap";
  f.time = t;
  f.observed = x;
  if (!std::isfinite(x)) return f;
  Insert(t, x);
  ++seen_;
  f.baseline = mean();
  if (seen_ % options_.clock != 0 || width_ <= options_.grace_period) return f;
  absl::Time onset = t;
  double old_mean = 0.0;
  double new_mean = 0.0;
  const int64_t width_before = width_;
  const double total_before = total_;
  bool changed = false;
  while (DetectCut(&onset, &old_mean, &new_mean)) {
    changed = true;
    DropOldest();
  }
  if (changed) {
    // The cuts move forward one bucket at a time; where they stop is the change estimate.
    for (size_t r = rows_.size(); r-- > 0;) {
      if (!rows_[r].empty()) {
        f.onset = rows_[r].back().start;
        break;
      }
    }
    const auto dropped = static_cast<double>(width_before - width_);
    f.active = true;
    f.baseline = dropped > 0 ? (total_before - total_) / dropped : old_mean;
    f.observed = mean();
    f.statistic_value = f.observed - f.baseline;
    f.direction = f.statistic_value > 0 ? Direction::kUp : Direction::kDown;
    f.threshold = 0.0;
    f.score = 1.0;
  }
  return f;
}

// ---- Page-Hinkley ----

absl::Status Validate(const PageHinkleyOptions& o) {
  if (o.min_instances < 1) {
    return absl::InvalidArgumentError("page hinkley: min_instances must be >= 1");
  }
  if (!(o.delta >= 0.0) || !(o.threshold > 0.0) || !(o.alpha > 0.0 && o.alpha <= 1.0)) {
    return absl::InvalidArgumentError(
        "page hinkley: need delta >= 0, threshold > 0, alpha in (0, 1]");
  }
  return absl::OkStatus();
}

absl::StatusOr<PageHinkley> PageHinkley::Create(const PageHinkleyOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return PageHinkley(options);
}

PageHinkley::PageHinkley(const PageHinkleyOptions& options) : options_(options) { Reset(); }

void PageHinkley::Reset() {
  n_ = 0;
  mean_ = sum_up_ = sum_down_ = min_up_ = max_down_ = 0.0;
  min_time_ = max_time_ = absl::InfinitePast();
}

Finding PageHinkley::Update(absl::Time t, double x) {
  Finding f;
  f.detector = name();
  f.statistic = "ph_up";
  f.time = t;
  f.observed = x;
  f.threshold = options_.threshold;
  if (!std::isfinite(x)) return f;
  ++n_;
  mean_ += (x - mean_) / static_cast<double>(n_);
  const double dev = x - mean_;
  sum_up_ = options_.alpha * sum_up_ + dev - options_.delta;
  sum_down_ = options_.alpha * sum_down_ + dev + options_.delta;
  if (sum_up_ < min_up_ || min_time_ == absl::InfinitePast()) {
    min_up_ = std::min(min_up_, sum_up_);
    min_time_ = t;
  }
  if (sum_down_ > max_down_ || max_time_ == absl::InfinitePast()) {
    max_down_ = std::max(max_down_, sum_down_);
    max_time_ = t;
  }
  f.baseline = mean_;
  const double up = sum_up_ - min_up_;
  const double down = max_down_ - sum_down_;
  const bool watch_up = options_.sides != Sides::kLower;
  const bool watch_down = options_.sides != Sides::kUpper;
  if (watch_down && (!watch_up || down > up)) {
    f.statistic = "ph_down";
    f.statistic_value = down;
    f.direction = down > 0 ? Direction::kDown : Direction::kNone;
    f.onset = max_time_;
  } else {
    f.statistic_value = up;
    f.direction = up > 0 ? Direction::kUp : Direction::kNone;
    f.onset = min_time_;
  }
  f.score = ThresholdScore(f.statistic_value, options_.threshold);
  f.active = n_ >= options_.min_instances && f.statistic_value > options_.threshold;
  if (!f.active) {
    f.onset = absl::InfinitePast();
    return f;
  }
  if (options_.reset_after_alarm) Reset();
  return f;
}

}  // namespace candor::detectors
