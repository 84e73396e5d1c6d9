// SignalSeries: keeps every window summary the detection pipeline derives as series in the
// series store, so the signals behind each state are queryable over time (PromQL through
// /api/v1/query, Grafana) and survive restarts.
//
// Each scalar signal of each entity becomes one float sample at the window's end:
//
//   candor_signal_<signal>{entity="replica:r1", kind="replica"}   e.g. candor_signal_latency_p95_ms
//
// Signals with no value in a window (NaN: no events, no samples) are not written, so gaps in
// the series are gaps in the data.
//
// OnWindow runs on the pipeline's thread (the event log's commit path), so it only queues;
// Flush commits the queue to the store (one Commit, one WAL fsync) and is called by a
// PeriodicRunner. The queue is bounded: when the store falls behind, the oldest windows are
// dropped and counted.
//
// Metrics: candor_signal_samples_total, candor_signal_dropped_windows_total,
//          candor_signal_write_errors_total, candor_signal_series.
//
// Thread safety: OnWindow, Flush and Stats may run concurrently.

#ifndef CANDOR_DAEMON_SIGNAL_SERIES_H_
#define CANDOR_DAEMON_SIGNAL_SERIES_H_

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/pipeline.h"
#include "common/entity.h"
#include "common/metrics.h"
#include "detectors/fleet_signals.h"
#include "store/series_store.h"
#include "store/series_writer.h"

namespace candor::daemon {

struct SignalSeriesOptions {
  // Window summaries (one entity, one window) waiting for Flush before the oldest are
  // dropped. Range: ≥ 1. Default: 200000.
  size_t max_queued = 200000;
};

struct SignalSeriesStats {
  uint64_t samples = 0;          // Samples committed.
  uint64_t dropped_windows = 0;  // Summaries dropped from a full queue.
  uint64_t write_errors = 0;     // Failed commits, series refused by the store's limits.
  size_t series = 0;             // Series known.
};

class SignalSeries final : public collector::WindowSummarySink {
 public:
  // `store` (and `metrics`, if given) must outlive this object.
  SignalSeries(store::SeriesStore& store, MetricsRegistry* metrics,
               SignalSeriesOptions options = {});

  SignalSeries(const SignalSeries&) = delete;
  SignalSeries& operator=(const SignalSeries&) = delete;

  // Queues the summaries of one closed window.
  void OnWindow(absl::Time start, absl::Time end,
                const std::vector<detectors::WindowSummary>& summaries) override;

  // Commits everything queued. Returns the store's error, if any (the samples of a failed
  // commit are dropped and counted: the summaries can be derived again by a replay).
  absl::Status Flush();

  SignalSeriesStats Stats() const;

 private:
  struct Pending {
    int64_t t_ms;
    EntityId entity;
    std::array<double, detectors::kNumSignals> values;
  };

  const SignalSeriesOptions options_;

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;

  mutable absl::Mutex flush_mu_ ABSL_ACQUIRED_AFTER(mu_);
  store::SeriesWriter writer_ ABSL_GUARDED_BY(flush_mu_);
  uint64_t samples_ ABSL_GUARDED_BY(flush_mu_) = 0;
  uint64_t errors_ ABSL_GUARDED_BY(flush_mu_) = 0;

  Counter* samples_metric_ = nullptr;
  Counter* dropped_metric_ = nullptr;
  Counter* errors_metric_ = nullptr;
  Gauge* series_metric_ = nullptr;
};

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_SIGNAL_SERIES_H_
