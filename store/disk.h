// Disk: the RocksDB adapter of the store — the only file pair that names rocksdb:: types.
// It owns the database, its column families (store/FORMAT.md §2: `default` for metadata,
// `series`, one `raw_YYYYMMDD` per UTC day, `r5m_YYYYMM` and `r1h_YYYY` rollups), and turns
// rocksdb::Status into absl::Status.
//
// Retention drops whole column families (no tombstones). A reader holds shared handles, so a
// partition dropped during a read stays readable until the read ends.
//
// Thread safety: all methods are safe from any thread.

#ifndef CANDOR_STORE_DISK_H_
#define CANDOR_STORE_DISK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
class Cache;
}  // namespace rocksdb

namespace candor::store {

enum class PartitionKind { kRaw, k5m, k1h };

// A time partition: a UTC day (raw), month (5m rollups) or year (1h rollups), by its start.
struct PartitionId {
  PartitionKind kind = PartitionKind::kRaw;
  int64_t start_ms = 0;
  friend bool operator<(const PartitionId& a, const PartitionId& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.start_ms < b.start_ms;
  }
  friend bool operator==(const PartitionId&, const PartitionId&) = default;
};

// The partition of `kind` holding time `t_ms`, and the end (exclusive) of a partition.
PartitionId PartitionFor(PartitionKind kind, int64_t t_ms);
int64_t PartitionEnd(const PartitionId& p);
// Column family name ("raw_20260122"), and its inverse (nullopt for other names).
std::string PartitionName(const PartitionId& p);
std::optional<PartitionId> ParsePartitionName(std::string_view name);

struct DiskOptions {
  std::string path;
  int64_t block_cache_bytes = 32 << 20;
  bool zstd_bottommost = true;
};

class Disk {
 public:
  static absl::StatusOr<std::unique_ptr<Disk>> Open(const DiskOptions& options);
  ~Disk();

  // A set of writes applied atomically by Write().
  class Batch {
   public:
    Batch();
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    void PutChunk(const std::shared_ptr<rocksdb::ColumnFamilyHandle>& cf, uint64_t ref,
                  int64_t mint, std::string_view data);
    void DeleteChunk(const std::shared_ptr<rocksdb::ColumnFamilyHandle>& cf, uint64_t ref,
                     int64_t mint);
    void PutSeries(uint64_t ref, std::string_view labels);
    void PutSeriesMeta(uint64_t ref, std::string_view meta);
    void DeleteSeries(uint64_t ref);
    void PutMeta(std::string_view key, std::string_view value);
    void DeleteMeta(std::string_view key);
    size_t count() const;

   private:
    friend class Disk;
    Disk* disk_ = nullptr;
    std::unique_ptr<rocksdb::WriteBatch> wb_;
    std::vector<std::shared_ptr<rocksdb::ColumnFamilyHandle>> pinned_;
  };

  std::unique_ptr<Batch> NewBatch();
  absl::Status Write(Batch* batch, bool sync);

  // The handle of a partition, creating the column family if `create`; nullptr when absent
  // and not created.
  absl::StatusOr<std::shared_ptr<rocksdb::ColumnFamilyHandle>> Partition(const PartitionId& p,
                                                                         bool create);
  // Existing partitions of `kind`, ascending.
  std::vector<PartitionId> Partitions(PartitionKind kind) const;
  // Drops a partition's column family (O(1); files are deleted as readers release them).
  absl::Status Drop(const PartitionId& p);

  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key) const;
  // Calls fn(key, value) for default-CF keys starting with `prefix`.
  absl::Status ScanMeta(std::string_view prefix,
                        const std::function<void(std::string_view, std::string_view)>& fn) const;
  // Calls fn(ref, labels_encoding, meta_encoding_or_empty) for every stored series.
  absl::Status ScanSeries(
      const std::function<absl::Status(uint64_t, std::string_view, std::string_view)>& fn) const;

  // For each ref of `refs` (ascending), calls fn(i, chunk_mint, bytes) for its chunks in
  // partition `cf` with chunk_mint in [mint_lo, mint_hi], in key order.
  absl::Status ReadChunks(
      const std::shared_ptr<rocksdb::ColumnFamilyHandle>& cf, const std::vector<uint64_t>& refs,
      int64_t mint_lo, int64_t mint_hi,
      const std::function<absl::Status(size_t, int64_t, std::string_view)>& fn) const;
  // Every chunk of a partition in key order: fn(ref, chunk_mint, bytes).
  absl::Status ScanPartition(
      const std::shared_ptr<rocksdb::ColumnFamilyHandle>& cf,
      const std::function<absl::Status(uint64_t, int64_t, std::string_view)>& fn) const;

  // Makes every earlier write durable (fsync of RocksDB's WAL).
  absl::Status SyncWal();
  // Flushes memtables and compacts every column family fully.
  absl::Status CompactAll();

  int64_t SstBytes() const;
  // Live SST bytes of the partitions of `kind`.
  int64_t PartitionBytes(PartitionKind kind) const;
  int64_t WalBytes() const;
  const std::string& path() const { return options_.path; }

 private:
  explicit Disk(const DiskOptions& options);
  std::shared_ptr<rocksdb::ColumnFamilyHandle> Wrap(rocksdb::ColumnFamilyHandle* h);

  const DiskOptions options_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
  std::shared_ptr<rocksdb::ColumnFamilyHandle> default_cf_;
  std::shared_ptr<rocksdb::ColumnFamilyHandle> series_cf_;
  mutable absl::Mutex mu_;
  std::map<PartitionId, std::shared_ptr<rocksdb::ColumnFamilyHandle>> partitions_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace candor::store

#endif  // CANDOR_STORE_DISK_H_
