// The full detector stack for one scalar signal of one entity (tokens/s of provider:aws, P99
// of route:chat, queue depth of a replica): a robust seasonal baseline, and on its
// standardised residual an EWMA chart (small sustained shifts), a CUSUM chart (persistent
// shifts, with an onset estimate) and a Shewhart chart (gross spikes; run rules as supporting
// evidence). The baseline is frozen while the stack is active, so an incident is judged
// against the pre-incident normal.
//
// The combined finding is active when EWMA or CUSUM is active, or Shewhart rule 1 fires on
// `shewhart_spike_samples` consecutive samples; its direction, onset and statistic are the
// strongest member's. Supporting run rules alone never make it active (ARL0 about 92).
// Design: with the default charts (EWMA ARL0 500, CUSUM ARL0 465) the union's in-control ARL
// is about 250 samples on Gaussian residuals; consumers add persistence and hysteresis.
//
// Thread safety: not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_SIGNAL_DETECTOR_H_
#define CANDOR_DETECTORS_SIGNAL_DETECTOR_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "detectors/finding.h"
#include "detectors/seasonal_baseline.h"
#include "detectors/spc_charts.h"

namespace candor::detectors {

struct SignalDetectorOptions {
  SeasonalBaselineOptions baseline;
  // Charts on the residual: in-control mean 0 and sigma 1 are set by the stack (the residual
  // is already standardised); the `in_control` fields given here are ignored.
  EwmaOptions ewma;
  CusumOptions cusum;
  ShewhartOptions shewhart;
  // Which deviations matter for this signal (tokens/s: kLower; latency: kUpper). Overrides
  // the charts' own `sides`. Default: kBoth.
  Sides sides = Sides::kBoth;
  // Consecutive Shewhart rule-1 samples that make the stack active on their own, >= 1.
  // Default: 2.
  int shewhart_spike_samples = 2;
};
absl::Status Validate(const SignalDetectorOptions& options);

// Everything the stack concluded about one sample.
struct SignalVerdict {
  Finding combined;  // detector "signal"; observed = x, baseline = expected value.
  Finding ewma;
  Finding cusum;
  Finding shewhart;
  Expectation expectation;      // What the baseline expected at this time.
  double residual = 0.0;        // (x - expected) / scale.
  uint32_t shewhart_rules = 0;  // ShewhartRule bits that fired (supporting evidence).
};

class SignalDetector {
 public:
  static absl::StatusOr<SignalDetector> Create(const SignalDetectorOptions& options);

  // Judges (t, x) and learns from it (unless the stack is active). Non-finite x returns the
  // previous verdict with `observed` = x and learns nothing.
  SignalVerdict Update(absl::Time t, double x);
  void Reset();

  const SignalVerdict& last() const { return last_; }

 private:
  SignalDetector(const SignalDetectorOptions& options, RobustSeasonalBaseline baseline,
                 EwmaChart ewma, CusumChart cusum, ShewhartChart shewhart);

  SignalDetectorOptions options_;
  RobustSeasonalBaseline baseline_;
  EwmaChart ewma_;
  CusumChart cusum_;
  ShewhartChart shewhart_;
  int spike_run_ = 0;
  SignalVerdict last_;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_SIGNAL_DETECTOR_H_
