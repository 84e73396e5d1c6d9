#include "detectors/sliding_rank.h"

#include <algorithm>
#include <cmath>

namespace candor::detectors {

SlidingRank::SlidingRank(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {
  ring_.reserve(capacity_);
  sorted_.reserve(capacity_);
}

void SlidingRank::Clear() {
  ring_.clear();
  sorted_.clear();
  head_ = 0;
}

void SlidingRank::Insert(double x) {
  if (ring_.size() < capacity_) {
    ring_.push_back(x);
  } else {
    const double old = ring_[head_];
    ring_[head_] = x;
    head_ = (head_ + 1) % capacity_;
    const auto it = std::lower_bound(sorted_.begin(), sorted_.end(), old);
    // Shift the run between the evicted and the new position instead of erase + insert.
    const auto pos = std::lower_bound(sorted_.begin(), sorted_.end(), x);
    if (pos <= it) {
      std::move_backward(pos, it, it + 1);
      *pos = x;
    } else {
      std::move(it + 1, pos, it);
      *(pos - 1) = x;
    }
    return;
  }
  sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), x), x);
}

size_t SlidingRank::CountAtLeast(double x) const {
  return static_cast<size_t>(sorted_.end() - std::lower_bound(sorted_.begin(), sorted_.end(), x));
}

size_t SlidingRank::CountAtMost(double x) const {
  return static_cast<size_t>(std::upper_bound(sorted_.begin(), sorted_.end(), x) - sorted_.begin());
}

double SlidingRank::UpperTail(double x) const {
  return (static_cast<double>(CountAtLeast(x)) + 1.0) / (static_cast<double>(size()) + 1.0);
}

double SlidingRank::LowerTail(double x) const {
  return (static_cast<double>(CountAtMost(x)) + 1.0) / (static_cast<double>(size()) + 1.0);
}

namespace {

// Survival of excess `y` >= 0 under a generalised Pareto with moments of the excesses
// `mean` and `var` (method of moments: g = (1 - mean^2 / var) / 2, s = mean (1 + mean^2/var) / 2).
double GpdSurvival(double y, double mean, double var, double min_scale) {
  if (mean < min_scale) {
    mean = min_scale;
    var = std::max(var, min_scale * min_scale);
  }
  if (!(mean > 0.0)) return y > 0.0 ? 0.0 : 1.0;
  double g = var > 0.0 ? 0.5 * (1.0 - mean * mean / var) : -0.5;
  g = std::clamp(g, 0.0, 0.9);
  const double s = mean * (1.0 - g);  // Equivalent to the moment form for the clamped g.
  if (std::fabs(g) < 1e-6) return std::exp(-y / s);
  const double base = 1.0 + g * y / s;
  if (base <= 0.0) return 0.0;
  return std::pow(base, -1.0 / g);
}

}  // namespace

double SlidingRank::UpperTailGpd(double x, double tail_fraction, double min_scale) const {
  const size_t n = sorted_.size();
  const auto k = static_cast<size_t>(std::max(5.0, tail_fraction * static_cast<double>(n)));
  if (n < 2 * k) return UpperTail(x);
  const double u = sorted_[n - k - 1];
  if (x <= sorted_[n - 1]) return UpperTail(x);
  double mean = 0.0;
  double sq = 0.0;
  for (size_t i = n - k; i < n; ++i) {
    const double y = sorted_[i] - u;
    mean += y;
    sq += y * y;
  }
  mean /= static_cast<double>(k);
  const double var = std::max(0.0, sq / static_cast<double>(k) - mean * mean);
  const double p = static_cast<double>(k) / (static_cast<double>(n) + 1.0) *
                   GpdSurvival(x - u, mean, var, min_scale);
  return std::clamp(p, 1e-300, UpperTail(x));
}

double SlidingRank::LowerTailGpd(double x, double tail_fraction, double min_scale) const {
  const size_t n = sorted_.size();
  const auto k = static_cast<size_t>(std::max(5.0, tail_fraction * static_cast<double>(n)));
  if (n < 2 * k) return LowerTail(x);
  const double u = sorted_[k];
  if (x >= sorted_[0]) return LowerTail(x);
  double mean = 0.0;
  double sq = 0.0;
  for (size_t i = 0; i < k; ++i) {
    const double y = u - sorted_[i];
    mean += y;
    sq += y * y;
  }
  mean /= static_cast<double>(k);
  const double var = std::max(0.0, sq / static_cast<double>(k) - mean * mean);
  const double p = static_cast<double>(k) / (static_cast<double>(n) + 1.0) *
                   GpdSurvival(u - x, mean, var, min_scale);
  return std::clamp(p, 1e-300, LowerTail(x));
}

double SlidingRank::Quantile(double q) const {
  if (sorted_.empty()) return 0.0;
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted_.size() - 1);
  return sorted_[static_cast<size_t>(std::lround(pos))];
}

}  // namespace candor::detectors
