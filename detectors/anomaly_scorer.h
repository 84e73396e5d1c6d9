// A univariate anomaly scorer: one configuration for any series, online, scores in [0, 1].
// It is what `candor detect` runs (NAB results format) and what candor's NAB benchmark scores.
//
// Thread safety: not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_ANOMALY_SCORER_H_
#define CANDOR_DETECTORS_ANOMALY_SCORER_H_

#include <cstdint>
#include <deque>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "detectors/seasonal_baseline.h"
#include "detectors/sliding_rank.h"

namespace candor::detectors {

struct AnomalyScorerOptions {
  int history = 1000;
  int short_mean = 5;
  int long_mean = 0;
  bool diff_channel = true;
  bool seasonal_channel = false;
  int warmup = 150;
  double novelty_margin = 0.0;
  double novelty_bonus = 0.0;
  int smooth = 1;
  // Suppression.
  double decay = 0.0;  // Per-sample decay of the reference peak (0 = no suppression).
  double suppress_gain = 1.0;
  double score_scale = 3.0;
  double bonferroni = 1.0;
  double gpd_tail = 0.0;
  bool value_channel = true;
};
absl::Status Validate(const AnomalyScorerOptions& options);

class AnomalyScorer {
 public:
  static absl::StatusOr<AnomalyScorer> Create(const AnomalyScorerOptions& options);

  // Scores (t, x) against everything seen before it, then learns from it. Returns a score in
  // [0, 1]; non-finite x scores 0 and is not learned.
  double Update(absl::Time t, double x);

  // Raw surprise (-log10 of the combined tail probability) of the last update.
  double last_surprise() const { return last_surprise_; }

 private:
  explicit AnomalyScorer(const AnomalyScorerOptions& options);

  AnomalyScorerOptions options_;
  int64_t n_ = 0;
  SlidingRank values_;
  SlidingRank short_means_;
  SlidingRank long_means_;
  SlidingRank diffs_;
  SlidingRank seasonal_;
  std::deque<double> recent_;
  double recent_sum_ = 0.0;
  std::deque<double> recent_long_;
  double recent_long_sum_ = 0.0;
  double prev_ = 0.0;
  double min_ = 0.0;
  double max_ = 0.0;
  std::deque<double> smooth_;
  double smooth_sum_ = 0.0;
  double peak_ = 0.0;
  double last_surprise_ = 0.0;
  RobustSeasonalBaseline baseline_;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_ANOMALY_SCORER_H_
