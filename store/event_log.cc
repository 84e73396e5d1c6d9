#include "store/event_log.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <deque>
#include <map>
#include <queue>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "store/event_log_format.h"

namespace candor::store {
namespace {

using namespace event_log_format;  // NOLINT: the format's vocabulary is this file's too.

// RocksDB's status as an absl::Status with the same meaning, prefixed with `context`.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view context = "") {
  if (s.ok()) return absl::OkStatus();
  std::string message =
      context.empty() ? s.ToString() : absl::StrCat(Sv(context), ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(message);
  }
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Per column-family options for each part of a day's partition.
struct PartOptions {
  rocksdb::ColumnFamilyOptions records;
  rocksdb::ColumnFamilyOptions ids;
  rocksdb::ColumnFamilyOptions spans;

  PartOptions(size_t write_buffer_bytes, EventLogOptions::IdMemtable id_memtable) {
    // Records are keyed by sequence number, so every flushed file covers a key range after all
    // earlier ones. With the same compression at every level, leveled compaction moves such
    // files down without rewriting them: a record is compressed once, at flush.
    records.write_buffer_size = write_buffer_bytes;
    records.max_write_buffer_number = 4;
    records.compression = rocksdb::kZSTD;
    records.bottommost_compression = rocksdb::kDisableCompressionOption;
    records.compression_opts.level = 1;
    records.level_compaction_dynamic_level_bytes = true;
    rocksdb::BlockBasedTableOptions record_table;
    record_table.block_size = 32 * 1024;
    records.table_factory.reset(rocksdb::NewBlockBasedTableFactory(record_table));

    // Id keys land at random positions, so a skip list pays a cache miss per level on every
    // insert. The append-only memtable makes each insert O(1) and sorts once at flush; the
    // hashed one buckets on the 9-byte prefix (tag and id hash; 2^16 buckets are 512 KiB of
    // the memtable's arena). A prefix bloom filter skips files and memtables on lookup.
    ids.write_buffer_size = std::max<size_t>(write_buffer_bytes / 2, 8u << 20);
    ids.max_write_buffer_number = 4;
    ids.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(kIdPrefixBytes));
    if (id_memtable == EventLogOptions::IdMemtable::kHashed) {
      ids.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(1 << 16));
    } else {
      ids.memtable_factory.reset(new rocksdb::VectorRepFactory());
    }
    ids.memtable_prefix_bloom_size_ratio = 0.05;
    ids.compression = rocksdb::kLZ4Compression;
    ids.compaction_style = rocksdb::kCompactionStyleUniversal;
    rocksdb::BlockBasedTableOptions id_table;
    id_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    id_table.whole_key_filtering = false;
    ids.table_factory.reset(rocksdb::NewBlockBasedTableFactory(id_table));

    // One small key per commit group and minute.
    spans.write_buffer_size = 4u << 20;
    spans.compression = rocksdb::kLZ4Compression;
  }

  const rocksdb::ColumnFamilyOptions& For(PartitionPart part) const {
    switch (part) {
      case PartitionPart::kRecords:
        return records;
      case PartitionPart::kIds:
        return ids;
      case PartitionPart::kSpans:
        return spans;
    }
    return records;
  }
};

// The column families of one day.
struct Partition {
  rocksdb::ColumnFamilyHandle* records = nullptr;
  rocksdb::ColumnFamilyHandle* ids = nullptr;
  rocksdb::ColumnFamilyHandle* spans = nullptr;

  rocksdb::ColumnFamilyHandle*& Part(PartitionPart part) {
    switch (part) {
      case PartitionPart::kRecords:
        return records;
      case PartitionPart::kIds:
        return ids;
      case PartitionPart::kSpans:
        return spans;
    }
    return records;
  }
};

}  // namespace

struct EventLog::Impl {
  struct Writer {
    std::span<const LogRecord> records;
    uint64_t first_seq = 0;
    absl::Status status;
    bool done = false;
  };

  EventLogOptions options;
  Clock* clock = nullptr;
  std::unique_ptr<PartOptions> part_options;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* transitions = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> other_cfs;  // default; held only to be released.

  // Partitions by day. Readers hold a shared lock for the duration of a read.
  mutable absl::Mutex cf_mu;
  std::map<int64_t, Partition> partitions ABSL_GUARDED_BY(cf_mu);

  absl::Mutex mu;
  std::deque<Writer*> queue ABSL_GUARDED_BY(mu);
  bool leader_busy ABSL_GUARDED_BY(mu) = false;
  uint64_t next_seq = 1;  // Only the leader touches it.
  std::atomic<uint64_t> last_seq{0};
  std::atomic<uint64_t> appended{0};
  std::atomic<uint64_t> groups{0};
  std::atomic<uint64_t> transition_nonce{0};

  absl::Mutex listener_mu;
  CommitListener listener ABSL_GUARDED_BY(listener_mu);

  ~Impl() {
    if (db == nullptr) return;
    absl::MutexLock lock(&cf_mu);
    for (auto& [day, p] : partitions) {
      for (PartitionPart part : kAllParts) {
        if (p.Part(part) != nullptr) db->DestroyColumnFamilyHandle(p.Part(part));
      }
    }
    for (auto* h : {meta, transitions}) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h);
    }
    for (auto* h : other_cfs) db->DestroyColumnFamilyHandle(h);
    db->Close();
  }

  rocksdb::WriteOptions WriteOpts() const {
    rocksdb::WriteOptions w;
    w.sync = options.sync;
    return w;
  }

  // Creates whichever column families of `p` (the partition of `day`) are missing.
  absl::Status CompletePartition(int64_t day, Partition& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(cf_mu) {
    for (PartitionPart part : kAllParts) {
      if (p.Part(part) != nullptr) continue;
      CANDOR_RETURN_IF_ERROR(FromRocks(db->CreateColumnFamily(
          part_options->For(part), PartitionName(part, day), &p.Part(part))));
    }
    return absl::OkStatus();
  }

  // Returns the partition for `day`, creating it if needed.
  absl::StatusOr<Partition> GetPartition(int64_t day) {
    {
      absl::ReaderMutexLock lock(&cf_mu);
      auto it = partitions.find(day);
      if (it != partitions.end()) return it->second;
    }
    absl::MutexLock lock(&cf_mu);
    Partition& p = partitions[day];
    CANDOR_RETURN_IF_ERROR(CompletePartition(day, p));
    return p;
  }

  int64_t OldestAllowedDay() const { return DayOf(clock->Now() - options.retention); }

  absl::Status WriteGroup(const std::vector<Writer*>& group) {
    struct IdEntry {
      rocksdb::ColumnFamilyHandle* cf;
      std::string key;
    };
    rocksdb::WriteBatch batch;
    std::vector<IdEntry> ids;
    std::map<std::pair<rocksdb::ColumnFamilyHandle*, int64_t>, TimeSpan> spans;
    uint64_t seq = next_seq;
    const int64_t oldest = OldestAllowedDay();
    const int64_t span_ms = absl::ToInt64Milliseconds(kTimeSpan);
    int64_t p_day = INT64_MIN;  // The day of `p`, which nearly every record shares.
    Partition p;
    for (Writer* w : group) {
      w->first_seq = seq;
      for (const LogRecord& r : w->records) {
        const int64_t day = DayOf(r.event_time);
        if (day < oldest) {
          return absl::OutOfRangeError(
              absl::StrCat("record event time is beyond the event log retention of ",
                           absl::FormatDuration(options.retention)));
        }
        if (day != p_day) {
          CANDOR_ASSIGN_OR_RETURN(p, GetPartition(day));
          p_day = day;
        }
        batch.Put(p.records, RecordKey(seq), EncodeRecord(r));
        TimeSpan& span = spans[{p.spans, absl::ToUnixMillis(r.event_time) / span_ms}];
        span.min_time = std::min(span.min_time, r.event_time);
        span.max_time = std::max(span.max_time, r.event_time);
        span.seqs.push_back(seq);
        std::string seq_be;
        AppendBigEndian64(&seq_be, seq);
        if (!r.request_id.empty()) {
          ids.push_back({p.ids, IdPrefix(kRequestTag, r.request_id) + seq_be});
        }
        if (!r.trace_id.empty() && r.trace_id != r.request_id) {
          ids.push_back({p.ids, IdPrefix(kTraceTag, r.trace_id) + seq_be});
        }
        ++seq;
      }
    }
    for (const auto& [where, span] : spans) {
      batch.Put(where.first, TimeSpanKey(span), TimeSpanValue(span));
    }
    for (const IdEntry& e : ids) batch.Put(e.cf, e.key, rocksdb::Slice());
    CANDOR_RETURN_IF_ERROR(FromRocks(db->Write(WriteOpts(), &batch)));
    const uint64_t count = seq - next_seq;
    next_seq = seq;
    last_seq.store(seq - 1);
    appended.fetch_add(count);
    groups.fetch_add(1);
    return absl::OkStatus();
  }

  void NotifyListenerLocked(const std::vector<Writer*>& group)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(listener_mu) {
    if (!listener) return;
    for (Writer* w : group) {
      if (!w->records.empty()) listener(w->first_seq, w->records);
    }
  }

  absl::StatusOr<StoredRecord> GetRecord(const Partition& p, uint64_t seq) const {
    std::string value;
    CANDOR_RETURN_IF_ERROR(
        FromRocks(db->Get(rocksdb::ReadOptions(), p.records, RecordKey(seq), &value)));
    return DecodeRecord(seq, value);
  }

  absl::StatusOr<std::vector<StoredRecord>> FindById(char tag, std::string_view id,
                                                     size_t limit) const {
    std::vector<StoredRecord> out;
    if (tag == kTraceTag) {
      // Records whose trace id equals their request id are only under the request-id index.
      CANDOR_ASSIGN_OR_RETURN(std::vector<StoredRecord> same, FindById(kRequestTag, id, limit));
      for (StoredRecord& r : same) {
        if (r.trace_id == id) out.push_back(std::move(r));
      }
    }
    const std::string prefix = IdPrefix(tag, id);
    rocksdb::ReadOptions read;
    read.prefix_same_as_start = true;
    absl::ReaderMutexLock lock(&cf_mu);
    for (auto it = partitions.rbegin(); it != partitions.rend() && out.size() < limit; ++it) {
      std::vector<uint64_t> seqs;
      std::unique_ptr<rocksdb::Iterator> iter(db->NewIterator(read, it->second.ids));
      for (iter->Seek(prefix); iter->Valid() && iter->key().starts_with(prefix); iter->Next()) {
        if (iter->key().size() != prefix.size() + 8) continue;
        seqs.push_back(ReadBigEndian64(ToView(iter->key()).substr(prefix.size(), 8)));
      }
      CANDOR_RETURN_IF_ERROR(FromRocks(iter->status()));
      for (auto s = seqs.rbegin(); s != seqs.rend() && out.size() < limit; ++s) {
        CANDOR_ASSIGN_OR_RETURN(StoredRecord r, GetRecord(it->second, *s));
        // Different ids may share a hash: keep only true matches.
        if ((tag == kRequestTag ? r.request_id : r.trace_id) == id) out.push_back(std::move(r));
      }
    }
    return out;
  }

  // Adds to `out` the records of `span` that `query` selects.
  absl::Status CollectSpan(const Partition& p, const TimeSpan& span, const RecordQuery& query,
                           std::vector<StoredRecord>* out) const {
    for (uint64_t seq : span.seqs) {
      CANDOR_ASSIGN_OR_RETURN(StoredRecord r, GetRecord(p, seq));
      if (r.event_time < query.start || r.event_time >= query.end) continue;
      if (query.kind.has_value() && r.kind != *query.kind) continue;
      if (!query.entity.empty() &&
          std::find(r.entities.begin(), r.entities.end(), query.entity) == r.entities.end()) {
        continue;
      }
      out->push_back(std::move(r));
    }
    return absl::OkStatus();
  }
};

EventLog::EventLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventLog::~EventLog() = default;

namespace {

rocksdb::DBOptions MakeDbOptions() {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_total_wal_size = 256u << 20;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 2;
  // Compactions run at the lowest CPU priority (nice 19): on a machine the size of the
  // fleet's smallest hosts they would otherwise take cores from acknowledging ingest. Flushes
  // keep normal priority: they must keep up with the write rate. The pool is process-wide.
  rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW,
                                                      rocksdb::CpuPriority::kLow);
  // The id index's memtables do not support concurrent inserts; writes
  // come from one group-commit leader at a time anyway.
  db_options.allow_concurrent_memtable_write = false;
  return db_options;
}

// Checks (or, for a new log, writes) the format version.
absl::Status CheckFormatVersion(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* meta,
                                const EventLogOptions& options) {
  std::string version;
  rocksdb::Status got = db.Get(rocksdb::ReadOptions(), meta, std::string(kFormatKey), &version);
  if (got.IsNotFound()) {
    rocksdb::WriteOptions w;
    w.sync = options.sync;
    return FromRocks(db.Put(w, meta, std::string(kFormatKey), std::string(kFormatVersion)));
  }
  CANDOR_RETURN_IF_ERROR(FromRocks(got));
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("event log at ", options.path, " has format version ", version,
                     "; this candor reads version ", Sv(kFormatVersion)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(const EventLogOptions& options,
                                                         Clock& clock) {
  if (options.path.empty()) return absl::InvalidArgumentError("event log path is empty");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->clock = &clock;
  impl->part_options =
      std::make_unique<PartOptions>(options.write_buffer_bytes, options.id_memtable);
  const rocksdb::DBOptions db_options = MakeDbOptions();

  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(db_options, options.path, &names).ok()) {
    names = {rocksdb::kDefaultColumnFamilyName};
  }
  for (std::string_view required : {kMetaCf, kTransitionsCf}) {
    if (std::find(names.begin(), names.end(), required) == names.end()) {
      names.emplace_back(required);
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::string unknown;
  for (const std::string& n : names) {
    auto part = ParsePartitionName(n);
    const bool known = part.has_value() || n == kMetaCf || n == kTransitionsCf ||
                       n == rocksdb::kDefaultColumnFamilyName;
    if (!known) unknown = n;
    descriptors.emplace_back(
        n, part ? impl->part_options->For(part->first) : rocksdb::ColumnFamilyOptions());
  }
  if (!unknown.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "event log at ", options.path, " has an unknown column family \"", unknown, "\""));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  CANDOR_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw),
                absl::StrCat("opening the event log at ", options.path)));
  impl->db.reset(raw);
  {
    absl::MutexLock lock(&impl->cf_mu);
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == kMetaCf) {
        impl->meta = handles[i];
      } else if (names[i] == kTransitionsCf) {
        impl->transitions = handles[i];
      } else if (auto part = ParsePartitionName(names[i]); part.has_value()) {
        impl->partitions[part->second].Part(part->first) = handles[i];
      } else {
        impl->other_cfs.push_back(handles[i]);
      }
    }
    // A crash between creating a day's column families leaves that day incomplete.
    for (auto& [day, p] : impl->partitions) {
      CANDOR_RETURN_IF_ERROR(impl->CompletePartition(day, p));
    }
  }
  CANDOR_RETURN_IF_ERROR(CheckFormatVersion(*impl->db, impl->meta, options));

  // The next sequence number follows the highest record in any partition.
  uint64_t last = 0;
  {
    absl::ReaderMutexLock lock(&impl->cf_mu);
    for (auto& [day, p] : impl->partitions) {
      std::unique_ptr<rocksdb::Iterator> it(
          impl->db->NewIterator(rocksdb::ReadOptions(), p.records));
      it->SeekToLast();
      if (it->Valid() && it->key().size() == 8) {
        last = std::max(last, ReadBigEndian64(ToView(it->key())));
      }
    }
  }
  impl->next_seq = last + 1;
  impl->last_seq.store(last);
  {
    std::unique_ptr<rocksdb::Iterator> it(
        impl->db->NewIterator(rocksdb::ReadOptions(), impl->transitions));
    it->SeekToLast();
    if (it->Valid() && it->key().size() == 16) {
      impl->transition_nonce.store(ReadBigEndian64(ToView(it->key()).substr(8, 8)));
    }
  }
  return std::unique_ptr<EventLog>(new EventLog(std::move(impl)));
}

void EventLog::SetCommitListener(CommitListener listener) {
  absl::MutexLock lock(&impl_->listener_mu);
  impl_->listener = std::move(listener);
}

absl::StatusOr<uint64_t> EventLog::Append(std::span<const LogRecord> records) {
  if (records.empty()) return LastSeq() + 1;
  Impl& s = *impl_;
  Impl::Writer self;
  self.records = records;
  s.mu.Lock();
  s.queue.push_back(&self);
  struct Wait {
    Impl* s;
    Impl::Writer* w;
  } wait{&s, &self};
  s.mu.Await(absl::Condition(
      +[](Wait* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return a->w->done || (!a->s->leader_busy && a->s->queue.front() == a->w);
      },
      &wait));
  if (self.done) {
    s.mu.Unlock();
    if (!self.status.ok()) return self.status;
    return self.first_seq;
  }
  // This writer leads: it commits every writer queued so far in one batch and one fsync.
  s.leader_busy = true;
  std::vector<Impl::Writer*> group(s.queue.begin(), s.queue.end());
  s.queue.clear();
  s.mu.Unlock();

  const absl::Status status = s.WriteGroup(group);
  if (!status.ok()) {
    s.mu.Lock();
    for (Impl::Writer* w : group) {
      w->status = status;
      w->done = true;
    }
    s.leader_busy = false;
    s.mu.Unlock();
    return status;
  }
  // The group is durable. The listener lock is taken before leadership passes on, so groups
  // reach the listener in commit order; the next leader writes and syncs its group while this
  // one is in the listener. The group's writers return only after it: their records (and
  // attachments) must outlive the call.
  s.listener_mu.Lock();
  s.mu.Lock();
  s.leader_busy = false;
  s.mu.Unlock();
  s.NotifyListenerLocked(group);
  s.listener_mu.Unlock();
  s.mu.Lock();
  for (Impl::Writer* w : group) w->done = true;
  s.mu.Unlock();
  return self.first_seq;
}

absl::StatusOr<std::vector<StoredRecord>> EventLog::FindByRequestId(std::string_view request_id,
                                                                    size_t limit) const {
  return impl_->FindById(kRequestTag, request_id, limit);
}

absl::StatusOr<std::vector<StoredRecord>> EventLog::FindByTraceId(std::string_view trace_id,
                                                                  size_t limit) const {
  return impl_->FindById(kTraceTag, trace_id, limit);
}

absl::StatusOr<std::vector<StoredRecord>> EventLog::Query(const RecordQuery& query) const {
  std::vector<StoredRecord> out;
  if (query.limit == 0) return out;
  const Impl& s = *impl_;
  // Newest first: spans are visited by descending start time. Once `limit` records are held,
  // a span starting more than kTimeSpan before the limit-th newest of them cannot hold a newer
  // record, and neither can any span visited after it.
  auto enough_before = [&](absl::Time span_start) {
    if (out.size() < query.limit) return false;
    std::nth_element(
        out.begin(), out.begin() + static_cast<ptrdiff_t>(query.limit - 1), out.end(),
        [](const StoredRecord& a, const StoredRecord& b) { return a.event_time > b.event_time; });
    return span_start + kTimeSpan < out[query.limit - 1].event_time;
  };
  absl::ReaderMutexLock lock(&s.cf_mu);
  for (auto it = s.partitions.rbegin(); it != s.partitions.rend(); ++it) {
    if (query.end != absl::InfiniteFuture() && it->first > DayOf(query.end)) continue;
    if (query.start != absl::InfinitePast() && it->first < DayOf(query.start)) break;
    if (enough_before(absl::FromUnixSeconds((it->first + 1) * 86400))) break;
    std::string hi;
    AppendBigEndian64(&hi, query.end == absl::InfiniteFuture() ? UINT64_MAX : TimeKey(query.end));
    std::unique_ptr<rocksdb::Iterator> iter(
        s.db->NewIterator(rocksdb::ReadOptions(), it->second.spans));
    TimeSpan span;
    for (iter->SeekForPrev(hi); iter->Valid(); iter->Prev()) {
      if (!DecodeTimeSpan(ToView(iter->key()), ToView(iter->value()), &span)) {
        return absl::DataLossError("corrupt event log time index");
      }
      if (span.min_time >= query.end) continue;
      if (span.min_time + kTimeSpan < query.start || enough_before(span.min_time)) break;
      if (span.max_time < query.start) continue;
      CANDOR_RETURN_IF_ERROR(s.CollectSpan(it->second, span, query, &out));
    }
    CANDOR_RETURN_IF_ERROR(FromRocks(iter->status()));
  }
  std::sort(out.begin(), out.end(), [](const StoredRecord& a, const StoredRecord& b) {
    return a.event_time != b.event_time ? a.event_time > b.event_time : a.seq > b.seq;
  });
  if (out.size() > query.limit) out.resize(query.limit);
  return out;
}

absl::Status EventLog::ScanSince(uint64_t after_seq,
                                 const std::function<bool(const StoredRecord&)>& fn) const {
  const Impl& s = *impl_;
  absl::ReaderMutexLock lock(&s.cf_mu);
  struct Cursor {
    std::unique_ptr<rocksdb::Iterator> it;
    uint64_t seq;
  };
  std::vector<Cursor> cursors;
  auto valid_record = [](const rocksdb::Iterator& it) {
    return it.Valid() && it.key().size() == 8;
  };
  for (auto& [day, p] : s.partitions) {
    Cursor c{
        std::unique_ptr<rocksdb::Iterator>(s.db->NewIterator(rocksdb::ReadOptions(), p.records)),
        0};
    c.it->Seek(RecordKey(after_seq + 1));
    if (valid_record(*c.it)) {
      c.seq = ReadBigEndian64(ToView(c.it->key()));
      cursors.push_back(std::move(c));
    } else {
      CANDOR_RETURN_IF_ERROR(FromRocks(c.it->status()));
    }
  }
  // K-way merge by sequence number across partitions.
  auto later = [&](size_t a, size_t b) { return cursors[a].seq > cursors[b].seq; };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i < cursors.size(); ++i) heap.push(i);
  while (!heap.empty()) {
    const size_t i = heap.top();
    heap.pop();
    Cursor& c = cursors[i];
    CANDOR_ASSIGN_OR_RETURN(StoredRecord r, DecodeRecord(c.seq, ToView(c.it->value())));
    if (!fn(r)) return absl::OkStatus();
    c.it->Next();
    if (valid_record(*c.it)) {
      c.seq = ReadBigEndian64(ToView(c.it->key()));
      heap.push(i);
    } else {
      CANDOR_RETURN_IF_ERROR(FromRocks(c.it->status()));
    }
  }
  return absl::OkStatus();
}

uint64_t EventLog::LastSeq() const { return impl_->last_seq.load(); }

absl::Status EventLog::PutTransition(absl::Time time, std::string_view entity,
                                     std::string_view json) {
  std::string key;
  AppendBigEndian64(&key, TimeKey(time));
  AppendBigEndian64(&key, impl_->transition_nonce.fetch_add(1) + 1);
  std::string value;
  AppendVarint(&value, entity.size());
  value.append(entity);
  value.append(json);
  return FromRocks(impl_->db->Put(impl_->WriteOpts(), impl_->transitions, key, value));
}

absl::StatusOr<std::vector<StoredTransition>> EventLog::Transitions(
    const TransitionQuery& query) const {
  std::vector<StoredTransition> out;
  std::string lo;
  AppendBigEndian64(&lo, query.start == absl::InfinitePast() ? 0 : TimeKey(query.start));
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->transitions));
  for (it->Seek(lo); it->Valid() && out.size() < query.limit; it->Next()) {
    if (it->key().size() != 16) continue;
    const absl::Time t = FromTimeKey(ReadBigEndian64(ToView(it->key())));
    if (query.end != absl::InfiniteFuture() && t >= query.end) break;
    std::string_view v = ToView(it->value());
    uint64_t len = 0;
    if (!ReadVarint(&v, &len) || len > v.size()) {
      return absl::DataLossError("corrupt transition record");
    }
    std::string_view entity = v.substr(0, len);
    if (!query.entity.empty() && entity != query.entity) continue;
    out.push_back({t, std::string(entity), std::string(v.substr(len))});
  }
  CANDOR_RETURN_IF_ERROR(FromRocks(it->status()));
  return out;
}

absl::Status EventLog::PutMeta(std::string_view key, std::string_view value) {
  if (key == kFormatKey) return absl::InvalidArgumentError("reserved metadata key");
  return FromRocks(impl_->db->Put(impl_->WriteOpts(), impl_->meta, ToSlice(key), ToSlice(value)));
}

absl::StatusOr<std::optional<std::string>> EventLog::GetMeta(std::string_view key) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  CANDOR_RETURN_IF_ERROR(FromRocks(s));
  return std::optional<std::string>(std::move(value));
}

absl::StatusOr<int> EventLog::RunRetention() {
  Impl& s = *impl_;
  const int64_t oldest = s.OldestAllowedDay();
  int dropped = 0;
  {
    absl::MutexLock lock(&s.cf_mu);
    for (auto it = s.partitions.begin(); it != s.partitions.end() && it->first < oldest;) {
      for (PartitionPart part : kAllParts) {
        rocksdb::ColumnFamilyHandle* h = it->second.Part(part);
        CANDOR_RETURN_IF_ERROR(FromRocks(s.db->DropColumnFamily(h)));
        CANDOR_RETURN_IF_ERROR(FromRocks(s.db->DestroyColumnFamilyHandle(h)));
      }
      CANDOR_LOG_INFO("event_log", "dropped partition",
                      {{"day", PartitionName(PartitionPart::kRecords, it->first)}});
      it = s.partitions.erase(it);
      ++dropped;
    }
  }
  std::string lo;
  AppendBigEndian64(&lo, 0);
  std::string hi;
  AppendBigEndian64(&hi, TimeKey(s.clock->Now() - s.options.transition_retention));
  CANDOR_RETURN_IF_ERROR(FromRocks(s.db->DeleteRange(s.WriteOpts(), s.transitions, lo, hi)));
  return dropped;
}

EventLogStats EventLog::Stats() const {
  EventLogStats stats;
  const Impl& s = *impl_;
  stats.last_seq = s.last_seq.load();
  stats.appended_records = s.appended.load();
  stats.commit_groups = s.groups.load();
  absl::ReaderMutexLock lock(&s.cf_mu);
  stats.partitions = static_cast<int>(s.partitions.size());
  for (auto& [day, p] : s.partitions) {
    for (auto* cf : {p.records, p.ids, p.spans}) {
      uint64_t live = 0;
      uint64_t mem = 0;
      s.db->GetIntProperty(cf, "rocksdb.estimate-live-data-size", &live);
      s.db->GetIntProperty(cf, "rocksdb.cur-size-all-mem-tables", &mem);
      stats.approximate_bytes += live + mem;
    }
  }
  return stats;
}

}  // namespace candor::store
