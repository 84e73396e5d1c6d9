// A univariate anomaly scorer with one configuration for any series: online (no look-ahead,
// nothing known about the series in advance), scores in [0, 1]. It is what
// `candor detect` runs (NAB results format) and what candor's NAB benchmark scores.
//
// Method: multi-scale range novelty. An anomaly, for a series nobody has described to us, is
// a behaviour the series has not shown before. The scorer tracks, over the last
// `range_memory` samples, the range [lo, hi] of several statistics and raises an event when
// one leaves its range by more than a tolerance (a fraction of that range):
// - the value itself (a spike or a new level; the "spatial anomaly" of NAB's HTM detector,
//   Ahmad et al. 2017, which uses a 5 % tolerance);
// - rolling means over `short_scale` and `long_scale` samples (a burst, a sustained shift, a
//   slow drift that no single point reveals);
// - the rolling mean over `season_scale` samples of the residual against the robust seasonal
//   baseline (seasonal_baseline.h), once the baseline has served for `season_learn` (a
//   missing daily peak, a shifted daily pattern).
// An event scores 0.5 + 0.5 s / (s + 0.1), with s the largest weighted excess (excess over
// the range divided by the range), so stronger breaks rank higher; after an event the scorer
// is refractory for `refractory` samples, because a break reported once is reported.
// Between events the score is below 0.5: 0.4 times how close the statistics are to their
// range edges, a graded "how unusual" for plots and dashboards.
// False-alarm design: for i.i.d. data the chance that a sample sets a new record of the last M
// samples is about 1/M per statistic and side, and the tolerance asks for a margin on top; on
// stationary Gaussian noise with the defaults (M = 8640) that is about one event per 1,500
// samples (measured in anomaly_scorer_test), i.e. events are rare but never impossible: they
// are evidence, not pages.
// Memory: fixed, about 5 KB per series: per channel 64 block extremes over `range_memory`
// samples and its rolling window; the seasonal baseline's daily profile.
//
// Thread safety: not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_ANOMALY_SCORER_H_
#define CANDOR_DETECTORS_ANOMALY_SCORER_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "detectors/seasonal_baseline.h"

namespace candor::detectors {

struct AnomalyScorerOptions {
  // Samples seen before any event can fire, >= 2. Default: 150.
  int warmup = 150;
  // Tolerance of the value channel, a fraction of its range, >= 0. Default: 0.01.
  double point_tolerance = 0.01;
  // Rolling-mean lengths in samples (0 disables a channel), and their tolerances and weights
  // (weights rank one channel's breaks against another's). Defaults: 16 samples, tolerance
  // 0.01, weight 0.5; 64 samples, tolerance 0.02, weight 1.
  int short_scale = 16;
  double short_tolerance = 0.01;
  double short_weight = 0.5;
  int long_scale = 64;
  double long_tolerance = 0.02;
  double long_weight = 1.0;
  // Seasonal residual channel: rolling mean length in samples (0 disables), tolerance,
  // weight, and how long the seasonal baseline must have served before its residual range is
  // trusted. Defaults: 8 samples, 0.01, 1, 7 days.
  int season_scale = 8;
  double season_tolerance = 0.01;
  double season_weight = 1.0;
  absl::Duration season_learn = absl::Hours(24 * 7);
  // Samples after an event during which no new event fires, >= 0. Default: 20.
  int refractory = 20;
  // Samples over which each range is kept, 0 for all history. Default: 8640 (30 days of
  // 5-minute samples).
  int64_t range_memory = 8640;
  // The seasonal baseline behind the seasonal channel. Default: 48 daily buckets, no weekly
  // term.
  SeasonalBaselineOptions baseline = [] {
    SeasonalBaselineOptions b;
    b.weekly = false;
    return b;
  }();
};
absl::Status Validate(const AnomalyScorerOptions& options);

class AnomalyScorer {
 public:
  // Errors: InvalidArgumentError from Validate(options).
  static absl::StatusOr<AnomalyScorer> Create(const AnomalyScorerOptions& options);

  // Scores (t, x) against everything seen before it, then learns from it. Returns a score in
  // [0, 1]: >= 0.5 on an event, below 0.5 otherwise. Non-finite x scores 0 and is not learned.
  double Update(absl::Time t, double x);

  // Which channel raised the last event: 0 value, 1 short mean, 2 long mean, 3 seasonal
  // residual; -1 if the last update raised none.
  int last_event_channel() const { return last_channel_; }

 private:
  // The range of one statistic over roughly the last `memory` updates (all of them when 0):
  // kept per block of memory / kBlocks updates, so memory is fixed (2 kBlocks doubles) and a
  // block leaves the range whole, i.e. the range covers between memory - memory / kBlocks and
  // memory updates.
  class SlidingRange {
   public:
    static constexpr int kBlocks = 64;
    explicit SlidingRange(int64_t memory);
    void Add(double v);
    bool empty() const { return count_ == 0; }
    double lo() const { return std::min(closed_lo_, cur_lo_); }
    double hi() const { return std::max(closed_hi_, cur_hi_); }

   private:
    void CloseBlock();

    int64_t block_size_;  // 0: all history.
    int64_t count_ = 0;
    int64_t in_block_ = 0;
    double cur_lo_, cur_hi_;        // The open block.
    double closed_lo_, closed_hi_;  // Over the closed blocks kept.
    std::array<double, kBlocks> block_lo_{};
    std::array<double, kBlocks> block_hi_{};
    int blocks_ = 0;  // Closed blocks kept, up to kBlocks - 1.
    int head_ = 0;    // Next slot to write.
  };

  // A channel: an optional rolling mean of its input, and the range of that mean.
  struct Channel {
    Channel(int length, int64_t memory) : scale(length), range(memory) {}
    int scale;
    std::deque<double> window;
    double sum = 0.0;
    SlidingRange range;
  };

  struct Judgement {
    double excess = 0.0;     // How far past the range (in ranges), 0 if inside.
    double closeness = 0.0;  // 0 at the middle of the range, 1 at an edge, in [0, 1].
  };

  explicit AnomalyScorer(const AnomalyScorerOptions& options);
  // Feeds `v` to `c`; when its rolling mean is complete, judges it against the range seen so
  // far and then adds it. Returns false while the mean is incomplete.
  static bool Feed(Channel& c, double v, Judgement* j);

  AnomalyScorerOptions options_;
  int64_t n_ = 0;
  Channel point_;
  Channel short_;
  Channel long_;
  Channel season_;
  RobustSeasonalBaseline baseline_;
  absl::Time season_since_ = absl::InfinitePast();
  int64_t since_event_ = INT64_MAX / 2;
  int last_channel_ = -1;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_ANOMALY_SCORER_H_
