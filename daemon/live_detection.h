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
// Thread safety: the listener, RunOnce, Finish and the HTTP handler may run on different
// threads; all shared state is behind mutexes (the pipeline has its own).

#ifndef CANDOR_DAEMON_LIVE_DETECTION_H_
#define CANDOR_DAEMON_LIVE_DETECTION_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <ostream>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/pipeline.h"
#include "common/clock.h"
#include "common/http.h"
#include "detectors/fleet_types.h"
#include "store/event_log.h"

namespace candor::daemon {

struct LiveDetectionOptions {
  collector::PipelineOptions pipeline;
  // Print each transition as one line on `out`. Default: true.
  bool print = true;
  // Quiet stream time after which event time advances with the clock. Default: 30 s.
  absl::Duration idle_advance = absl::Seconds(30);
};

class LiveDetection {
 public:
  // `log` and `clock` must outlive this object; `out` (for printed transitions) may be null.
  LiveDetection(LiveDetectionOptions options, store::EventLog& log, Clock& clock,
                std::ostream* out);
  ~LiveDetection();

  LiveDetection(const LiveDetection&) = delete;
  LiveDetection& operator=(const LiveDetection&) = delete;

  // Starts / stops receiving committed items (the event log's commit listener).
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
};

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_LIVE_DETECTION_H_
