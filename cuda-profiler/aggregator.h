// Aggregation of decoded CUDA activity into per-interval candor.v1.KernelSummary messages.
//
// `KernelAggregator` is the ActivitySink the decoder feeds. It keeps, per GPU (CUDA device id,
// named by the uuid from DEVICE records) and per fixed interval of event time (the record's
// end timestamp), kernel count and busy time (the union of kernel spans), per-name kernel
// statistics, memcpy count/bytes/time per direction, memsets, synchronisation, overhead,
// graph launches, memory allocations, dropped records and the request ids joined through
// external correlation. `Close(now)` turns every interval that ended more than
// `allowed_lateness` before `now` into one summary per device.
//
// Records are never silently lost: a record without usable timestamps, one that arrives for
// an interval already closed, one stamped absurdly far in the future, or one beyond the
// device limit is counted in `stats()` and in the `dropped_records` of the next summary, along
// with drops reported from outside (CUPTI's own drop count, refused buffers, shipping queue
// overflow) through `AddDropped`.
//
// Memory is bounded by the options: distinct kernel names (later ones count under
// "[other]"), request ids per summary, remembered correlation ids, busy spans per interval
// (see span_union.h), devices, and the open intervals (bounded by (allowed_lateness +
// max_future) / interval).
//
// Thread safety: not thread-safe; the caller serialises all calls (ActivityPipeline does).

#ifndef CANDOR_CUDA_PROFILER_AGGREGATOR_H_
#define CANDOR_CUDA_PROFILER_AGGREGATOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "cuda-profiler/activity.h"
#include "cuda-profiler/correlation_table.h"
#include "cuda-profiler/request_registry.h"
#include "cuda-profiler/span_union.h"

namespace candor::cuda_profiler {

// Who the summaries describe, stamped on every KernelSummary.
struct ProcessIdentity {
  std::string node = {};  // Host name. Required by candor's ingest.
  uint32_t pid = 0;
  std::string process_name = {};
  std::string provider = {};  // Optional placement.
  std::string replica = {};
  std::string model = {};
};

struct AggregatorOptions {
  // Length of one summary interval. Range 1 s – 1 h. Default: 10 s.
  absl::Duration interval = absl::Seconds(10);
  // How long after an interval ends its records may still arrive before it is closed. CUPTI
  // delivers records at buffer flushes, so keep this above the flush period. Range 0 – 1 h.
  // Default: 10 s.
  absl::Duration allowed_lateness = absl::Seconds(10);
  // Records stamped further than this after the current time are refused (garbage
  // timestamps). Range 1 s – 1 h. Default: 5 min.
  absl::Duration max_future = absl::Minutes(5);
  // Kernels listed per summary, most total time first. Range 1–64. Default: 64.
  size_t top_kernels = 64;
  // Distinct kernel names remembered over the process lifetime; later names are counted
  // under "[other]". Range 1 – 1,000,000. Default: 16384.
  size_t max_kernel_names = 16384;
  // Request ids listed per summary. Range 0–1024. Default: 1024.
  size_t max_request_ids = 1024;
  // Correlation ids remembered for the external-correlation join, each way: a window over
  // the latest ids (rounded up to a power of two). Range 1 – 10,000,000. Default: 65536.
  size_t max_correlations = 65536;
  // Disjoint busy spans kept per device and interval before the older half is folded into a
  // total (see span_union.h). Range 2 – 1,000,000. Default: 4096.
  size_t max_busy_spans = 4096;
  // CUDA devices tracked; records of further devices are counted as dropped. Range 1–1024.
  // Default: 64.
  size_t max_devices = 64;
};

// InvalidArgumentError naming the first option outside its documented range.
absl::Status ValidateAggregatorOptions(const AggregatorOptions& options);

struct AggregatorStats {
  uint64_t kernels = 0;               // Kernel records aggregated.
  uint64_t untimed = 0;               // Records without usable timestamps (0, or end before start).
  uint64_t late = 0;                  // Records for intervals already closed.
  uint64_t future = 0;                // Records stamped beyond now + max_future.
  uint64_t unattributed = 0;          // Records with no device to attribute them to.
  uint64_t other_names = 0;           // Kernel records counted under "[other]".
  uint64_t unresolved_ids = 0;        // External ids the resolver did not know.
  uint64_t request_ids_overflow = 0;  // Request ids beyond max_request_ids in a summary.
  uint64_t external_dropped = 0;      // Drops reported through AddDropped.
  uint64_t summaries = 0;             // Summaries produced.
};

class KernelAggregator final : public ActivitySink {
 public:
  // `options` must pass ValidateAggregatorOptions. `resolver` (may be null: ids are then
  // reported in decimal) must outlive the aggregator.
  KernelAggregator(ProcessIdentity identity, AggregatorOptions options,
                   const ExternalIdResolver* resolver);

  // The current time, used to refuse records from the far future. Call before each buffer.
  void SetNow(absl::Time now) { now_ = now; }

  // Records lost outside the aggregator; they are added to the next summary produced.
  void AddDropped(uint64_t count);

  // Closes every interval that ended at least `allowed_lateness` before `now` and returns
  // one summary per device and closed interval with any activity, in (device, time) order.
  std::vector<candor::v1::KernelSummary> Close(absl::Time now);
  // Closes every open interval (at shutdown).
  std::vector<candor::v1::KernelSummary> CloseAll();

  const AggregatorStats& stats() const { return stats_; }
  // Drops reported or counted but not yet placed on a summary.
  uint64_t pending_dropped() const { return pending_dropped_; }
  size_t open_intervals() const;

  void OnKernel(const KernelActivity& a) override;
  void OnMemcpy(const MemcpyActivity& a) override;
  void OnMemset(const MemsetActivity& a) override;
  void OnMemory(const MemoryActivity& a) override;
  void OnSync(const SyncActivity& a) override;
  void OnOverhead(const OverheadActivity& a) override;
  void OnDevice(const DeviceActivity& a) override;
  void OnContext(const ContextActivity& a) override;
  void OnExternalCorrelation(const ExternalCorrelationActivity& a) override;
  void OnGraphLaunch(const GraphLaunchActivity& a) override;

 private:
  struct Stat {
    uint64_t count = 0;
    uint64_t total_ns = 0;
    uint64_t min_ns = UINT64_MAX;
    uint64_t max_ns = 0;
    void Add(uint64_t d);
  };
  struct Interval {
    explicit Interval(size_t max_spans) : busy(max_spans) {}
    uint64_t kernel_count = 0;
    SpanUnion busy;
    absl::flat_hash_map<uint32_t, Stat> kernels;
    std::array<Stat, kNumCopyDirections> copies;
    std::array<uint64_t, kNumCopyDirections> copy_bytes{};
    uint64_t memset_count = 0;
    uint64_t memset_bytes = 0;
    Stat sync;
    uint64_t overhead_ns = 0;
    uint64_t command_buffer_full = 0;
    Stat graphs;
    uint64_t alloc_count = 0;
    uint64_t alloc_bytes = 0;
    uint64_t free_count = 0;
    uint64_t free_bytes = 0;
    absl::flat_hash_set<uint64_t> external_ids;
  };
  struct Device {
    std::string uuid;
    std::map<int64_t, Interval> open;
  };
  struct Placement {
    uint32_t device_id = 0;
    int64_t index = 0;
  };

  static bool Timed(uint64_t start, uint64_t end) { return start != 0 && end >= start; }
  void Lost(uint64_t* counter);
  std::optional<int64_t> Admit(uint64_t t_ns);
  Device* FindOrAddDevice(uint32_t device_id);
  Interval* At(uint32_t device_id, int64_t index);
  std::optional<uint32_t> DefaultDevice() const;
  void AddBusy(uint32_t device_id, uint64_t start, uint64_t end);
  uint32_t NameId(std::string_view name);
  void Join(uint32_t correlation_id, uint32_t device_id, int64_t index);
  void AttachExternal(uint64_t external_id, Interval* interval);
  std::vector<candor::v1::KernelSummary> CloseThrough(int64_t last_index);
  candor::v1::KernelSummary Summarize(const Device& device, uint32_t device_id, int64_t index,
                                      const Interval& in);

  const ProcessIdentity identity_;
  const AggregatorOptions options_;
  const ExternalIdResolver* const resolver_;
  const int64_t interval_ns_;
  absl::Time now_ = absl::InfiniteFuture();
  int64_t closed_through_ = INT64_MIN;
  std::map<uint32_t, Device> devices_;
  absl::flat_hash_map<uint32_t, uint32_t> context_device_;
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, uint32_t> name_ids_;
  // Allocated at the first EXTERNAL_CORRELATION record: processes that never tag work pay
  // nothing for the join.
  std::optional<CorrelationTable<uint64_t>> external_by_correlation_;
  std::optional<CorrelationTable<Placement>> pending_by_correlation_;
  uint64_t pending_dropped_ = 0;
  AggregatorStats stats_;
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_AGGREGATOR_H_
