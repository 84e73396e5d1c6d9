// Detection inside `candor serve`: the event log's commit listener hands every durable item,
// in sequence order, to the same Pipeline `candor replay` uses, so the live daemon decides
// exactly the transitions a replay of its log decides. Transitions are printed one line each
// as they happen (entity, from → to, one-line evidence), queued, and persisted in the event
// log by RunOnce (not from inside the listener, which runs on the commit path).
//
// Time comes from the data: windows close as event time advances. When the stream goes quiet
// for `idle_advance` of the daemon's clock, RunOnce moves event time on by the idle time, so a
// fleet that stops reporting altogether still turns `no-data`.
//
// Metrics (updated by RunOnce):
//   candor_detection_items_total                      items fed to the pipeline
//   candor_detection_late_items_total{outcome}        folded | dropped (beyond the lateness)
//   candor_detection_windows_total                    event-time windows closed
//   candor_detection_transitions_total                state transitions decided
//   candor_detection_entities                         entities known
//   candor_detection_watermark_seconds                event time up to which windows closed
//   candor_entity_state{entity,state}                 1 for each entity's current state, else 0
//
// Thread safety: the listener, RunOnce, Finish and the HTTP handler may run on different
// threads; all shared state is behind mutexes (the pipeline has its own).

#ifndef CANDOR_DAEMON_LIVE_DETECTION_H_
#define CANDOR_DAEMON_LIVE_DETECTION_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <ostream>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/pipeline.h"
#include "common/clock.h"
#include "common/http.h"
#include "common/metrics.h"
#include "detectors/fleet_types.h"
#include "store/event_log.h"

namespace candor::daemon {

struct LiveDetectionOptions {
  collector::PipelineOptions pipeline;
  // Print each transition as one line on `out`. Default: true.
  bool print = true;
  // Quiet stream time after which event time advances with the clock. Default: 30 s.
  absl::Duration idle_advance = absl::Seconds(30);
  // Receives every closed window's summaries (on the commit path: it must only queue), e.g.
  // SignalSeries. Must outlive the LiveDetection. Default: none.
  collector::WindowSummarySink* windows = nullptr;
  // Called with every committed item before the pipeline sees it (on the commit path: it must
  // only queue), e.g. KernelSeries. Default: none.
  std::function<void(const candor::v1::IngestItem&)> on_item;
};

class LiveDetection {
 public:
  // `log` and `clock` (and `metrics`, if given) must outlive this object; `out` (for printed
  // transitions) and `metrics` may be null.
  LiveDetection(LiveDetectionOptions options, store::EventLog& log, Clock& clock, std::ostream* out,
                MetricsRegistry* metrics = nullptr);
  ~LiveDetection();

  LiveDetection(const LiveDetection&) = delete;
  LiveDetection& operator=(const LiveDetection&) = delete;

  // Starts / stops receiving committed items (the event log's commit listener). Detach before
  // the event log goes away; the destructor detaches only if still attached.
  void Attach();
  void Detach();

  // Persists queued transitions; advances event time when the stream has been idle. Returns
  // the first error from the event log (the transitions stay queued for the next call).
  absl::Status RunOnce();

  // Closes every window ending at or before the newest event time and persists everything.
  // For a clean shutdown (after Detach) and for tests.
  absl::Status Finish();

  // GET /api/v1/states: {"status":"success","data":[{"entity","state","since","conditions"}]}
  // for every entity, or with `entity=` just that one (404 if unknown).
  HttpHandler StatesHandler();

  // Every transition decided so far, in order.
  std::vector<detectors::Transition> Transitions() const;
  collector::PipelineStats Stats() const { return pipeline_.Stats(); }

 private:
  class Sink;

  void OnItem(const candor::v1::IngestItem& item);
  void UpdateMetrics(const collector::PipelineStats& s);

  LiveDetectionOptions options_;
  store::EventLog& log_;
  Clock& clock_;
  std::ostream* out_;
  std::unique_ptr<Sink> sink_;
  collector::Pipeline pipeline_;
  mutable absl::Mutex mu_;
  std::deque<detectors::Transition> unpersisted_ ABSL_GUARDED_BY(mu_);
  std::vector<detectors::Transition> all_ ABSL_GUARDED_BY(mu_);
  absl::Time last_arrival_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool attached_ ABSL_GUARDED_BY(mu_) = false;

  struct Metrics {
    Counter* items = nullptr;
    Counter* folded = nullptr;
    Counter* dropped = nullptr;
    Counter* windows = nullptr;
    Counter* transitions = nullptr;
    Gauge* entities = nullptr;
    Gauge* watermark = nullptr;
  };
  MetricsRegistry* registry_;
  Metrics metrics_;
  absl::Mutex metrics_mu_;
  collector::PipelineStats reported_ ABSL_GUARDED_BY(metrics_mu_);
  // Per entity, the state gauge currently at 1.
  absl::flat_hash_map<std::string, Gauge*> state_gauges_ ABSL_GUARDED_BY(metrics_mu_);
};

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_LIVE_DETECTION_H_
