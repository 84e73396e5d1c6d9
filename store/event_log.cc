#include "store/event_log.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <queue>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"

namespace candor::store {
namespace {

void AppendBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t ReadBigEndian64(std::string_view s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[static_cast<size_t>(i)]);
  return v;
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool ReadVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

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

constexpr std::string_view kFormatVersion = "1";
constexpr std::string_view kFormatKey = "format_version";
constexpr std::string_view kPartitionPrefix = "events_";
constexpr std::string_view kMetaCf = "meta";
constexpr std::string_view kTransitionsCf = "transitions";
constexpr char kRecordTag = 'i';
constexpr char kRequestTag = 'r';
constexpr char kTraceTag = 't';
constexpr char kTimeTag = 'T';
constexpr uint8_t kRecordFormat = 1;

// Signed milliseconds mapped to an order-preserving unsigned key.
uint64_t TimeKey(absl::Time t) {
  return static_cast<uint64_t>(absl::ToUnixMillis(t)) ^ (uint64_t{1} << 63);
}
absl::Time FromTimeKey(uint64_t k) {
  return absl::FromUnixMillis(static_cast<int64_t>(k ^ (uint64_t{1} << 63)));
}

// Days since the Unix epoch (UTC) of `t`.
int64_t DayOf(absl::Time t) {
  return absl::ToUnixSeconds(t) >= 0 ? absl::ToUnixSeconds(t) / 86400
                                     : (absl::ToUnixSeconds(t) - 86399) / 86400;
}

std::string PartitionName(int64_t day) {
  return absl::StrCat(
      Sv(kPartitionPrefix),
      absl::FormatTime("%Y%m%d", absl::FromUnixSeconds(day * 86400), absl::UTCTimeZone()));
}

std::optional<int64_t> ParsePartitionName(std::string_view name) {
  if (!name.starts_with(kPartitionPrefix)) return std::nullopt;
  const std::string_view digits = name.substr(kPartitionPrefix.size());
  if (digits.size() != 8 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  auto number = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (digits[i] - '0');
    return v;
  };
  const absl::CivilDay day(number(0, 4), number(4, 2), number(6, 2));
  return DayOf(absl::FromCivil(day, absl::UTCTimeZone()));
}

std::string RecordKey(uint64_t seq) {
  std::string k(1, kRecordTag);
  AppendBigEndian64(&k, seq);
  return k;
}

std::string IdPrefix(char tag, std::string_view id) {
  std::string k(1, tag);
  AppendVarint(&k, id.size());
  k.append(id);
  return k;
}

std::string EncodeRecord(const LogRecord& r) {
  std::string v;
  v.reserve(r.payload.size() + 32);
  v.push_back(static_cast<char>(kRecordFormat));
  v.push_back(static_cast<char>(r.kind));
  AppendBigEndian64(&v, TimeKey(r.event_time));
  AppendVarint(&v, r.entities.size());
  for (const std::string& e : r.entities) {
    AppendVarint(&v, e.size());
    v.append(e);
  }
  v.append(r.payload);
  return v;
}

absl::StatusOr<StoredRecord> DecodeRecord(uint64_t seq, std::string_view v) {
  StoredRecord out;
  out.seq = seq;
  if (v.size() < 10 || static_cast<uint8_t>(v[0]) != kRecordFormat) {
    return absl::DataLossError(absl::StrCat("event log record ", seq, " is corrupt"));
  }
  out.kind = static_cast<uint8_t>(v[1]);
  out.event_time = FromTimeKey(ReadBigEndian64(v.substr(2, 8)));
  v.remove_prefix(10);
  uint64_t n = 0;
  if (!ReadVarint(&v, &n) || n > 1024) {
    return absl::DataLossError(absl::StrCat("event log record ", seq, " has a bad entity list"));
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t len = 0;
    if (!ReadVarint(&v, &len) || len > v.size()) {
      return absl::DataLossError(absl::StrCat("event log record ", seq, " is truncated"));
    }
    out.entities.emplace_back(v.substr(0, len));
    v.remove_prefix(len);
  }
  out.payload = std::string(v);
  return out;
}

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
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* transitions = nullptr;
  rocksdb::ColumnFamilyHandle* default_cf = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> unknown_cfs;  // Held only to be released.
  rocksdb::ColumnFamilyOptions partition_options;

  // Partitions by day. Readers hold a shared lock for the duration of a read.
  mutable absl::Mutex cf_mu;
  std::map<int64_t, rocksdb::ColumnFamilyHandle*> partitions ABSL_GUARDED_BY(cf_mu);

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
    for (auto& [day, h] : partitions) db->DestroyColumnFamilyHandle(h);
    for (auto* h : {meta, transitions, default_cf}) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h);
    }
    for (auto* h : unknown_cfs) db->DestroyColumnFamilyHandle(h);
    db->Close();
  }

  rocksdb::WriteOptions WriteOpts() const {
    rocksdb::WriteOptions w;
    w.sync = options.sync;
    return w;
  }

  // Returns the partition for `day`, creating it if needed.
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> Partition(int64_t day) {
    {
      absl::ReaderMutexLock lock(&cf_mu);
      auto it = partitions.find(day);
      if (it != partitions.end()) return it->second;
    }
    absl::MutexLock lock(&cf_mu);
    auto it = partitions.find(day);
    if (it != partitions.end()) return it->second;
    rocksdb::ColumnFamilyHandle* h = nullptr;
    CANDOR_RETURN_IF_ERROR(
        FromRocks(db->CreateColumnFamily(partition_options, PartitionName(day), &h)));
    partitions[day] = h;
    return h;
  }

  int64_t OldestAllowedDay() const { return DayOf(clock->Now() - options.retention); }

  absl::Status WriteGroup(const std::vector<Writer*>& group) {
    // Keys go into the batch grouped by kind (records, then each index) and sorted within a
    // kind: the memtable's skiplist reuses the position of the previous insert, so nearby
    // consecutive keys are far cheaper to insert than the interleaved, random order of
    // record-by-record puts.
    struct Entry {
      rocksdb::ColumnFamilyHandle* cf;
      std::string key;
    };
    std::vector<Entry> records;
    std::vector<std::string> values;
    std::array<std::vector<Entry>, 3> index;  // By time, request id, trace id.
    uint64_t seq = next_seq;
    const int64_t oldest = OldestAllowedDay();
    for (Writer* w : group) {
      w->first_seq = seq;
      for (const LogRecord& r : w->records) {
        const int64_t day = DayOf(r.event_time);
        if (day < oldest) {
          return absl::OutOfRangeError(
              absl::StrCat("record event time is beyond the event log retention of ",
                           absl::FormatDuration(options.retention)));
        }
        CANDOR_ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, Partition(day));
        std::string seq_be;
        AppendBigEndian64(&seq_be, seq);
        records.push_back({cf, RecordKey(seq)});
        values.push_back(EncodeRecord(r));
        std::string tkey(1, kTimeTag);
        AppendBigEndian64(&tkey, TimeKey(r.event_time));
        index[0].push_back({cf, tkey + seq_be});
        if (!r.request_id.empty()) {
          index[1].push_back({cf, IdPrefix(kRequestTag, r.request_id) + seq_be});
        }
        if (!r.trace_id.empty()) index[2].push_back({cf, IdPrefix(kTraceTag, r.trace_id) + seq_be});
        ++seq;
      }
    }
    rocksdb::WriteBatch batch;
    for (size_t i = 0; i < records.size(); ++i) {
      batch.Put(records[i].cf, records[i].key, values[i]);
    }
    for (std::vector<Entry>& keys : index) {
      std::sort(keys.begin(), keys.end(), [](const Entry& a, const Entry& b) {
        return a.cf != b.cf ? a.cf < b.cf : a.key < b.key;
      });
      for (const Entry& e : keys) batch.Put(e.cf, e.key, rocksdb::Slice());
    }
    CANDOR_RETURN_IF_ERROR(FromRocks(db->Write(WriteOpts(), &batch)));
    const uint64_t count = seq - next_seq;
    next_seq = seq;
    last_seq.store(seq - 1);
    appended.fetch_add(count);
    groups.fetch_add(1);
    return absl::OkStatus();
  }

  void NotifyListener(const std::vector<Writer*>& group) {
    absl::MutexLock lock(&listener_mu);
    if (!listener) return;
    for (Writer* w : group) {
      if (!w->records.empty()) listener(w->first_seq, w->records);
    }
  }

  absl::StatusOr<StoredRecord> GetRecord(rocksdb::ColumnFamilyHandle* cf, uint64_t seq) const {
    std::string value;
    CANDOR_RETURN_IF_ERROR(FromRocks(db->Get(rocksdb::ReadOptions(), cf, RecordKey(seq), &value)));
    return DecodeRecord(seq, value);
  }

  absl::StatusOr<std::vector<StoredRecord>> FindById(char tag, std::string_view id,
                                                     size_t limit) const {
    std::vector<StoredRecord> out;
    const std::string prefix = IdPrefix(tag, id);
    absl::ReaderMutexLock lock(&cf_mu);
    for (auto it = partitions.rbegin(); it != partitions.rend() && out.size() < limit; ++it) {
      std::vector<uint64_t> seqs;
      std::unique_ptr<rocksdb::Iterator> iter(db->NewIterator(rocksdb::ReadOptions(), it->second));
      for (iter->Seek(prefix); iter->Valid() && iter->key().starts_with(prefix); iter->Next()) {
        if (iter->key().size() != prefix.size() + 8) continue;
        seqs.push_back(ReadBigEndian64(std::string_view(iter->key().data() + prefix.size(), 8)));
      }
      CANDOR_RETURN_IF_ERROR(FromRocks(iter->status()));
      for (auto s = seqs.rbegin(); s != seqs.rend() && out.size() < limit; ++s) {
        CANDOR_ASSIGN_OR_RETURN(StoredRecord r, GetRecord(it->second, *s));
        out.push_back(std::move(r));
      }
    }
    return out;
  }
};

EventLog::EventLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventLog::~EventLog() = default;

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(const EventLogOptions& options,
                                                         Clock& clock) {
  if (options.path.empty()) return absl::InvalidArgumentError("event log path is empty");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->clock = &clock;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_total_wal_size = 256u << 20;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 2;

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = options.write_buffer_bytes;
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.bottommost_compression = rocksdb::kZSTD;
  // The request log is append-mostly and dropped a day at a time: universal compaction
  // rewrites each record far fewer times than leveled compaction, which at ingest rates cost
  // about a sixth of the daemon's CPU.
  cf_options.compaction_style = rocksdb::kCompactionStyleUniversal;
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 * 1024;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  impl->partition_options = cf_options;

  std::vector<std::string> names;
  rocksdb::Status list = rocksdb::DB::ListColumnFamilies(db_options, options.path, &names);
  if (!list.ok()) names = {rocksdb::kDefaultColumnFamilyName};
  for (std::string_view required : {kMetaCf, kTransitionsCf}) {
    if (std::find(names.begin(), names.end(), required) == names.end()) {
      names.emplace_back(required);
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& n : names) descriptors.emplace_back(n, cf_options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  CANDOR_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw),
                absl::StrCat("opening the event log at ", options.path)));
  impl->db.reset(raw);
  std::string unknown;
  {
    absl::MutexLock lock(&impl->cf_mu);
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == kMetaCf) {
        impl->meta = handles[i];
      } else if (names[i] == kTransitionsCf) {
        impl->transitions = handles[i];
      } else if (auto day = ParsePartitionName(names[i]); day.has_value()) {
        impl->partitions[*day] = handles[i];
      } else if (names[i] == rocksdb::kDefaultColumnFamilyName) {
        impl->default_cf = handles[i];
      } else {
        impl->unknown_cfs.push_back(handles[i]);
        unknown = names[i];
      }
    }
  }
  if (!unknown.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "event log at ", options.path, " has an unknown column family \"", unknown, "\""));
  }

  std::string version;
  rocksdb::Status got =
      impl->db->Get(rocksdb::ReadOptions(), impl->meta, std::string(kFormatKey), &version);
  if (got.IsNotFound()) {
    CANDOR_RETURN_IF_ERROR(FromRocks(impl->db->Put(
        impl->WriteOpts(), impl->meta, std::string(kFormatKey), std::string(kFormatVersion))));
  } else if (!got.ok()) {
    return FromRocks(got);
  } else if (version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("event log at ", options.path, " has format version ", version,
                     "; this candor reads version ", Sv(kFormatVersion)));
  }

  // The next sequence number follows the highest record in any partition.
  uint64_t last = 0;
  {
    absl::ReaderMutexLock lock(&impl->cf_mu);
    for (auto& [day, cf] : impl->partitions) {
      std::unique_ptr<rocksdb::Iterator> it(impl->db->NewIterator(rocksdb::ReadOptions(), cf));
      it->SeekForPrev(RecordKey(UINT64_MAX));
      if (it->Valid() && it->key().size() == 9 && it->key()[0] == kRecordTag) {
        last = std::max(last, ReadBigEndian64(std::string_view(it->key().data() + 1, 8)));
      }
    }
  }
  impl->next_seq = last + 1;
  impl->last_seq.store(last);
  {
    std::unique_ptr<rocksdb::Iterator> it(
        impl->db->NewIterator(rocksdb::ReadOptions(), impl->transitions));
    it->SeekToLast();
    if (it->Valid() && it->key().size() >= 16) {
      impl->transition_nonce.store(
          ReadBigEndian64(std::string_view(it->key().data() + it->key().size() - 8, 8)));
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
  // This writer leads: it commits every writer queued so far in one batch.
  s.leader_busy = true;
  std::vector<Impl::Writer*> group(s.queue.begin(), s.queue.end());
  s.queue.clear();
  s.mu.Unlock();

  const absl::Status status = s.WriteGroup(group);
  if (status.ok()) s.NotifyListener(group);

  s.mu.Lock();
  for (Impl::Writer* w : group) {
    w->status = status;
    w->done = true;
  }
  s.leader_busy = false;
  s.mu.Unlock();
  if (!status.ok()) return status;
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
  absl::ReaderMutexLock lock(&s.cf_mu);
  for (auto it = s.partitions.rbegin(); it != s.partitions.rend(); ++it) {
    if (query.end != absl::InfiniteFuture() && it->first > DayOf(query.end)) continue;
    if (query.start != absl::InfinitePast() && it->first < DayOf(query.start)) break;
    std::string lo(1, kTimeTag);
    AppendBigEndian64(
        &lo, TimeKey(query.start == absl::InfinitePast() ? absl::FromUnixMillis(INT64_MIN / 2)
                                                         : query.start));
    std::string hi(1, kTimeTag);
    AppendBigEndian64(
        &hi, TimeKey(query.end == absl::InfiniteFuture() ? absl::FromUnixMillis(INT64_MAX / 2)
                                                         : query.end));
    std::unique_ptr<rocksdb::Iterator> iter(s.db->NewIterator(rocksdb::ReadOptions(), it->second));
    for (iter->SeekForPrev(hi); iter->Valid(); iter->Prev()) {
      const rocksdb::Slice k = iter->key();
      if (k.size() != 17 || k[0] != kTimeTag || k.compare(lo) < 0) break;
      if (k.compare(hi) >= 0) continue;
      const uint64_t seq = ReadBigEndian64(std::string_view(k.data() + 9, 8));
      CANDOR_ASSIGN_OR_RETURN(StoredRecord r, s.GetRecord(it->second, seq));
      if (query.kind.has_value() && r.kind != *query.kind) continue;
      if (!query.entity.empty() &&
          std::find(r.entities.begin(), r.entities.end(), query.entity) == r.entities.end()) {
        continue;
      }
      out.push_back(std::move(r));
      if (out.size() >= query.limit) return out;
    }
    CANDOR_RETURN_IF_ERROR(FromRocks(iter->status()));
  }
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
    return it.Valid() && it.key().size() == 9 && it.key()[0] == kRecordTag;
  };
  for (auto& [day, cf] : s.partitions) {
    Cursor c{std::unique_ptr<rocksdb::Iterator>(s.db->NewIterator(rocksdb::ReadOptions(), cf)), 0};
    c.it->Seek(RecordKey(after_seq + 1));
    if (valid_record(*c.it)) {
      c.seq = ReadBigEndian64(std::string_view(c.it->key().data() + 1, 8));
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
    CANDOR_ASSIGN_OR_RETURN(
        StoredRecord r,
        DecodeRecord(c.seq, std::string_view(c.it->value().data(), c.it->value().size())));
    if (!fn(r)) return absl::OkStatus();
    c.it->Next();
    if (valid_record(*c.it)) {
      c.seq = ReadBigEndian64(std::string_view(c.it->key().data() + 1, 8));
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
    const absl::Time t = FromTimeKey(ReadBigEndian64(std::string_view(it->key().data(), 8)));
    if (query.end != absl::InfiniteFuture() && t >= query.end) break;
    std::string_view v(it->value().data(), it->value().size());
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
  return FromRocks(impl_->db->Put(impl_->WriteOpts(), impl_->meta,
                                  rocksdb::Slice(key.data(), key.size()),
                                  rocksdb::Slice(value.data(), value.size())));
}

absl::StatusOr<std::optional<std::string>> EventLog::GetMeta(std::string_view key) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta,
                                     rocksdb::Slice(key.data(), key.size()), &value);
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
      CANDOR_RETURN_IF_ERROR(FromRocks(s.db->DropColumnFamily(it->second)));
      CANDOR_RETURN_IF_ERROR(FromRocks(s.db->DestroyColumnFamilyHandle(it->second)));
      CANDOR_LOG_INFO("event_log", "dropped partition", {{"day", PartitionName(it->first)}});
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
  for (auto& [day, cf] : s.partitions) {
    uint64_t live = 0;
    uint64_t mem = 0;
    s.db->GetIntProperty(cf, "rocksdb.estimate-live-data-size", &live);
    s.db->GetIntProperty(cf, "rocksdb.cur-size-all-mem-tables", &mem);
    stats.approximate_bytes += live + mem;
  }
  return stats;
}

}  // namespace candor::store
