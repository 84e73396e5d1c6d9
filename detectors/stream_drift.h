// Streaming change detectors for one scalar stream: ADWIN (means with a guarantee, for rates)
// and Page-Hinkley (slow drifts).
//
// ADWIN (Bifet & Gavaldà, SDM 2007, the ADWIN2 variant with exponential-histogram buckets):
// keeps an adaptive window of recent values and drops its older part whenever two sub-windows
// have means that differ by more than eps_cut = sqrt(2/m * sigma^2 * ln(2/d')) + 2/(3m) ln(2/d'),
// m the harmonic mean of the sub-window sizes, d' = delta / ln(n). False-alarm design: while
// the mean is stable, the probability of a cut at any step is at most delta. Memory
// O(max_buckets * log(W)).
//
// Page-Hinkley (Page 1954; Hinkley 1971; River's form): with the running mean mean_t,
// U_t = alpha U_{t-1} + (x_t - mean_t - delta) and L_t = alpha L_{t-1} + (x_t - mean_t + delta);
// alarm when U_t - min U > threshold (increase) or max L - L_t > threshold (decrease). The
// threshold is in the signal's units; there is no closed-form ARL, so candor feeds it standardised
// residuals where a threshold of 50 sigma of cumulative drift is meaningful.
//
// Thread safety: not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_STREAM_DRIFT_H_
#define CANDOR_DETECTORS_STREAM_DRIFT_H_

#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "detectors/finding.h"

namespace candor::detectors {

struct AdwinOptions {
  // Confidence delta in (0, 1): the false-cut probability bound. Default: 0.002.
  double delta = 0.002;
  // Check for cuts every `clock` samples, >= 1. Default: 32.
  int clock = 32;
  // Buckets per exponential-histogram row, >= 2. Default: 5.
  int max_buckets = 5;
  // Fewest samples on each side of a cut, >= 1. Default: 5.
  int min_window_length = 5;
  // Samples before any cut is checked, >= 1. Default: 10.
  int grace_period = 10;
};
absl::Status Validate(const AdwinOptions& options);

class Adwin final : public StreamDetector {
 public:
  static absl::StatusOr<Adwin> Create(const AdwinOptions& options);

  // Active on the update at which a cut happens (a change was detected); onset = the time of
  // the first sample kept after the cut; observed = mean of the kept (new) part, baseline =
  // mean of the dropped part.
  Finding Update(absl::Time t, double x) override;
  void Reset() override;
  std::string_view name() const override { return "adwin"; }

  int64_t width() const { return width_; }
  double mean() const { return width_ > 0 ? total_ / static_cast<double>(width_) : 0.0; }
  double variance() const { return width_ > 0 ? variance_ / static_cast<double>(width_) : 0.0; }

 private:
  struct Bucket {
    double total;
    double variance;   // Sum of squared deviations within the bucket.
    absl::Time start;  // Time of the oldest sample in the bucket.
  };
  explicit Adwin(const AdwinOptions& options);
  void Insert(absl::Time t, double x);
  void Compress();
  bool DetectCut(absl::Time* onset, double* old_mean, double* new_mean);
  void DropOldest();

  AdwinOptions options_;
  // rows_[r] holds buckets of 2^r samples, newest first.
  std::vector<std::deque<Bucket>> rows_;
  int64_t width_ = 0;
  double total_ = 0.0;
  double variance_ = 0.0;
  int64_t seen_ = 0;
};

struct PageHinkleyOptions {
  // Samples before alarms are possible, >= 1. Default: 30.
  int min_instances = 30;
  // Magnitude of change tolerated per sample, >= 0 (signal units). Default: 0.005.
  double delta = 0.005;
  // Alarm threshold lambda on the cumulative deviation, > 0 (signal units). Default: 50.
  double threshold = 50.0;
  // Fading factor on the cumulative sum, in (0, 1]. Default: 0.9999.
  double alpha = 0.9999;
  // Default: kBoth.
  Sides sides = Sides::kBoth;
  // After an alarm, start over (River's behaviour). Default: true.
  bool reset_after_alarm = true;
};
absl::Status Validate(const PageHinkleyOptions& options);

class PageHinkley final : public StreamDetector {
 public:
  static absl::StatusOr<PageHinkley> Create(const PageHinkleyOptions& options);

  // Active on the update where the cumulative deviation passes the threshold; onset = time of
  // the running minimum (increase) or maximum (decrease) of the sum.
  Finding Update(absl::Time t, double x) override;
  void Reset() override;
  std::string_view name() const override { return "page_hinkley"; }

 private:
  explicit PageHinkley(const PageHinkleyOptions& options);

  PageHinkleyOptions options_;
  int64_t n_ = 0;
  double mean_ = 0.0;
  double sum_up_ = 0.0;    // Faded sum of (x - mean - delta); an increase makes it climb.
  double sum_down_ = 0.0;  // Faded sum of (x - mean + delta); a decrease makes it fall.
  double min_up_ = 0.0;
  double max_down_ = 0.0;
  absl::Time min_time_ = absl::InfinitePast();
  absl::Time max_time_ = absl::InfinitePast();
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_STREAM_DRIFT_H_
