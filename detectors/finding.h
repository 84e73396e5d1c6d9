// What every candor detector emits: a `Finding`, the verdict of one detector on one signal
// after one update, with the statistic behind it so the fleet state machine can explain itself.
//
// Detectors are pure: they are fed samples `(absl::Time, double)` or windowed summaries in
// event time, never read a clock and never do I/O. A detector instance belongs to one signal
// and one owner; it is not thread-safe (use one instance per thread, or guard it externally).
// `Finding` and the small types here are plain values, safe to copy across threads.

#ifndef CANDOR_DETECTORS_FINDING_H_
#define CANDOR_DETECTORS_FINDING_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace candor::detectors {

// Which way the observed value moved against its baseline.
enum class Direction : unsigned char {
  kNone,  // No movement, or the statistic is not directional (e.g. a KS distance).
  kUp,    // Observed above its baseline (latency up, error rate up, ...).
  kDown,  // Observed below its baseline (tokens/s down, throughput down, ...).
};

// "none", "up", "down".
std::string_view DirectionName(Direction d);

// Which deviations a chart watches.
enum class Sides : unsigned char {
  kBoth,   // Two-sided: alarms on increases and decreases.
  kUpper,  // Alarms only on increases.
  kLower,  // Alarms only on decreases.
};

// "both", "upper", "lower".
std::string_view SidesName(Sides s);
// Inverse of SidesName; InvalidArgumentError quoting the text otherwise.
absl::StatusOr<Sides> ParseSides(std::string_view text);

// One detector's verdict after one update.
//
// `detector` and `statistic` always point at string literals (static storage), so a Finding is
// cheap to produce on every sample and safe to keep.
struct Finding {
  // Stable detector name, e.g. "ewma", "cusum", "shewhart", "adwin", "page_hinkley",
  // "bernoulli_cusum", "peer_mad_z", "peer_ratio_cusum", "mann_whitney", "ks", "wasserstein",
  // "chi_squared", "jensen_shannon", "z_proportion", "anomaly_likelihood", "signal".
  std::string_view detector;
  // True while the detector's alarm condition holds at this update.
  bool active = false;
  // Severity in [0, 1]: 0 = nothing unusual, values near 1 = far past the alarm threshold.
  // Comparable across detectors only loosely; `statistic_value`/`threshold` are exact.
  double score = 0.0;
  Direction direction = Direction::kNone;
  // Event time of the sample (or window end) that produced this finding.
  absl::Time time = absl::InfinitePast();
  // Estimated start of the change (e.g. CUSUM's last zero crossing, ADWIN's cut point). Equal
  // to `time` when the detector has no better estimate; InfinitePast when not active.
  absl::Time onset = absl::InfinitePast();
  // Name of the statistic compared with `threshold`, e.g. "ewma_z", "cusum_upper", "ks_p_value".
  std::string_view statistic;
  double statistic_value = 0.0;
  // The alarm boundary for `statistic_value` (in the statistic's units). For p-values the
  // alarm is statistic_value <= threshold; for every other statistic it is >=.
  double threshold = 0.0;
  // The observed value (the sample, or the window summary the detector judged).
  double observed = 0.0;
  // What the detector expected: the in-control mean, the seasonal baseline, or the peer median.
  double baseline = 0.0;
};

// The common score scale: |statistic| / (2 * threshold) clamped to [0, 1], i.e. 0.5 exactly at
// the alarm threshold and 1 at twice it. `threshold` must be > 0 (otherwise 0 is returned).
double ThresholdScore(double statistic, double threshold);

// The same scale for p-values (alarm when p <= p_threshold): log(p) / (2 log(p_threshold)),
// clamped to [0, 1]. p_threshold must be in (0, 1).
double PValueScore(double p_value, double p_threshold);

// A streaming univariate detector: one instance per signal, fed in event-time order.
class StreamDetector {
 public:
  virtual ~StreamDetector() = default;

  // Feeds one sample. `t` must not decrease (an older sample is still accepted and judged, but
  // onset estimates assume order). Non-finite `x` is ignored: the returned finding repeats the
  // previous state with `active` unchanged and `observed` = x.
  virtual Finding Update(absl::Time t, double x) = 0;

  // Forgets everything learned, as if newly constructed with the same options.
  virtual void Reset() = 0;

  // The detector's stable name (see Finding::detector).
  virtual std::string_view name() const = 0;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_FINDING_H_
