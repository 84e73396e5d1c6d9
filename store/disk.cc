#include "store/disk.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/strings.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/metadata.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/transaction_log.h"
#include "rocksdb/write_batch.h"
#include "store/bits.h"

namespace candor::store {
namespace {

constexpr char kSeriesCf[] = "series";
constexpr char kSeriesLabelsTag = 's';
constexpr char kSeriesMetaTag = 'm';

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(Sv(what), ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsIOError()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view FromSlice(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

std::string ChunkKey(uint64_t ref, int64_t mint) {
  std::string key;
  key.reserve(16);
  PutFixed64BE(&key, ref);
  PutOrderedInt64(&key, mint);
  return key;
}

std::string SeriesKey(char tag, uint64_t ref) {
  std::string key(1, tag);
  PutFixed64BE(&key, ref);
  return key;
}

absl::CivilSecond Civil(int64_t t_ms) {
  return absl::ToCivilSecond(absl::FromUnixMillis(t_ms), absl::UTCTimeZone());
}
int64_t Millis(absl::CivilSecond c) {
  return absl::ToUnixMillis(absl::FromCivil(c, absl::UTCTimeZone()));
}

rocksdb::ColumnFamilyOptions CfOptions(const DiskOptions& o,
                                       const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 16 << 20;
  cf.max_write_buffer_number = 2;
  cf.target_file_size_base = 32 << 20;
  cf.max_bytes_for_level_base = 128 << 20;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.compression = rocksdb::kLZ4Compression;
  cf.bottommost_compression = o.zstd_bottommost ? rocksdb::kZSTD : rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 << 10;
  table.block_cache = cache;
  table.format_version = 5;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace

PartitionId PartitionFor(PartitionKind kind, int64_t t_ms) {
  const absl::CivilSecond c = Civil(t_ms);
  switch (kind) {
    case PartitionKind::kRaw:
      return {kind, Millis(absl::CivilSecond(absl::CivilDay(c)))};
    case PartitionKind::k5m:
      return {kind, Millis(absl::CivilSecond(absl::CivilMonth(c)))};
    case PartitionKind::k1h:
      return {kind, Millis(absl::CivilSecond(absl::CivilYear(c)))};
  }
  return {kind, 0};
}

int64_t PartitionEnd(const PartitionId& p) {
  const absl::CivilSecond c = Civil(p.start_ms);
  switch (p.kind) {
    case PartitionKind::kRaw:
      return Millis(absl::CivilSecond(absl::CivilDay(c) + 1));
    case PartitionKind::k5m:
      return Millis(absl::CivilSecond(absl::CivilMonth(c) + 1));
    case PartitionKind::k1h:
      return Millis(absl::CivilSecond(absl::CivilYear(c) + 1));
  }
  return p.start_ms;
}

std::string PartitionName(const PartitionId& p) {
  const absl::CivilSecond c = Civil(p.start_ms);
  switch (p.kind) {
    case PartitionKind::kRaw:
      return absl::StrFormat("raw_%04d%02d%02d", c.year(), c.month(), c.day());
    case PartitionKind::k5m:
      return absl::StrFormat("r5m_%04d%02d", c.year(), c.month());
    case PartitionKind::k1h:
      return absl::StrFormat("r1h_%04d", c.year());
  }
  return "";
}

std::optional<PartitionId> ParsePartitionName(std::string_view name) {
  int y = 0;
  int m = 1;
  int d = 1;
  const std::string s(name);
  char tail = 0;
  if (name.size() == 12 && name.substr(0, 4) == "raw_" &&
      std::sscanf(s.c_str(), "raw_%4d%2d%2d%c", &y, &m, &d, &tail) == 3) {
    return PartitionId{PartitionKind::kRaw, Millis(absl::CivilSecond(absl::CivilDay(y, m, d)))};
  }
  if (name.size() == 10 && name.substr(0, 4) == "r5m_" &&
      std::sscanf(s.c_str(), "r5m_%4d%2d%c", &y, &m, &tail) == 2) {
    return PartitionId{PartitionKind::k5m, Millis(absl::CivilSecond(absl::CivilMonth(y, m)))};
  }
  if (name.size() == 8 && name.substr(0, 4) == "r1h_" &&
      std::sscanf(s.c_str(), "r1h_%4d%c", &y, &tail) == 1) {
    return PartitionId{PartitionKind::k1h, Millis(absl::CivilSecond(absl::CivilYear(y)))};
  }
  return std::nullopt;
}

Disk::Disk(const DiskOptions& options) : options_(options) {}

Disk::Batch::Batch() : wb_(std::make_unique<rocksdb::WriteBatch>()) {}
Disk::Batch::~Batch() = default;

void Disk::Batch::PutChunk(const std::shared_ptr<rocksdb::ColumnFamilyHandle>& cf, uint64_t ref,
                           int64_t mint, std::string_view data) {
  pinned_.push_back(cf);
  wb_->Put(cf.get(), ChunkKey(ref, mint), ToSlice(data));
}
void Disk::Batch::DeleteChunk(const std::shared_ptr<rocksdb::ColumnFamilyHandle>& cf, uint64_t ref,
                              int64_t mint) {
  pinned_.push_back(cf);
  wb_->Delete(cf.get(), ChunkKey(ref, mint));
}
void Disk::Batch::PutSeries(uint64_t ref, std::string_view labels) {
  wb_->Put(disk_->series_cf_.get(), SeriesKey(kSeriesLabelsTag, ref), ToSlice(labels));
}
void Disk::Batch::PutSeriesMeta(uint64_t ref, std::string_view meta) {
  wb_->Put(disk_->series_cf_.get(), SeriesKey(kSeriesMetaTag, ref), ToSlice(meta));
}
void Disk::Batch::DeleteSeries(uint64_t ref) {
  wb_->Delete(disk_->series_cf_.get(), SeriesKey(kSeriesLabelsTag, ref));
  wb_->Delete(disk_->series_cf_.get(), SeriesKey(kSeriesMetaTag, ref));
}
void Disk::Batch::PutMeta(std::string_view key, std::string_view value) {
  wb_->Put(disk_->default_cf_.get(), ToSlice(key), ToSlice(value));
}
void Disk::Batch::DeleteMeta(std::string_view key) {
  wb_->Delete(disk_->default_cf_.get(), ToSlice(key));
}
size_t Disk::Batch::count() const { return static_cast<size_t>(wb_->Count()); }

std::shared_ptr<rocksdb::ColumnFamilyHandle> Disk::Wrap(rocksdb::ColumnFamilyHandle* h) {
  rocksdb::DB* db = db_.get();
  return std::shared_ptr<rocksdb::ColumnFamilyHandle>(h, [db](rocksdb::ColumnFamilyHandle* p) {
    db->DestroyColumnFamilyHandle(p).PermitUncheckedError();
  });
}

absl::StatusOr<std::unique_ptr<Disk>> Disk::Open(const DiskOptions& options) {
  std::unique_ptr<Disk> disk(new Disk(options));
  disk->cache_ = rocksdb::NewLRUCache(static_cast<size_t>(options.block_cache_bytes));
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.max_total_wal_size = 64 << 20;
  db_options.db_write_buffer_size = 64 << 20;
  db_options.keep_log_file_num = 3;
  db_options.max_open_files = 512;
  db_options.info_log_level = rocksdb::WARN_LEVEL;
  db_options.avoid_unnecessary_blocking_io = true;

  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, options.path, &names);
  if (!s.ok()) names = {rocksdb::kDefaultColumnFamilyName};
  if (std::find(names.begin(), names.end(), kSeriesCf) == names.end()) names.push_back(kSeriesCf);
  const rocksdb::ColumnFamilyOptions cf_options = CfOptions(options, disk->cache_);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& n : names) descriptors.emplace_back(n, cf_options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &db);
  CANDOR_RETURN_IF_ERROR(FromRocks(s, absl::StrCat("open RocksDB at ", options.path)));
  disk->db_.reset(db);
  absl::MutexLock lock(&disk->mu_);
  for (size_t i = 0; i < names.size(); ++i) {
    auto h = disk->Wrap(handles[i]);
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      disk->default_cf_ = h;
    } else if (names[i] == kSeriesCf) {
      disk->series_cf_ = h;
    } else if (auto p = ParsePartitionName(names[i])) {
      disk->partitions_[*p] = h;
    } else {
      return absl::FailedPreconditionError(
          absl::StrCat("store at ", options.path, " has an unknown column family \"", names[i],
                       "\" (not a candor store, or a newer format)"));
    }
  }
  return disk;
}

Disk::~Disk() {
  {
    absl::MutexLock lock(&mu_);
    partitions_.clear();
  }
  default_cf_.reset();
  series_cf_.reset();
  if (db_ != nullptr) db_->Close().PermitUncheckedError();
  db_.reset();
}

std::unique_ptr<Disk::Batch> Disk::NewBatch() {
  auto b = std::make_unique<Batch>();
  b->disk_ = this;
  return b;
}

absl::Status Disk::Write(Batch* batch, bool sync) {
  if (batch->count() == 0) return absl::OkStatus();
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Write(wo, batch->wb_.get()), "RocksDB write");
}

absl::StatusOr<std::shared_ptr<rocksdb::ColumnFamilyHandle>> Disk::Partition(const PartitionId& p,
                                                                             bool create) {
  absl::MutexLock lock(&mu_);
  auto it = partitions_.find(p);
  if (it != partitions_.end()) return it->second;
  if (!create) return std::shared_ptr<rocksdb::ColumnFamilyHandle>();
  rocksdb::ColumnFamilyHandle* h = nullptr;
  CANDOR_RETURN_IF_ERROR(
      FromRocks(db_->CreateColumnFamily(CfOptions(options_, cache_), PartitionName(p), &h),
                absl::StrCat("create column family ", PartitionName(p))));
  auto handle = Wrap(h);
  partitions_[p] = handle;
  return handle;
}

std::vector<PartitionId> Disk::Partitions(PartitionKind kind) const {
  absl::MutexLock lock(&mu_);
  std::vector<PartitionId> out;
  for (const auto& [p, h] : partitions_) {
    if (p.kind == kind) out.push_back(p);
  }
  return out;
}

absl::Status Disk::Drop(const PartitionId& p) {
  std::shared_ptr<rocksdb::ColumnFamilyHandle> h;
  {
    absl::MutexLock lock(&mu_);
    auto it = partitions_.find(p);
    if (it == partitions_.end()) return absl::OkStatus();
    h = it->second;
    partitions_.erase(it);
  }
  return FromRocks(db_->DropColumnFamily(h.get()), absl::StrCat("drop ", PartitionName(p)));
}

absl::StatusOr<std::optional<std::string>> Disk::GetMeta(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), default_cf_.get(), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  CANDOR_RETURN_IF_ERROR(FromRocks(s, "RocksDB get"));
  return std::optional<std::string>(std::move(value));
}

absl::Status Disk::ScanMeta(
    std::string_view prefix,
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), default_cf_.get()));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    const std::string_view k = FromSlice(it->key());
    if (k.substr(0, prefix.size()) != prefix) break;
    fn(k, FromSlice(it->value()));
  }
  return FromRocks(it->status(), "scan metadata");
}

absl::Status Disk::ScanSeries(
    const std::function<absl::Status(uint64_t, std::string_view, std::string_view)>& fn) const {
  // Keys sort 'm'… before 's'…: read the meta entries first, then join while scanning labels.
  std::map<uint64_t, std::string> metas;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), series_cf_.get()));
  for (it->Seek(std::string(1, kSeriesMetaTag)); it->Valid(); it->Next()) {
    const std::string_view k = FromSlice(it->key());
    if (k.size() != 9 || k[0] != kSeriesMetaTag) break;
    metas[DecodeFixed64BE(k.data() + 1)] = std::string(FromSlice(it->value()));
  }
  CANDOR_RETURN_IF_ERROR(FromRocks(it->status(), "scan series"));
  for (it->Seek(std::string(1, kSeriesLabelsTag)); it->Valid(); it->Next()) {
    const std::string_view k = FromSlice(it->key());
    if (k.size() != 9 || k[0] != kSeriesLabelsTag) break;
    const uint64_t ref = DecodeFixed64BE(k.data() + 1);
    auto m = metas.find(ref);
    CANDOR_RETURN_IF_ERROR(
        fn(ref, FromSlice(it->value()), m == metas.end() ? std::string_view() : m->second));
  }
  return FromRocks(it->status(), "scan series");
}

absl::Status Disk::ReadChunks(
    const std::shared_ptr<rocksdb::ColumnFamilyHandle>& cf, const std::vector<uint64_t>& refs,
    int64_t mint_lo, int64_t mint_hi,
    const std::function<absl::Status(size_t, int64_t, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf.get()));
  for (size_t i = 0; i < refs.size(); ++i) {
    const std::string start = ChunkKey(refs[i], mint_lo);
    // Keys ascend with the refs; skip a seek when the iterator is already there.
    if (!it->Valid() || FromSlice(it->key()) < std::string_view(start)) it->Seek(start);
    for (; it->Valid(); it->Next()) {
      const rocksdb::Slice k = it->key();
      if (k.size() != 16) return absl::DataLossError("malformed chunk key");
      if (DecodeFixed64BE(k.data()) != refs[i]) break;
      const int64_t mint = DecodeOrderedInt64(k.data() + 8);
      if (mint > mint_hi) break;
      CANDOR_RETURN_IF_ERROR(fn(i, mint, FromSlice(it->value())));
    }
    CANDOR_RETURN_IF_ERROR(FromRocks(it->status(), "read chunks"));
  }
  return absl::OkStatus();
}

absl::Status Disk::ScanPartition(
    const std::shared_ptr<rocksdb::ColumnFamilyHandle>& cf,
    const std::function<absl::Status(uint64_t, int64_t, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf.get()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.size() != 16) return absl::DataLossError("malformed chunk key");
    CANDOR_RETURN_IF_ERROR(
        fn(DecodeFixed64BE(k.data()), DecodeOrderedInt64(k.data() + 8), FromSlice(it->value())));
  }
  return FromRocks(it->status(), "scan partition");
}

absl::Status Disk::SyncWal() { return FromRocks(db_->SyncWAL(), "sync RocksDB WAL"); }

absl::Status Disk::CompactAll() {
  std::vector<std::shared_ptr<rocksdb::ColumnFamilyHandle>> all = {default_cf_, series_cf_};
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [p, h] : partitions_) all.push_back(h);
  }
  for (const auto& h : all) {
    CANDOR_RETURN_IF_ERROR(FromRocks(db_->Flush(rocksdb::FlushOptions(), h.get()), "flush"));
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    CANDOR_RETURN_IF_ERROR(FromRocks(db_->CompactRange(co, h.get(), nullptr, nullptr), "compact"));
  }
  return absl::OkStatus();
}

int64_t Disk::SstBytes() const {
  uint64_t v = 0;
  db_->GetAggregatedIntProperty("rocksdb.live-sst-files-size", &v);
  return static_cast<int64_t>(v);
}

int64_t Disk::PartitionBytes(PartitionKind kind) const {
  std::vector<std::shared_ptr<rocksdb::ColumnFamilyHandle>> handles;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [p, h] : partitions_) {
      if (p.kind == kind) handles.push_back(h);
    }
  }
  int64_t total = 0;
  for (const auto& h : handles) {
    rocksdb::ColumnFamilyMetaData md;
    db_->GetColumnFamilyMetaData(h.get(), &md);
    total += static_cast<int64_t>(md.size);
  }
  return total;
}

int64_t Disk::WalBytes() const {
  rocksdb::VectorLogPtr files;
  if (!db_->GetSortedWalFiles(files).ok()) return 0;
  int64_t total = 0;
  for (const auto& f : files) total += static_cast<int64_t>(f->SizeFileBytes());
  return total;
}

}  // namespace candor::store
