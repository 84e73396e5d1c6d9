#include "detectors/anomaly_likelihood.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace candor::detectors {
namespace {

// Upper-tail probability of the standard normal.
double NormalTail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

absl::Status Validate(const AnomalyLikelihoodOptions& o) {
  if (o.short_window < 1) {
    return absl::InvalidArgumentError("anomaly likelihood: short_window must be >= 1");
  }
  if (o.history < o.short_window) {
    return absl::InvalidArgumentError(
        absl::StrCat("anomaly likelihood: history must be >= short_window (", o.short_window,
                     "), got ", o.history));
  }
  if (o.reestimate_every < 1) {
    return absl::InvalidArgumentError("anomaly likelihood: reestimate_every must be >= 1");
  }
  if (o.learning_period < 2) {
    return absl::InvalidArgumentError("anomaly likelihood: learning_period must be >= 2");
  }
  if (!(o.min_sigma > 0.0)) {
    return absl::InvalidArgumentError("anomaly likelihood: min_sigma must be > 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<AnomalyLikelihood> AnomalyLikelihood::Create(
    const AnomalyLikelihoodOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return AnomalyLikelihood(options);
}

AnomalyLikelihood::AnomalyLikelihood(const AnomalyLikelihoodOptions& options) : options_(options) {
  Reset();
}

void AnomalyLikelihood::Reset() {
  history_.assign(static_cast<size_t>(options_.history), 0.0);
  recent_.assign(static_cast<size_t>(options_.short_window), 0.0);
  count_ = 0;
  recent_sum_ = 0.0;
  mu_ = 0.0;
  sigma_ = 1.0;
  estimated_ = false;
}

void AnomalyLikelihood::Reestimate() {
  const int64_t n = std::min<int64_t>(count_, options_.history);
  // Recomputed from the ring (not from running sums) so rounding cannot accumulate.
  double sum = 0.0;
  double sq = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = history_[static_cast<size_t>(i)];
    sum += v;
    sq += v * v;
  }
  mu_ = sum / static_cast<double>(n);
  const double var = std::max(0.0, sq / static_cast<double>(n) - mu_ * mu_);
  sigma_ = std::max(std::sqrt(var), options_.min_sigma);
  estimated_ = true;
}

double AnomalyLikelihood::Update(double raw_score) {
  if (!std::isfinite(raw_score)) {
    double worst = 0.0;
    const int64_t n = std::min<int64_t>(count_, options_.history);
    for (int64_t i = 0; i < n; ++i) worst = std::max(worst, history_[static_cast<size_t>(i)]);
    raw_score = worst;
  }
  const auto w = static_cast<size_t>(options_.short_window);
  const auto h = static_cast<size_t>(options_.history);
  const auto slot = static_cast<size_t>(count_);
  recent_sum_ += raw_score - recent_[slot % w];
  recent_[slot % w] = raw_score;
  history_[slot % h] = raw_score;
  ++count_;
  if (count_ < options_.learning_period) return 0.5;
  if (!estimated_ || (count_ - options_.learning_period) % options_.reestimate_every == 0) {
    Reestimate();
  }
  const double recent_mean =
      recent_sum_ / static_cast<double>(std::min<int64_t>(count_, options_.short_window));
  return 1.0 - NormalTail((recent_mean - mu_) / sigma_);
}

double AnomalyLikelihood::LogLikelihood(double likelihood) {
  const double l = std::clamp(likelihood, 0.0, 1.0);
  return std::clamp(std::log(1.0000000001 - l) / std::log(1e-10), 0.0, 1.0);
}

}  // namespace candor::detectors
