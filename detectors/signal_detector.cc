#include "detectors/signal_detector.h"

#include <cmath>
#include <utility>

namespace candor::detectors {
namespace {

InControlOptions StandardResidual(InControlOptions o) {
  o.mean = 0.0;
  o.sigma = 1.0;
  return o;
}

}  // namespace

absl::Status Validate(const SignalDetectorOptions& o) {
  if (absl::Status s = Validate(o.baseline); !s.ok()) return s;
  if (absl::Status s = Validate(o.ewma); !s.ok()) return s;
  if (absl::Status s = Validate(o.cusum); !s.ok()) return s;
  if (absl::Status s = Validate(o.shewhart); !s.ok()) return s;
  if (o.shewhart_spike_samples < 1) {
    return absl::InvalidArgumentError("signal: shewhart_spike_samples must be >= 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<SignalDetector> SignalDetector::Create(const SignalDetectorOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  SignalDetectorOptions o = options;
  o.ewma.sides = o.cusum.sides = o.shewhart.sides = o.sides;
  o.ewma.in_control = StandardResidual(o.ewma.in_control);
  o.cusum.in_control = StandardResidual(o.cusum.in_control);
  o.shewhart.in_control = StandardResidual(o.shewhart.in_control);
  auto baseline = RobustSeasonalBaseline::Create(o.baseline);
  auto ewma = EwmaChart::Create(o.ewma);
  auto cusum = CusumChart::Create(o.cusum);
  auto shewhart = ShewhartChart::Create(o.shewhart);
  if (!baseline.ok()) return baseline.status();
  if (!ewma.ok()) return ewma.status();
  if (!cusum.ok()) return cusum.status();
  if (!shewhart.ok()) return shewhart.status();
  return SignalDetector(o, *std::move(baseline), *std::move(ewma), *std::move(cusum),
                        *std::move(shewhart));
}

SignalDetector::SignalDetector(const SignalDetectorOptions& options,
                               RobustSeasonalBaseline baseline, EwmaChart ewma, CusumChart cusum,
                               ShewhartChart shewhart)
    : options_(options),
      baseline_(std::move(baseline)),
      ewma_(std::move(ewma)),
      cusum_(std::move(cusum)),
      shewhart_(std::move(shewhart)) {
  Reset();
}

void SignalDetector::Reset() {
  baseline_.Reset();
  ewma_.Reset();
  cusum_.Reset();
  shewhart_.Reset();
  spike_run_ = 0;
  last_ = SignalVerdict{};
  last_.combined.detector = "signal";
}

SignalVerdict SignalDetector::Update(absl::Time t, double x) {
  if (!std::isfinite(x)) {
    SignalVerdict v = last_;
    v.combined.observed = x;
    return v;
  }
  SignalVerdict v;
  v.expectation = baseline_.Expect(t);
  v.combined.detector = "signal";
  v.combined.time = t;
  v.combined.observed = x;
  v.combined.baseline = v.expectation.value;
  if (!v.expectation.ready) {
    baseline_.Update(t, x);
    last_ = v;
    return v;
  }
  v.residual = (x - v.expectation.value) / v.expectation.scale;
  v.ewma = ewma_.Update(t, v.residual);
  v.cusum = cusum_.Update(t, v.residual);
  v.shewhart = shewhart_.Update(t, v.residual);
  v.shewhart_rules = shewhart_.last_rules_fired();
  spike_run_ = (v.shewhart_rules & kRuleBeyond3Sigma) ? spike_run_ + 1 : 0;
  const bool spike = spike_run_ >= options_.shewhart_spike_samples;

  // The strongest member (active ones first) explains the combined verdict.
  const Finding* best = nullptr;
  for (const Finding* f : {&v.cusum, &v.ewma, &v.shewhart}) {
    const bool counts = f->active && (f != &v.shewhart || spike);
    const bool best_counts = best != nullptr && best->active && (best != &v.shewhart || spike);
    if (best == nullptr || (counts && !best_counts) ||
        (counts == best_counts && f->score > best->score)) {
      best = f;
    }
  }
  Finding& c = v.combined;
  c.active = v.ewma.active || v.cusum.active || spike;
  c.score = best->score;
  c.direction = best->direction;
  c.statistic = best->statistic;
  c.statistic_value = best->statistic_value;
  c.threshold = best->threshold;
  c.onset = c.active ? best->onset : absl::InfinitePast();
  if (c.active && c.onset == absl::InfinitePast()) c.onset = t;
  // Frozen while active: the incident must not become the baseline.
  baseline_.Update(t, x, c.active);
  last_ = v;
  return v;
}

}  // namespace candor::detectors
