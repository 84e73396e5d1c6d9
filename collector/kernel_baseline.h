// Per-kernel-name duration baselines from KernelSummary messages: turns "the same kernel now
// takes 30 % longer on node X than its own baseline and than its peers" into a finding the
// fleet state machine can cite as evidence for `hardware-degraded`.
//
// Method. A series is one (node, gpu, kernel name); its value per interval is the mean
// duration total_ms / count of that kernel in one summary (intervals with fewer than
// `min_launches` launches are skipped as noise). The series' own baseline is an exponentially
// weighted mean of log(duration) — durations degrade multiplicatively, and the log makes a
// 30 % rise the same step at 1 µs and at 10 ms. Its peers are the other series of the same
// kernel name and model on other GPUs, whose latest values (no older than `peer_staleness`)
// give a median. A series is exceeding when its value is at least `min_ratio` × its own
// baseline and, when it has at least `min_peers` peers, also `min_ratio` × the peer median.
//
// False-alarm design: (1) no finding before `warmup_intervals` values have built the baseline;
// (2) a finding needs `confirm_intervals` consecutive exceeding intervals, and it is the median
// of those values that is reported, so one slow interval (a compilation, a burst) never fires;
// (3) the peer test removes fleet-wide shifts (a new model version, a different traffic mix
// changes every node alike); (4) the baseline does not learn while a series is exceeding or
// degraded, so a slow degradation cannot become the new normal; (5) a finding ends only after
// `confirm_intervals` consecutive intervals below `clear_ratio` × baseline (hysteresis).
//
// Time is event time (the summaries' interval bounds); the component reads no clock. Memory is
// bounded by `max_series` (further series are counted and ignored) and series not seen for
// `forget_after` are dropped.
//
// Thread safety: not thread-safe; feed it from one thread.

#ifndef CANDOR_COLLECTOR_KERNEL_BASELINE_H_
#define CANDOR_COLLECTOR_KERNEL_BASELINE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"

namespace candor::collector {

struct KernelBaselineOptions {
  // Weight of each new interval in the log-duration baseline. Range (0, 1]. Default: 0.02
  // (about 50 intervals, ~8 min at 10 s intervals).
  double alpha = 0.02;
  // Values needed before a series may fire. Range ≥ 1. Default: 30.
  int warmup_intervals = 30;
  // Launches of the kernel an interval needs to count. Range ≥ 1. Default: 10.
  uint64_t min_launches = 10;
  // Value / baseline (and value / peer median) at or above which an interval exceeds.
  // Range > 1. Default: 1.25.
  double min_ratio = 1.25;
  // Value / baseline below which an interval counts towards clearing. Range [1, min_ratio].
  // Default: 1.1.
  double clear_ratio = 1.1;
  // Consecutive intervals to start or end a finding. Range ≥ 1. Default: 3.
  int confirm_intervals = 3;
  // Peers needed for the peer test; with fewer the own-baseline test decides alone (or, with
  // require_peers, nothing fires). Range ≥ 1. Default: 2.
  int min_peers = 2;
  // Never fire without the peer test. Default: false.
  bool require_peers = false;
  // A peer's latest value counts while it is at most this old (event time). Default: 2 min.
  absl::Duration peer_staleness = absl::Minutes(2);
  // Series not updated for this long are forgotten. Default: 24 h.
  absl::Duration forget_after = absl::Hours(24);
  // Series tracked at once. Range ≥ 1. Default: 100000.
  size_t max_series = 100000;
};

// InvalidArgumentError naming the first option outside its documented range.
absl::Status ValidateKernelBaselineOptions(const KernelBaselineOptions& options);

// One kernel running slow on one GPU: the evidence for `hardware-degraded` on its node.
struct KernelFinding {
  std::string node;
  std::string gpu;
  std::string kernel;
  std::string model;       // Empty when the summaries named none.
  std::string provider;    // Empty when the summaries named none.
  double value_ms = 0;     // Median mean duration over the confirming intervals.
  double baseline_ms = 0;  // The series' own baseline (geometric mean).
  double peer_ms = 0;      // Median of the peers' latest values; 0 when no peer test ran.
  double ratio = 0;        // value_ms / baseline_ms.
  double peer_ratio = 0;   // value_ms / peer_ms; 0 when no peer test ran.
  int peers = 0;           // Peers in the median.
  absl::Time onset;        // Start of the first exceeding interval.
  absl::Time since;        // End of the interval that confirmed the finding.
};

struct KernelFindingEvent {
  enum class Kind : uint8_t { kStarted, kEnded };
  Kind kind = Kind::kStarted;
  absl::Time time;  // End of the interval that decided it.
  KernelFinding finding;
};

struct KernelBaselineStats {
  uint64_t summaries = 0;
  uint64_t values = 0;            // Interval values used.
  uint64_t too_few_launches = 0;  // Kernel entries below min_launches.
  uint64_t out_of_order = 0;      // Entries older than the series' last value.
  uint64_t series_overflow = 0;   // Entries ignored at max_series.
  uint64_t invalid = 0;           // Summaries or entries with bad fields.
};

class KernelBaselines {
 public:
  // `options` must pass ValidateKernelBaselineOptions.
  explicit KernelBaselines(KernelBaselineOptions options);

  // Feeds one summary. Returns the findings that started or ended with it.
  std::vector<KernelFindingEvent> Observe(const candor::v1::KernelSummary& summary);

  // Every active finding, worst ratio first.
  std::vector<KernelFinding> Active() const;

  // The series' baseline in ms, or 0 when unknown or still warming up.
  double BaselineMs(const std::string& node, const std::string& gpu,
                    const std::string& kernel) const;

  const KernelBaselineStats& stats() const { return stats_; }
  size_t series() const { return series_.size(); }

 private:
  struct Series {
    std::string node, gpu, kernel, model, provider;
    std::string group;  // Peer group key: model + kernel name.
    double log_baseline = 0;
    int values = 0;  // Values folded into the baseline.
    double last_ms = 0;
    absl::Time last_end = absl::InfinitePast();
    std::deque<double> window;  // Latest values of the current exceeding (or clearing) run.
    absl::Time run_onset = absl::InfinitePast();
    bool degraded = false;
    KernelFinding finding;
  };

  void Forget(absl::Time now);
  struct Peers {
    double median_ms = 0;
    int count = 0;
  };
  Peers PeerMedian(const Series& self, absl::Time now) const;
  // Folds one value into the series; returns the event it decides, if any.
  std::optional<KernelFindingEvent> Step(Series& s, double value_ms, absl::Time start,
                                         absl::Time end);

  const KernelBaselineOptions options_;
  absl::flat_hash_map<std::string, Series> series_;
  absl::flat_hash_map<std::string, std::vector<std::string>> groups_;
  absl::Time last_forget_ = absl::InfinitePast();
  KernelBaselineStats stats_;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_KERNEL_BASELINE_H_
