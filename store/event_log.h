// EventLog: candor's durable log of raw ingest items (the per-request log on-call searches),
// of persisted state transitions, and of small metadata (checkpoints).
//
// Records are opaque payloads (serialized ingest items) with an event time, a kind, the
// entities they name and optional request/trace ids. Every accepted record gets a sequence
// number; sequence order is commit order. `Append` returns only once its records are on disk
// (WAL fsync), so a caller may acknowledge after it returns. Concurrent appends are grouped
// into one write and one fsync (leader/follower group commit).
//
// Storage: a RocksDB instance of its own (separate from the series store). Records live in one
// column family per UTC day of their event time, so retention drops whole partitions — no
// tombstones. Within a partition: the record keyed by sequence number, plus index keys by
// request id, trace id and event time. Transitions and metadata have column families of their
// own. The on-disk format is documented in store/FORMAT.md ("Event log") and versioned.
//
// Thread safety: all methods are safe to call concurrently. The commit listener is called
// with commits in sequence order, never concurrently with itself.

#ifndef CANDOR_STORE_EVENT_LOG_H_
#define CANDOR_STORE_EVENT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace candor::store {

struct EventLogOptions {
  // Directory of the RocksDB instance; created if missing. Required.
  std::string path;
  // Records whose event day ended more than this long ago are dropped by RunRetention, and
  // appends older than it are refused. Default: 7 days.
  absl::Duration retention = absl::Hours(24 * 7);
  // Transitions older than this are deleted by RunRetention. Default: 90 days.
  absl::Duration transition_retention = absl::Hours(24 * 90);
  // fsync the write-ahead log before Append returns. Only tests and benchmarks that measure
  // the cost of durability turn this off. Default: true.
  bool sync = true;
  // RocksDB memtable size per partition, bytes. Default: 32 MiB.
  size_t write_buffer_bytes = 32u << 20;
  // How the id index's memtable is organised. kAppendOnly: inserts append to a vector sorted
  // once at flush (the cheapest ingest; a lookup that hits the live memtable sorts a copy of
  // it). kHashed: hash buckets of skip lists on the id prefix (cheap lookups; the flush
  // re-sorts every entry into one skip list, which costs more CPU per record). Default:
  // kAppendOnly — lookups are on-call searches, ingest is every request.
  enum class IdMemtable { kAppendOnly, kHashed };
  IdMemtable id_memtable = IdMemtable::kAppendOnly;
};

// A record to append. Views must stay valid for the duration of Append.
struct LogRecord {
  absl::Time event_time;
  uint8_t kind = 0;                   // Caller-defined record type (an IngestItem case).
  std::string_view request_id;        // Indexed when non-empty.
  std::string_view trace_id;          // Indexed when non-empty.
  std::vector<std::string> entities;  // Entities the record names ("provider:aws", …).
  std::string_view payload;
  // Not stored: handed to the commit listener with the record (e.g. the parsed item).
  const void* attachment = nullptr;
};

// A record read back.
struct StoredRecord {
  uint64_t seq = 0;
  absl::Time event_time;
  uint8_t kind = 0;
  std::string request_id;
  std::string trace_id;
  std::vector<std::string> entities;
  std::string payload;
};

struct RecordQuery {
  absl::Time start = absl::InfinitePast();  // Event time, inclusive.
  absl::Time end = absl::InfiniteFuture();  // Event time, exclusive.
  std::string entity;                       // When non-empty, only records naming this entity.
  std::optional<uint8_t> kind;              // When set, only records of this kind.
  size_t limit = 100;                       // Newest-first results are capped at this many.
};

struct StoredTransition {
  absl::Time time;
  std::string entity;
  std::string json;
};

struct TransitionQuery {
  absl::Time start = absl::InfinitePast();  // Inclusive.
  absl::Time end = absl::InfiniteFuture();  // Exclusive.
  std::string entity;                       // When non-empty, only this entity.
  size_t limit = 1000;                      // Oldest first, capped.
};

struct EventLogStats {
  int partitions = 0;
  uint64_t last_seq = 0;
  uint64_t approximate_bytes = 0;  // Live SST + memtable bytes across partitions.
  uint64_t appended_records = 0;   // Since open.
  uint64_t commit_groups = 0;      // Fsyncs since open.
};

// Called after each committed Append, in sequence order, with the first sequence number of
// `records` (which are numbered consecutively).
using CommitListener = std::function<void(uint64_t first_seq, std::span<const LogRecord> records)>;

class EventLog {
 public:
  // Opens or creates the log at options.path. FailedPreconditionError if the directory holds
  // a log of another format version; DataLossError/InternalError with RocksDB's message if it
  // cannot be opened (corruption, permissions). `clock` drives retention.
  static absl::StatusOr<std::unique_ptr<EventLog>> Open(const EventLogOptions& options,
                                                        Clock& clock);
  ~EventLog();

  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Sets the listener called after every commit (replaces any previous one; nullptr clears).
  void SetCommitListener(CommitListener listener);

  // Durably appends `records`, numbered consecutively. Returns the first sequence number.
  // OutOfRangeError if a record's event day is already beyond retention; the I/O error
  // (nothing appended) otherwise. An empty span returns LastSeq() + 1 without writing.
  absl::StatusOr<uint64_t> Append(std::span<const LogRecord> records);

  // Records with this request id (or trace id), newest first, at most `limit`.
  absl::StatusOr<std::vector<StoredRecord>> FindByRequestId(std::string_view request_id,
                                                            size_t limit = 100) const;
  absl::StatusOr<std::vector<StoredRecord>> FindByTraceId(std::string_view trace_id,
                                                          size_t limit = 100) const;
  // Records in an event-time range, newest first, filtered as `query` says.
  absl::StatusOr<std::vector<StoredRecord>> Query(const RecordQuery& query) const;
  // Calls `fn` for every record with seq > `after_seq`, in sequence order, until `fn` returns
  // false. Used to catch up after a restart.
  absl::Status ScanSince(uint64_t after_seq,
                         const std::function<bool(const StoredRecord&)>& fn) const;
  // Highest sequence number committed (0 when empty).
  uint64_t LastSeq() const;

  // Persists a transition (durably, like Append).
  absl::Status PutTransition(absl::Time time, std::string_view entity, std::string_view json);
  absl::StatusOr<std::vector<StoredTransition>> Transitions(const TransitionQuery& query) const;

  // Small durable key/value metadata (checkpoints). Keys are caller-defined.
  absl::Status PutMeta(std::string_view key, std::string_view value);
  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key) const;

  // Drops record partitions whose day ended more than `retention` ago and deletes old
  // transitions. Returns the number of partitions dropped.
  absl::StatusOr<int> RunRetention();

  EventLogStats Stats() const;

 private:
  struct Impl;
  explicit EventLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace candor::store

#endif  // CANDOR_STORE_EVENT_LOG_H_
