// A univariate anomaly scorer: one configuration for any series, online, scores in [0, 1].
// It is what `candor detect` runs (NAB results format) and what candor's NAB benchmark scores.
// EXPERIMENTAL: the method is being tuned; see bench/README.md.
//
// Thread safety: not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_ANOMALY_SCORER_H_
#define CANDOR_DETECTORS_ANOMALY_SCORER_H_

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "detectors/anomaly_likelihood.h"
#include "detectors/seasonal_baseline.h"
#include "detectors/sliding_rank.h"

namespace candor::detectors {

struct AnomalyScorerOptions {
  int window = 8;         // Embedding length for the pattern channel.
  int max_memory = 2000;  // Past embeddings searched.
  int history = 20000;    // Values kept for the scale estimate.
  double scale_q = 0.01;  // Scale = q(1 - scale_q) - q(scale_q).
  int warmup = 150;
  double gpd_tail = 0.02;
  int raw_history = 20000;
  double decay = 0.99;
  double suppress_gain = 1.0;
  double score_scale = 5.0;
  int smooth = 1;
  // Channel weights (0 = off); a channel's surprise is multiplied by its weight.
  double w_novelty = 1.0;
  double w_pattern = 0.0;
  double w_level = 0.0;
  double w_seasonal = 0.0;
  double w_density = 0.0;
  double w_diff = 0.0;
  double w_coarse = 0.0;
  int block = 6;
  int coarse_window = 8;
  int coarse_memory = 4000;
  int block_mode = 0;
  int hold_coarse = 0;
  int min_history = 50;
  int seasonal_window = 1;
  int level_window2 = 64;
  int combine = 0;
  double spatial_tolerance = 0.05;
  int spatial_override = 0;
  int spatial_refractory = 0;
  double secondary_cap = 0.999;
  double after_spatial_gain = 1.0;  // 0: extreme vs moving average; 1: mean.
  int level_window = 8;
  int density_window = 20;
  double density_q = 0.95;
  double min_raw = 0.0;
  int value_mode = 0;
  double tail_floor = 0.05;
  int likelihood_mode = 0;
  double likelihood_gain = 10.0;
  double likelihood_mix = 0.0;
  int record_memory = 0;
  double record_weight = 1.0;  // Raw values below this (in scale units) score 0 surprise.
};
absl::Status Validate(const AnomalyScorerOptions& options);

class AnomalyScorer {
 public:
  static absl::StatusOr<AnomalyScorer> Create(const AnomalyScorerOptions& options);

  double Update(absl::Time t, double x);

  static constexpr int kChannels = 7;
  const std::array<double, kChannels>& last_surprise() const { return last_surprise_; }

 private:
  explicit AnomalyScorer(const AnomalyScorerOptions& options);
  double NearestDistance(double scale) const;
  double CoarseDistance(double scale) const;
  double ChannelSurprise(int c, double raw);

  AnomalyScorerOptions options_;
  int64_t n_ = 0;
  std::vector<double> series_;
  std::vector<double> blocks_;
  std::deque<double> residuals_;
  double block_ma_ = 0.0;
  double coarse_surprise_ = 0.0;
  SlidingRank values_;
  std::vector<SlidingRank> raws_;
  std::deque<double> smooth_;
  double smooth_sum_ = 0.0;
  double min_ = 0.0;
  double max_ = 0.0;
  double peak_ = 0.0;
  int spatial_quiet_ = 0;
  std::array<double, kChannels> last_surprise_ = {};
  RobustSeasonalBaseline baseline_;
  AnomalyLikelihood likelihood_;
  std::array<std::deque<double>, kChannels> records_;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_ANOMALY_SCORER_H_
