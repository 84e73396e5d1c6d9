// SeriesStore: candor's time-series database. A series is a metric name plus a sorted label
// set (common/labels.h), identified inside the store by a SeriesRef. Samples are float values
// or cumulative exponential histograms (store/histogram.h) at millisecond timestamps.
//
// Write path. Callers resolve label sets to refs once (`GetOrCreateSeries`, cheap to repeat,
// but hot paths keep the ref), fill a `SampleBatch`, and `Commit` it. Commit returns only after
// the accepted samples are durable in the head's write-ahead log (fdatasync unless
// `wal_sync` is off), so an acknowledged sample survives kill -9 and power loss. Samples reach
// an in-memory head, are cut into chunks (at `chunk_max_samples` or a 2 h-aligned boundary)
// and sealed into RocksDB, one column family per UTC day, with the adaptive codec described in
// store/FORMAT.md.
//
// Per sample, Commit accepts samples out of order within `out_of_order_window` of the newest
// sample of their series, and rejects (with a reason, counted in Stats) samples that are
// older than that, older than raw retention, further than `max_future` ahead of the clock,
// or a different value at an existing timestamp. Other samples of the batch are unaffected.
//
// Read path. `Select` returns the samples of matching series in [mint, maxt], merged from the
// head and RocksDB. For old ranges whose raw data has expired, and when asked for, 5-minute and
// 1-hour rollups answer instead (see ReadOptions). store/engine.h evaluates PromQL on top.
//
// Maintenance. `RunOnce()` (called every few seconds by a PeriodicRunner in the daemon, or by
// tests on a SimulatedClock) seals chunks of idle series, truncates the WAL, computes rollups
// of finished days, and drops partitions past retention. It never blocks writers for long.
//
// Thread safety: every method is safe to call concurrently from any thread. Commits are
// serialised for the in-memory part and group-committed for the fsync.

#ifndef CANDOR_STORE_SERIES_STORE_H_
#define CANDOR_STORE_SERIES_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/labels.h"
#include "store/histogram.h"
#include "store/matcher.h"

namespace candor::store {

// Identifies a series inside one store. Refs are never reused; a ref whose series was dropped
// by retention is answered with NotFoundError.
using SeriesRef = uint64_t;

struct SeriesStoreOptions {
  // Directory of the store (created if missing). The daemon uses <data>/tsdb.
  std::string path;
  // Samples up to this much older than the newest sample of their series are accepted.
  // Range: ≥ 0. Default: 1 h.
  absl::Duration out_of_order_window = absl::Hours(1);
  // Samples more than this ahead of Clock::Now() are rejected. Default: 1 h.
  absl::Duration max_future = absl::Hours(1);
  // New series of one metric name past this count are rejected with ResourceExhausted;
  // existing series keep working. Range: ≥ 1. Default: 100000.
  int64_t max_series_per_metric = 100000;
  // A head chunk is sealed when it holds this many samples. Range: 8..4096. Default: 240.
  int chunk_max_samples = 240;
  // Raw samples are kept this long, then their day partitions are dropped. Default: 15 d.
  absl::Duration raw_retention = absl::Hours(24 * 15);
  // 5-minute rollups are kept this long. Default: 90 d.
  absl::Duration rollup_5m_retention = absl::Hours(24 * 90);
  // 1-hour rollups are kept this long. Default: 365 d.
  absl::Duration rollup_1h_retention = absl::Hours(24 * 365);
  // A head chunk that received no sample for this long (in sample time, against the newest
  // sample of the store) is sealed by RunOnce. Default: 1 h.
  absl::Duration idle_chunk_seal_after = absl::Hours(1);
  // fdatasync the WAL before a Commit returns. Off only for benchmarks of the ceiling.
  // Default: true.
  bool wal_sync = true;
  // WAL segment size in bytes; segments are deleted once every sample in them is sealed.
  // Range: 1 MiB..1 GiB. Default: 128 MiB.
  int64_t wal_segment_bytes = 128 << 20;
  // RocksDB block cache in bytes. Default: 32 MiB.
  int64_t block_cache_bytes = 32 << 20;
  // Compress the bottommost RocksDB level with zstd (other levels: LZ4). Default: true.
  bool zstd_bottommost = true;
};

struct Sample {
  int64_t t = 0;  // Milliseconds since the Unix epoch.
  double v = 0;
  friend bool operator==(const Sample&, const Sample&) = default;
};

struct HistogramSample {
  int64_t t = 0;
  Histogram h;
  friend bool operator==(const HistogramSample&, const HistogramSample&) = default;
};

// Cumulative histogram samples column by column (one block per stored chunk): what range
// functions read to materialize only the samples at their window edges.
struct HistogramColumns {
  int32_t schema = 0;
  double zero_threshold = 0;
  std::vector<int64_t> ts;
  std::vector<int64_t> count;
  std::vector<int64_t> zero_count;
  std::vector<double> sum;
  std::vector<int32_t> pos_index;  // Bucket indices of the positive columns.
  std::vector<int64_t> pos;        // Column-major: pos[column * size() + sample].
  std::vector<int32_t> neg_index;
  std::vector<int64_t> neg;
  // 1 where a sample is a counter reset of the one before it in the block (a count, zero count
  // or bucket decreased). Sample 0 is never marked.
  std::vector<uint8_t> reset;

  size_t size() const { return ts.size(); }
  // The histogram of sample `s` (< size()).
  Histogram At(size_t s) const;
};

// The resolution data is read at.
enum class Resolution { kRaw, k5m, k1h };

// Milliseconds per step of a resolution (0 for raw).
int64_t ResolutionStepMs(Resolution r);

// One rollup interval (end - step, end] of a float series.
struct RollupPoint {
  int64_t end = 0;  // Interval end, ms; aligned to the resolution's step.
  double count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
};

// What Select returns per series.
struct SeriesData {
  SeriesRef ref = 0;
  LabelSet labels;
  Resolution resolution = Resolution::kRaw;
  // Float samples in time order. At a rollup resolution: the last sample of each interval,
  // which is lossless for counters (rate/increase over aligned windows).
  std::vector<Sample> samples;
  // Histogram samples in time order (a series may switch kind over time; both are returned).
  std::vector<HistogramSample> histograms;
  // With ReadOptions::histogram_columns: the histogram samples as column blocks in time order
  // instead (then `histograms` is empty unless blocks overlapped in time).
  std::vector<HistogramColumns> histogram_columns;
  // At a rollup resolution, per-interval aggregates of float samples (for *_over_time).
  std::vector<RollupPoint> rollup;
};

struct ReadOptions {
  // kRaw reads raw samples (falling back to rollups only where raw data has expired);
  // k5m / k1h read that rollup where it exists and raw data elsewhere.
  Resolution resolution = Resolution::kRaw;
  // Return only the labels (no samples): for /series, /labels and friends.
  bool labels_only = false;
  // Return histogram samples as SeriesData::histogram_columns.
  bool histogram_columns = false;
};

// A batch of samples for one Commit. Not thread-safe; reuse it after Clear().
class SampleBatch {
 public:
  void Add(SeriesRef ref, int64_t t_ms, double value) { floats_.push_back({ref, t_ms, value}); }
  void AddHistogram(SeriesRef ref, int64_t t_ms, Histogram h) {
    histograms_.push_back({ref, t_ms, std::move(h)});
  }
  size_t size() const { return floats_.size() + histograms_.size(); }
  bool empty() const { return size() == 0; }
  void Clear() {
    floats_.clear();
    histograms_.clear();
  }

  struct Float {
    SeriesRef ref;
    int64_t t;
    double v;
  };
  struct Hist {
    SeriesRef ref;
    int64_t t;
    Histogram h;
  };
  const std::vector<Float>& floats() const { return floats_; }
  const std::vector<Hist>& histograms() const { return histograms_; }

 private:
  std::vector<Float> floats_;
  std::vector<Hist> histograms_;
};

// Why a sample was rejected.
enum class RejectReason {
  kTooOld,              // Older than the out-of-order window of its series.
  kOutOfRetention,      // Older than raw retention.
  kTooFarInFuture,      // More than max_future ahead of the clock.
  kDuplicateTimestamp,  // Another value already stored at this timestamp.
  kUnknownSeries,       // The ref is unknown (never created, or dropped by retention).
  kInvalidHistogram,    // Histogram failed Validate() or has non-integer counts.
};
const char* RejectReasonName(RejectReason r);

struct SampleReject {
  // Position of the sample in the batch: floats first (0..floats-1), then histograms.
  size_t index = 0;
  RejectReason reason = RejectReason::kTooOld;
  std::string message;  // Names the series, the timestamp and the bound it violated.
};

struct CommitResult {
  uint64_t appended = 0;  // Samples now durable (duplicates of stored samples count here).
  uint64_t rejected = 0;
  std::vector<SampleReject> rejects;  // The first 16 rejects.
};

struct MetricMetadata {
  std::string type;  // "counter", "gauge", "histogram", "gaugehistogram", "summary", ...
  std::string help;
  std::string unit;
};

// Counters and gauges about the store, for candor's own /metrics.
struct StoreStats {
  int64_t series = 0;
  int64_t head_samples = 0;  // Samples in open head chunks.
  int64_t head_chunks_pending = 0;
  uint64_t samples_appended_total = 0;
  uint64_t histograms_appended_total = 0;
  uint64_t rejected_total[6] = {0, 0, 0, 0, 0, 0};  // By RejectReason.
  uint64_t series_created_total = 0;
  uint64_t series_limit_rejects_total = 0;  // GetOrCreateSeries past max_series_per_metric.
  uint64_t chunks_written_total = 0;
  uint64_t wal_bytes_total = 0;
  uint64_t wal_syncs_total = 0;
  int64_t wal_segments = 0;
  uint64_t rollups_written_total = 0;
  uint64_t partitions_dropped_total = 0;
  uint64_t corrupt_chunks_total = 0;  // Chunks that failed to decode at read time.
  int64_t head_bytes = 0;             // Approximate memory held by the head and the index.
};

class SeriesStore {
 public:
  // Opens (or creates) the store at options.path and replays its WAL. Returns
  // FailedPreconditionError if the directory holds a store of another format version,
  // DataLossError if the WAL or the database is corrupt beyond a torn last record,
  // InvalidArgumentError for out-of-range options, and the I/O error otherwise. `clock` must
  // outlive the store.
  static absl::StatusOr<std::unique_ptr<SeriesStore>> Open(const SeriesStoreOptions& options,
                                                           Clock& clock);

  virtual ~SeriesStore() = default;

  // The ref of the series with exactly `labels`, creating it if new. Returns
  // InvalidArgumentError if `labels` has no valid __name__, and ResourceExhaustedError if the
  // series is new and its metric already has max_series_per_metric series.
  virtual absl::StatusOr<SeriesRef> GetOrCreateSeries(const LabelSet& labels) = 0;

  // Appends the batch. On OK every accepted sample is durable; rejected samples are listed
  // with their reason. Returns an error (I/O) only if the WAL could not be written, in which
  // case the caller must treat the whole batch as not acknowledged.
  virtual absl::StatusOr<CommitResult> Commit(const SampleBatch& batch) = 0;

  // Series matching all `matchers` (at least one must not match the empty string) with
  // samples in [mint, maxt] (ms, inclusive), sorted by label set. Returns InvalidArgumentError
  // for an empty or all-empty-matching selector, DataLossError if a stored chunk is corrupt.
  virtual absl::StatusOr<std::vector<SeriesData>> Select(const std::vector<LabelMatcher>& matchers,
                                                         int64_t mint, int64_t maxt,
                                                         const ReadOptions& options = {}) const = 0;

  // Like Select, but hands the series to `fn` one at a time, in label order, through a buffer
  // reused between calls (fn may move out of it). Memory stays bounded by one series, which is
  // what the query engine wants for large selections. Stops at and returns fn's first error.
  virtual absl::Status SelectEach(const std::vector<LabelMatcher>& matchers, int64_t mint,
                                  int64_t maxt, const ReadOptions& options,
                                  const std::function<absl::Status(SeriesData&)>& fn) const = 0;

  // Sorted label names of the series matching any of `selectors` (all series when empty)
  // that have data in [mint, maxt].
  virtual absl::StatusOr<std::vector<std::string>> LabelNames(
      const std::vector<std::vector<LabelMatcher>>& selectors, int64_t mint,
      int64_t maxt) const = 0;

  // Sorted values of label `name` among the series matching any of `selectors` (all series
  // when empty) that have data in [mint, maxt].
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, const std::vector<std::vector<LabelMatcher>>& selectors,
      int64_t mint, int64_t maxt) const = 0;

  // Records metric metadata (from remote write or candor's own recorders); kept across
  // restarts.
  virtual absl::Status SetMetadata(const std::string& metric, const MetricMetadata& md) = 0;
  // All metadata, by metric name.
  virtual std::vector<std::pair<std::string, MetricMetadata>> Metadata() const = 0;

  // One maintenance pass: seal idle head chunks, flush, truncate the WAL, compute rollups of
  // finished days and drop partitions past retention. Returns the first I/O error.
  virtual absl::Status RunOnce() = 0;

  // Seals every open head chunk into RocksDB and compacts the database fully (benchmarks and
  // `candor` admin use; slow on big stores).
  virtual absl::Status SealAndCompact() = 0;

  virtual StoreStats Stats() const = 0;

  // Bytes on disk: RocksDB's live SST files (all, and split into raw-sample partitions and
  // rollup partitions), the head WAL, and RocksDB's own WAL.
  struct DiskUsage {
    int64_t sst_bytes = 0;
    int64_t raw_sst_bytes = 0;
    int64_t rollup_sst_bytes = 0;
    int64_t wal_bytes = 0;
    int64_t rocksdb_wal_bytes = 0;
  };
  virtual DiskUsage Usage() const = 0;
};

}  // namespace candor::store

#endif  // CANDOR_STORE_SERIES_STORE_H_
