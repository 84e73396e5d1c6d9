// The implementation behind SeriesStore (series_store.h). Split over three files: the write
// path and opening (series_store.cc), the read path (series_read.cc), and maintenance —
// sealing, WAL truncation, rollups, retention (maintenance.cc).
//
// Locking: `mu_` guards the series table, the index and the head. Commit holds it exclusively
// while it applies samples (and writes sealed chunks to RocksDB, which does not fsync), then
// releases it and waits for the WAL group commit. Readers hold it shared only to select
// series and copy their open chunks; they read RocksDB without it.

#ifndef CANDOR_STORE_SERIES_STORE_IMPL_H_
#define CANDOR_STORE_SERIES_STORE_IMPL_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "store/disk.h"
#include "store/head.h"
#include "store/index.h"
#include "store/series_store.h"
#include "store/wal.h"

namespace candor::store {

// The on-disk format version this code reads and writes (store/FORMAT.md §1).
inline constexpr int kFormatVersion = 1;

class SeriesStoreImpl final : public SeriesStore {
 public:
  SeriesStoreImpl(const SeriesStoreOptions& options, Clock& clock);
  ~SeriesStoreImpl() override;

  absl::Status Init();

  absl::StatusOr<SeriesRef> GetOrCreateSeries(const LabelSet& labels) override;
  absl::StatusOr<CommitResult> Commit(const SampleBatch& batch) override;
  absl::StatusOr<std::vector<SeriesData>> Select(const std::vector<LabelMatcher>& matchers,
                                                 int64_t mint, int64_t maxt,
                                                 const ReadOptions& options) const override;
  absl::Status SelectEach(const std::vector<LabelMatcher>& matchers, int64_t mint, int64_t maxt,
                          const ReadOptions& options,
                          const std::function<absl::Status(SeriesData&)>& fn) const override;
  absl::StatusOr<std::vector<std::string>> LabelNames(
      const std::vector<std::vector<LabelMatcher>>& selectors, int64_t mint,
      int64_t maxt) const override;
  absl::StatusOr<std::vector<std::string>> LabelValues(
      const std::string& name, const std::vector<std::vector<LabelMatcher>>& selectors,
      int64_t mint, int64_t maxt) const override;
  absl::Status SetMetadata(const std::string& metric, const MetricMetadata& md) override;
  std::vector<std::pair<std::string, MetricMetadata>> Metadata() const override;
  absl::Status RunOnce() override;
  absl::Status SealAndCompact() override;
  StoreStats Stats() const override;
  DiskUsage Usage() const override;

 private:
  // A sample that belongs to sealed territory, merged into RocksDB by the out-of-order path.
  struct LateSample {
    SeriesRef ref;
    int64_t t;
    double v;
    std::shared_ptr<const Histogram> h;  // Set for histogram samples.
    size_t index;                        // Position in the batch, for rejects.
  };

  // Open.
  absl::Status CheckFormat();
  absl::Status LoadSeries();
  absl::Status ReplayWal();
  absl::Status ApplyWalRecord(uint32_t segment, std::string_view record,
                              std::vector<SealedChunk>* sealed, std::vector<LateSample>* late)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  HeadSeries* AddSeriesLocked(SeriesRef ref, LabelSet labels) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Write path.
  HeadSeries* Find(SeriesRef ref) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status FlushSealed(std::vector<SealedChunk>* sealed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MergeLate(std::vector<LateSample>* late, CommitResult* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MergeLateGroup(const std::vector<LateSample>& group, CommitResult* result,
                              Disk::Batch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteRawWrite(int64_t day, Disk::Batch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Reject(CommitResult* result, size_t index, RejectReason reason, std::string message);

  // Read path.
  struct ReadTarget;
  std::vector<ReadTarget> Targets(const std::vector<uint64_t>& refs, int64_t mint, int64_t maxt,
                                  bool copy_head) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  static void Finish(ReadTarget* t, bool columns);
  absl::Status ReadDisk(std::vector<ReadTarget>* targets, int64_t mint, int64_t maxt,
                        Resolution resolution, bool columns) const;
  // True if the series exists and has samples in [mint, maxt] (by its metadata).
  bool InRange(SeriesRef ref, int64_t mint, int64_t maxt) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::vector<SeriesRef> SelectUnion(const std::vector<std::vector<LabelMatcher>>& selectors,
                                     int64_t mint, int64_t maxt) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Maintenance.
  absl::Status SealIdle();
  absl::Status TruncateWal();
  absl::Status ComputeRollups();
  absl::Status RollupDay(int64_t day);
  absl::Status ApplyRetention();

  const SeriesStoreOptions options_;
  Clock& clock_;
  std::unique_ptr<Disk> disk_;
  std::unique_ptr<Wal> wal_;
  absl::Mutex maintenance_mu_;  // One maintenance pass at a time.

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<HeadSeries>> series_ ABSL_GUARDED_BY(mu_);  // By ref.
  absl::flat_hash_map<LabelSet, SeriesRef> by_labels_ ABSL_GUARDED_BY(mu_);
  PostingsIndex index_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> metric_series_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, MetricMetadata> metadata_ ABSL_GUARDED_BY(mu_);
  SeriesRef next_ref_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t num_series_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t store_maxt_ ABSL_GUARDED_BY(mu_) = INT64_MIN;
  // Raw data before this time has expired (rollups answer for it).
  int64_t raw_horizon_ ABSL_GUARDED_BY(mu_) = INT64_MIN;
  // Days (raw partition starts) whose rollups are computed, and days written after that.
  std::set<int64_t> rolled_days_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, uint64_t> dirty_days_ ABSL_GUARDED_BY(mu_);  // Day -> write generation.

  std::atomic<uint64_t> samples_appended_{0};
  std::atomic<uint64_t> histograms_appended_{0};
  std::atomic<uint64_t> rejected_[6] = {};
  std::atomic<uint64_t> series_created_{0};
  std::atomic<uint64_t> series_limit_rejects_{0};
  std::atomic<uint64_t> chunks_written_{0};
  std::atomic<uint64_t> rollups_written_{0};
  std::atomic<uint64_t> partitions_dropped_{0};
  mutable std::atomic<uint64_t> corrupt_chunks_{0};
};

}  // namespace candor::store

#endif  // CANDOR_STORE_SERIES_STORE_IMPL_H_
