// The detectors that watch one entity: a SignalDetector stack (robust seasonal baseline with
// EWMA, CUSUM and Shewhart charts on its residual) per scalar signal that matters for the
// entity's kind, a Bernoulli CUSUM per per-request rate (errors, timeouts, fallbacks,
// validation failures, truncation), and the entity's reporting history for `no-data`.
// Fed one WindowSummary per closed window; what it concludes is an EntityEval the fleet
// rules read.
//
// False-alarm design: each stack runs at ARL0 ≈ 250 windows and each rate chart at a
// guaranteed ARL0 ≥ 1e9 requests, so at fleet scale they fire by chance every few minutes
// somewhere; they are evidence, never states. The rules add effect-size floors, corroboration
// across signals and persistence (fleet_state_machine.h) before anything changes state.
//
// Thread safety: not thread-safe; the analyzer owns one monitor per entity.

#ifndef CANDOR_DETECTORS_ENTITY_MONITOR_H_
#define CANDOR_DETECTORS_ENTITY_MONITOR_H_

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/entity.h"
#include "detectors/finding.h"
#include "detectors/fleet_signals.h"
#include "detectors/proportion.h"
#include "detectors/seasonal_baseline.h"
#include "detectors/signal_detector.h"

namespace candor::detectors {

// Per-request rates watched with a Bernoulli CUSUM.
enum class Rate : uint8_t {
  kErrors,      // (errors + own timeouts) / requests; for routes all timeouts count.
  kTimeouts,    // timeouts / requests
  kFallback,    // fallback_tier > 0 / requests
  kValidation,  // validation failures / validated requests
  kTruncation,  // truncated prompts / requests
  kCount,
};
inline constexpr int kNumRates = static_cast<int>(Rate::kCount);
std::string_view RateName(Rate r);  // "error_rate", "timeout_rate", …

// What a scalar signal's stack said about the latest window.
struct SignalEval {
  bool present = false;  // The window had a value.
  bool ready = false;    // The reference is warmed up.
  double value = kNoValue;
  // The entity's reference level for this window: what effect-size floors compare with.
  double expected = kNoValue;
  Finding finding;  // The stack's combined finding (statistical evidence and onset).
};

// What a rate chart said about the latest window.
struct RateEval {
  bool ready = false;  // p0 has been learned.
  int64_t trials = 0;  // This window.
  int64_t events = 0;
  double rate = kNoValue;  // events / trials this window (NaN with no trials).
  double p0 = kNoValue;    // The learned in-control rate.
  // Start of the current run of windows with the rate at least max(2 %, 2 × p0); InfinitePast
  // outside such a run. Bounds onsets from below: the chart may still be alarmed from an
  // earlier episode.
  absl::Time excess_since = absl::InfinitePast();
  Finding finding;

  // The onset of the current episode: the chart's onset, but no earlier than excess_since.
  absl::Time Onset(absl::Time fallback) const;
};

struct EntityEval {
  std::array<std::optional<SignalEval>, kNumSignals> signals;
  std::array<std::optional<RateEval>, kNumRates> rates;
  // Reporting history, for no-data.
  bool reporting = false;         // Has reported steadily at some point.
  int silent_windows = 0;         // Consecutive windows without data, up to this one.
  double items_per_window = 0.0;  // Typical items per window while reporting.
  absl::Time last_data_end = absl::InfinitePast();

  const SignalEval* Signal(detectors::Signal s) const {
    const auto& v = signals[static_cast<size_t>(s)];
    return v.has_value() ? &*v : nullptr;
  }
  const RateEval* RateOf(Rate r) const {
    const auto& v = rates[static_cast<size_t>(r)];
    return v.has_value() ? &*v : nullptr;
  }
};

class EntityMonitor {
 public:
  // Detectors for `kind` with default options.
  explicit EntityMonitor(EntityKind kind);

  // Feeds the entity's summary of one closed window and returns the evaluation. While
  // `hold_reference` is true (the entity has a condition entering or active) the reference
  // levels do not learn, so an incident is judged against the level before it.
  const EntityEval& Update(const WindowSummary& w, bool hold_reference = false);
  const EntityEval& last() const { return eval_; }

 private:
  struct Watched {
    detectors::Signal signal;
    SignalDetector stack;
    // The reference level: learns slowly (about eight minutes of memory) and is held by the
    // caller while the entity has a condition. The stack's own baseline freezes whenever one
    // of its charts alarms, which under a slow daily drift can be for hours; effect sizes are
    // measured against this reference instead.
    RobustSeasonalBaseline reference;
  };

  EntityKind kind_;
  std::vector<Watched> stacks_;
  std::vector<std::pair<Rate, BernoulliCusum>> charts_;
  int data_streak_ = 0;
  EntityEval eval_;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_ENTITY_MONITOR_H_
