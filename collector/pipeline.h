// The detection pipeline: ingest items → per-entity window signals (signals.h) → detectors and
// the fleet state machine (detectors/fleet_analyzer.h) → transitions, all in event time.
// `candor replay` and the live daemon use the same object, so they decide the same
// transitions for the same items in the same order.
//
// Time: windows close when the data watermark (newest event time minus a small delay) passes
// their end. The live daemon may also call AdvanceTo with its clock so silence is seen when
// nothing arrives at all; replay never does, and calls Finish at the end of its input, which
// closes every window ending at or before the newest event time ("replay ends at the last
// input event's time").
//
// Sinks: transitions go to a TransitionSink, each closed window's summaries to an optional
// WindowSink (for the series store), both called on the calling thread in event-time order,
// while the pipeline's lock is held; they must not call back into the pipeline.
//
// Thread safety: all methods are thread-safe (one internal mutex).

#ifndef CANDOR_COLLECTOR_PIPELINE_H_
#define CANDOR_COLLECTOR_PIPELINE_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "collector/signals.h"
#include "detectors/fleet_analyzer.h"
#include "detectors/fleet_types.h"

namespace candor::collector {

// Receives every transition, in decision order.
class TransitionSink {
 public:
  virtual ~TransitionSink() = default;
  virtual void OnTransition(const detectors::Transition& transition) = 0;
};

// Receives every closed window's summaries (every known entity, sorted by entity).
class WindowSummarySink {
 public:
  virtual ~WindowSummarySink() = default;
  virtual void OnWindow(absl::Time start, absl::Time end,
                        const std::vector<detectors::WindowSummary>& summaries) = 0;
};

// Keeps transitions in memory (tests, replay buffering).
class CollectingTransitionSink final : public TransitionSink {
 public:
  void OnTransition(const detectors::Transition& t) override { transitions_.push_back(t); }
  const std::vector<detectors::Transition>& transitions() const { return transitions_; }

 private:
  std::vector<detectors::Transition> transitions_;
};

struct PipelineOptions {
  SignalOptions signals;
  detectors::FleetAnalyzerOptions analyzer;
};

struct PipelineStats {
  uint64_t items = 0;  // Items given to Observe.
  SignalStats signals;
  uint64_t windows = 0;
  uint64_t transitions = 0;
  absl::Time watermark = absl::InfinitePast();
  absl::Time max_event_time = absl::InfinitePast();
  size_t entities = 0;
};

class Pipeline {
 public:
  // `transitions` must outlive the pipeline; `windows` may be null.
  Pipeline(PipelineOptions options, TransitionSink* transitions,
           WindowSummarySink* windows = nullptr);

  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Aggregates one (already validated) item and closes the windows its time lets close.
  void Observe(const candor::v1::IngestItem& item);
  // Closes every window ending at or before `t` (never moves time back). For the live daemon,
  // driven by its clock minus the aggregator's watermark delay.
  void AdvanceTo(absl::Time t);
  // Closes every window ending at or before the newest event time seen.
  void Finish();

  std::vector<detectors::EntityStatus> States() const;
  PipelineStats Stats() const;

 private:
  void Close(absl::Time watermark) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  SignalAggregator aggregator_ ABSL_GUARDED_BY(mu_);
  detectors::FleetAnalyzer analyzer_ ABSL_GUARDED_BY(mu_);
  TransitionSink* const transitions_;
  WindowSummarySink* const windows_;
  uint64_t items_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t transition_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_PIPELINE_H_
