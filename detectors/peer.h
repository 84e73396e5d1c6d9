// Peer baselines: judging an entity against its peers at the same moment (the same model on
// other nodes, providers or zones), which needs no history and is immune to fleet-wide
// seasonality: if every provider slows down at 9 am, none of them is an outlier.
//
// - PeerMadZ: robust z-score of one value against the peers' median and MAD
//   (Iglewicz & Hoaglin 1993: z = 0.6745 (x - median) / MAD, outlier when |z| > 3.5).
// - PeerRatioCusum: log of the ratio to the peer median, standardised and fed into a tabular
//   CUSUM so a persistent gap ("one provider's tokens/s down 40 %") fires and a one-window
//   blip does not.
// - MannWhitneyJudge: Kayenta-style canary judgement (NetflixACAJudge-v1.0): Mann-Whitney U
//   two-sided, a confidence interval on the location shift (Hodges-Lehmann), a tolerance band
//   of 0.25 |HL| and a mean-ratio effect-size gate.
//
// Thread safety: the functions are pure; PeerRatioCusum instances have one owner each.

#ifndef CANDOR_DETECTORS_PEER_H_
#define CANDOR_DETECTORS_PEER_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "detectors/finding.h"
#include "detectors/spc_charts.h"

namespace candor::detectors {

struct PeerZOptions {
  // Alarm when |z| >= threshold (modified z units). Default: 3.5 (Iglewicz & Hoaglin).
  double threshold = 3.5;
  // Fewest peers (not counting the judged entity) for a verdict, >= 2. Default: 3.
  int min_peers = 3;
  // Compare logarithms (for rates, latencies, throughputs: multiplicative noise). Values must
  // then be > 0. Default: true.
  bool log_scale = true;
  // Floor on the MAD, relative to |median| (>= 0), so identical peers do not make every
  // difference infinite. Default: 0.01 (1 %).
  double min_relative_mad = 0.01;
  // Default: kBoth.
  Sides sides = Sides::kBoth;
};
absl::Status Validate(const PeerZOptions& options);

// Judges `value` at time `t` against `peers` (which must not include the judged entity).
// Finding: detector "peer_mad_z", statistic "modified_z", baseline = peer median (in the
// value's units), score rises from 0 at |z| = 0 to 1 at twice the threshold.
// Errors: InvalidArgumentError on bad options, non-finite input, or (log_scale) a value <= 0;
// FailedPreconditionError if fewer than min_peers finite peers remain.
absl::StatusOr<Finding> PeerMadZ(absl::Time t, double value, std::span<const double> peers,
                                 const PeerZOptions& options);

struct PeerRatioCusumOptions {
  // CUSUM on the standardised log ratio log(value / peer median). The in-control mean and
  // sigma of the log ratio come from `cusum.in_control` (estimated over warm-up by default;
  // a persistent but stable gap, e.g. a smaller instance type, becomes the reference).
  // Default: k = 0.5, h = 5, two-sided (ARL0 = 465 windows).
  CusumOptions cusum;
  // Floor on the log-ratio sigma, > 0: peers that agree to 0.1 % must not make a 2 % gap an
  // alarm. Default: 0.02 (2 % relative noise).
  double min_log_sigma = 0.02;
  // Fewest peers for an update, >= 1. Default: 2.
  int min_peers = 2;
  // The finding is active only while the smoothed ratio differs from the reference ratio by
  // at least this fraction, in [0, 1). Default: 0.1 (10 %); a 40 % drop passes easily.
  double min_effect = 0.1;
};
absl::Status Validate(const PeerRatioCusumOptions& options);

class PeerRatioCusum {
 public:
  static absl::StatusOr<PeerRatioCusum> Create(const PeerRatioCusumOptions& options);

  // Feeds the window ending at `t`: this entity's `value` and its peers' values (> 0).
  // Finding: detector "peer_ratio_cusum", statistic "cusum_lower"/"cusum_upper", observed =
  // value, baseline = peer median times the reference ratio.
  // Errors: InvalidArgumentError if value or a peer is non-finite or <= 0;
  // FailedPreconditionError if fewer than min_peers peers (nothing learned).
  absl::StatusOr<Finding> Update(absl::Time t, double value, std::span<const double> peers);
  void Reset();

  // Smoothed ratio value / peer median (EW, weight 0.2).
  double ratio() const;

 private:
  PeerRatioCusum(const PeerRatioCusumOptions& options, CusumChart chart);

  PeerRatioCusumOptions options_;
  CusumChart chart_;
  double smoothed_log_ratio_ = 0.0;
  bool have_ratio_ = false;
};

enum class JudgeVerdict : unsigned char { kPass, kHigh, kLow, kNoData };
// "pass", "high", "low", "nodata".
std::string_view JudgeVerdictName(JudgeVerdict v);

struct MannWhitneyOptions {
  // Confidence level of the interval on the location shift, in (0, 1). Default: 0.98.
  double confidence = 0.98;
  // Tolerance band as a fraction of |HL estimate|, >= 0. Default: 0.25.
  double tolerance = 0.25;
  // Which deviations fail: kUpper = only increases (latency), kLower = only decreases
  // (throughput), kBoth. Default: kBoth.
  Sides direction = Sides::kBoth;
  // Effect-size gates on mean(experiment)/mean(control): High needs ratio >= allowed_increase,
  // Low needs ratio <= allowed_decrease. Defaults: 1.0 and 1.0 (Kayenta's).
  double allowed_increase = 1.0;
  double allowed_decrease = 1.0;
  // Remove outliers outside [Q1 - f IQR, Q3 + f IQR] (widened to the 1st/99th percentiles)
  // before testing. Default: false; factor default 3.0.
  bool remove_outliers = false;
  double outlier_factor = 3.0;
  // Fewest samples on each side for a verdict (fewer gives kNoData), >= 1. Default: 3.
  int min_samples = 3;
};
absl::Status Validate(const MannWhitneyOptions& options);

struct MannWhitneyResult {
  JudgeVerdict verdict = JudgeVerdict::kNoData;
  double u = 0.0;            // U statistic of the experiment sample.
  double z = 0.0;            // Normal approximation with tie and continuity corrections.
  double p_value = 1.0;      // Two-sided.
  double hl_estimate = 0.0;  // Hodges-Lehmann location shift, experiment - control.
  double ci_lower = 0.0;     // Confidence interval on the shift.
  double ci_upper = 0.0;
  double mean_ratio = 1.0;       // mean(experiment) / mean(control) (NaN if the control mean is 0).
  double cles = 0.5;             // P(experiment > control) + 0.5 P(equal).
  double mean_experiment = 0.0;  // After NaN and outlier removal.
  double mean_control = 0.0;
  int64_t n_experiment = 0;  // After NaN and outlier removal.
  int64_t n_control = 0;
};

// Judges `experiment` (canary) against `control` (stable). NaNs are removed. Identical or
// all-equal samples pass. Errors: InvalidArgumentError on bad options.
// Cost: O((n + m) log(n + m)) per root-finding step, ~60 steps.
absl::StatusOr<MannWhitneyResult> MannWhitneyJudge(std::span<const double> experiment,
                                                   std::span<const double> control,
                                                   const MannWhitneyOptions& options);

// The judgement as a Finding at time `t`: detector "mann_whitney", statistic "p_value",
// active for kHigh/kLow, observed = experiment mean, baseline = control mean.
Finding ToFinding(const MannWhitneyResult& r, absl::Time t, const MannWhitneyOptions& options);

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_PEER_H_
