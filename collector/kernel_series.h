// KernelSeries: what cuda-profiler's KernelSummary items say, kept as series in the series
// store and checked against per-kernel duration baselines (collector/kernel_baseline.h).
//
// For each committed KernelSummary (one interval, one node, GPU and process), at the interval's
// end:
//
//   candor_kernel_launches{node, gpu, process}            kernels finished in the interval
//   candor_kernel_busy_ratio{node, gpu, process}          kernel busy time / interval length
//   candor_kernel_dropped_records{node, gpu, process}     activity records the profiler lost
//   candor_kernel_duration_mean_ms{node, gpu, kernel}     per top kernel: total_ms / count
//   candor_kernel_slowdown_ratio{node, gpu, kernel}       while a finding is active: its
//                                                         duration / the kernel's own baseline
//
// Findings ("kernel K on node X takes 30 % longer than its baseline and its peers") are the
// evidence for `hardware-degraded` at the kernel level: they are logged when they start and
// end, listed by ActiveFindingsJson (GET /api/v1/kernels), and counted on /metrics.
//
// OnItem runs on the event log's commit path, so it only queues (bounded; the oldest summaries
// are dropped and counted when the store falls behind); Flush feeds the baselines and commits
// the samples, from a PeriodicRunner.
//
// Thread safety: OnItem, Flush, ActiveFindingsJson and Stats may run concurrently.

#ifndef CANDOR_COLLECTOR_KERNEL_SERIES_H_
#define CANDOR_COLLECTOR_KERNEL_SERIES_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "candor/v1/ingest.pb.h"
#include "collector/kernel_baseline.h"
#include "common/http.h"
#include "common/metrics.h"
#include "store/series_store.h"
#include "store/series_writer.h"

namespace candor::collector {

struct KernelSeriesOptions {
  KernelBaselineOptions baselines;
  // Summaries waiting for Flush before the oldest are dropped. Range ≥ 1. Default: 100000.
  size_t max_queued = 100000;
};

struct KernelSeriesStats {
  uint64_t summaries = 0;          // Summaries processed by Flush.
  uint64_t samples = 0;            // Samples committed.
  uint64_t dropped_summaries = 0;  // Dropped from a full queue.
  uint64_t write_errors = 0;       // Samples or series the store refused.
  uint64_t findings_started = 0;
  uint64_t findings_ended = 0;
};

class KernelSeries {
 public:
  // `store` (and `metrics`, if given) must outlive this object. `options.baselines` must pass
  // ValidateKernelBaselineOptions.
  KernelSeries(store::SeriesStore& store, MetricsRegistry* metrics,
               KernelSeriesOptions options = {});

  KernelSeries(const KernelSeries&) = delete;
  KernelSeries& operator=(const KernelSeries&) = delete;

  // Queues the item if it is a KernelSummary; ignores every other kind.
  void OnItem(const candor::v1::IngestItem& item);

  // Feeds the queued summaries to the baselines and commits their samples. Returns the first
  // error from the store (those samples are dropped and counted).
  absl::Status Flush();

  // {"status":"success","data":[{"node","gpu","kernel","model","provider","value_ms",
  //  "baseline_ms","ratio","peer_ms","peer_ratio","peers","onset","since"}, ...]}, worst first.
  std::string ActiveFindingsJson() const;
  HttpHandler Handler() const;

  KernelSeriesStats Stats() const;

 private:
  void AddSummary(const candor::v1::KernelSummary& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_);

  const KernelSeriesOptions options_;

  mutable absl::Mutex mu_;
  std::deque<candor::v1::KernelSummary> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;

  mutable absl::Mutex flush_mu_ ABSL_ACQUIRED_AFTER(mu_);
  KernelBaselines baselines_ ABSL_GUARDED_BY(flush_mu_);
  store::SeriesWriter writer_ ABSL_GUARDED_BY(flush_mu_);
  KernelSeriesStats stats_ ABSL_GUARDED_BY(flush_mu_);

  Counter* findings_metric_ = nullptr;
  Gauge* active_metric_ = nullptr;
  Counter* samples_metric_ = nullptr;
  Counter* errors_metric_ = nullptr;
  Counter* dropped_metric_ = nullptr;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_KERNEL_SERIES_H_
