#include "detectors/entity_monitor.h"

#include <algorithm>
#include <cmath>

#include "common/status.h"

namespace candor::detectors {
namespace {

using S = Signal;

struct Watch {
  S signal;
  Sides sides;
};

// Which signals get a stack, per entity kind (what the rules read for that kind).
std::vector<Watch> WatchedSignals(EntityKind kind) {
  switch (kind) {
    case EntityKind::kFleet:
      return {{S::kLatencyP95, Sides::kUpper}};
    case EntityKind::kRoute:
      return {{S::kLatencyP95, Sides::kUpper},
              {S::kTtftP95, Sides::kUpper},
              {S::kInputTokensP50, Sides::kBoth},
              {S::kOutputTokensMean, Sides::kBoth},
              {S::kQualityMean, Sides::kLower}};
    case EntityKind::kModel:
      return {{S::kServiceP95, Sides::kUpper},    {S::kServiceTtftP95, Sides::kUpper},
              {S::kInputTokensP50, Sides::kBoth}, {S::kOutputTokensMean, Sides::kBoth},
              {S::kQualityMean, Sides::kLower},   {S::kQueueDepthMean, Sides::kUpper},
              {S::kDecodeTpsP50, Sides::kLower}};
    case EntityKind::kProvider:
      return {{S::kServiceP95, Sides::kUpper}, {S::kDecodeTpsP50, Sides::kLower}};
    case EntityKind::kNode:
      return {{S::kServiceP95, Sides::kUpper},
              {S::kDecodeTpsP50, Sides::kLower},
              {S::kQueueDepthMean, Sides::kUpper},
              {S::kPreemptionRate, Sides::kUpper}};
    case EntityKind::kReplica:
      return {{S::kServiceP95, Sides::kUpper},     {S::kDecodeTpsP50, Sides::kLower},
              {S::kQueueDepthMean, Sides::kUpper}, {S::kFinishedRate, Sides::kLower},
              {S::kPreemptionRate, Sides::kUpper}, {S::kKvUsageMean, Sides::kUpper}};
    case EntityKind::kDependency:
      return {{S::kLatencyP95, Sides::kUpper}};
    default:
      return {};
  }
}

std::vector<Rate> WatchedRates(EntityKind kind) {
  switch (kind) {
    case EntityKind::kRoute:
      return {Rate::kErrors, Rate::kTimeouts, Rate::kFallback, Rate::kValidation,
              Rate::kTruncation};
    case EntityKind::kModel:
      return {Rate::kErrors, Rate::kValidation, Rate::kTruncation};
    case EntityKind::kDependency:
      return {Rate::kErrors, Rate::kTimeouts};
    case EntityKind::kFleet:
    case EntityKind::kProvider:
    case EntityKind::kNode:
    case EntityKind::kReplica:
      return {Rate::kErrors};
    default:
      return {};
  }
}

SignalDetectorOptions StackOptions(Sides sides) {
  SignalDetectorOptions o;
  o.sides = sides;
  // About eight minutes of memory at 10 s windows: follows the daily swing, not a 2-minute
  // ramp; frozen while the stack is active anyway.
  o.baseline.tracker_alpha = 0.02;
  return o;
}

BernoulliCusumOptions ChartOptions() {
  BernoulliCusumOptions o;
  o.warmup_trials = 2000;
  o.arl0_trials = 1e9;
  o.sides = Sides::kUpper;
  return o;
}

// (events, trials) of a rate in a window.
std::pair<int64_t, int64_t> Counts(Rate r, EntityKind kind, const WindowSummary& w) {
  const auto n = [&](S s) {
    const double v = w.Get(s);
    return std::isfinite(v) ? static_cast<int64_t>(v) : int64_t{0};
  };
  switch (r) {
    case Rate::kErrors:
      return {n(S::kErrors) + (kind == EntityKind::kRoute || kind == EntityKind::kDependency
                                   ? n(S::kTimeouts)
                                   : n(S::kOwnTimeouts)),
              n(S::kRequests)};
    case Rate::kTimeouts:
      return {n(S::kTimeouts), n(S::kRequests)};
    case Rate::kFallback:
      return {n(S::kFallback), n(S::kRequests)};
    case Rate::kValidation:
      return {n(S::kValidationFailed), n(S::kValidationChecked)};
    case Rate::kTruncation:
      return {n(S::kTruncated), n(S::kRequests)};
    case Rate::kCount:
      break;
  }
  return {0, 0};
}

}  // namespace

absl::Time RateEval::Onset(absl::Time fallback) const {
  absl::Time t = finding.active && finding.onset != absl::InfinitePast() ? finding.onset : fallback;
  if (excess_since != absl::InfinitePast()) t = std::max(t, excess_since);
  return std::min(t, fallback);
}

std::string_view RateName(Rate r) {
  switch (r) {
    case Rate::kErrors:
      return "error_rate";
    case Rate::kTimeouts:
      return "timeout_rate";
    case Rate::kFallback:
      return "fallback_rate";
    case Rate::kValidation:
      return "validation_failure_rate";
    case Rate::kTruncation:
      return "truncation_rate";
    case Rate::kCount:
      break;
  }
  return "unknown";
}

EntityMonitor::EntityMonitor(EntityKind kind) : kind_(kind) {
  for (const Watch& w : WatchedSignals(kind)) {
    const SignalDetectorOptions options = StackOptions(w.sides);
    absl::StatusOr<SignalDetector> d = SignalDetector::Create(options);
    absl::StatusOr<RobustSeasonalBaseline> ref = RobustSeasonalBaseline::Create(options.baseline);
    CANDOR_CHECK(d.ok() && ref.ok());
    stacks_.push_back({w.signal, *std::move(d), *std::move(ref)});
  }
  for (Rate r : WatchedRates(kind)) {
    absl::StatusOr<BernoulliCusum> c = BernoulliCusum::Create(ChartOptions());
    CANDOR_CHECK(c.ok());
    charts_.emplace_back(r, *std::move(c));
  }
}

const EntityEval& EntityMonitor::Update(const WindowSummary& w, bool hold_reference) {
  for (Watched& watched : stacks_) {
    const Signal signal = watched.signal;
    const double x = w.Get(signal);
    SignalEval e;
    e.present = std::isfinite(x);
    const SignalVerdict v = watched.stack.Update(w.end, x);
    const Expectation ref = watched.reference.Update(w.end, x, hold_reference);
    e.ready = ref.ready && v.expectation.ready;
    e.value = x;
    e.expected = ref.value;
    e.finding = v.combined;
    // Name the chart that carried the verdict, not the stack.
    for (const Finding* member : {&v.cusum, &v.ewma, &v.shewhart}) {
      if (member->active && member->statistic == v.combined.statistic) {
        e.finding.detector = member->detector;
        break;
      }
    }
    eval_.signals[static_cast<size_t>(signal)] = e;
  }
  for (auto& [rate, chart] : charts_) {
    const auto [events, trials] = Counts(rate, kind_, w);
    RateEval e;
    e.trials = trials;
    e.events = events;
    e.rate = trials > 0 ? static_cast<double>(events) / static_cast<double>(trials) : kNoValue;
    absl::StatusOr<Finding> f = chart.Update(w.end, events, trials);
    if (f.ok()) e.finding = *f;
    e.ready = chart.warmed_up();
    e.p0 = chart.warmed_up() ? chart.p0() : kNoValue;
    const std::optional<RateEval>& prev = eval_.rates[static_cast<size_t>(rate)];
    if (e.ready && e.rate >= std::max(0.02, 2.0 * e.p0)) {
      e.excess_since = prev.has_value() && prev->excess_since != absl::InfinitePast()
                           ? prev->excess_since
                           : w.start;
    }
    eval_.rates[static_cast<size_t>(rate)] = e;
  }
  // Reporting history: steady for 6 windows makes an entity "reporting"; silence counts from
  // the last window with data.
  const double items = w.Get(S::kItems);
  if (w.has_data) {
    ++data_streak_;
    eval_.silent_windows = 0;
    eval_.last_data_end = w.end;
    if (data_streak_ >= 6) eval_.reporting = true;
    const double x = std::isfinite(items) ? items : 0.0;
    eval_.items_per_window =
        eval_.items_per_window == 0.0 ? x : 0.95 * eval_.items_per_window + 0.05 * x;
  } else {
    data_streak_ = 0;
    ++eval_.silent_windows;
  }
  return eval_;
}

}  // namespace candor::detectors
