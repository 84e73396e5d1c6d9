// The head's write-ahead log (store/FORMAT.md §4): numbered segment files of checksummed
// records. Records are appended to a buffer under the caller's ordering and made durable by
// Commit, which writes the buffer and fdatasyncs; concurrent Commit calls share one fdatasync
// (group commit). Segments roll over at `segment_bytes` and are deleted by TruncateBefore once
// everything in them is sealed into RocksDB.
//
// Thread safety: all methods are safe from any thread. Records appended by one thread reach
// the file in the order appended.

#ifndef CANDOR_STORE_WAL_H_
#define CANDOR_STORE_WAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace candor::store {

struct WalOptions {
  std::string dir;
  int64_t segment_bytes = 128 << 20;
  bool sync = true;
};

class Wal {
 public:
  // Reads every record of every segment in `dir` in order, calling `fn(segment, record)`.
  // A torn or corrupt tail of the newest segment (a crash mid-write) ends the replay there
  // and is cut off the file; corruption anywhere else is a DataLossError naming the file and
  // offset. A missing directory replays nothing.
  static absl::Status Replay(const std::string& dir,
                             const std::function<absl::Status(uint32_t, std::string_view)>& fn);

  // Opens a new segment after the existing ones (creating `dir` if needed).
  static absl::StatusOr<std::unique_ptr<Wal>> Open(const WalOptions& options);
  ~Wal();

  // Buffers one record; returns the segment it will be written to.
  uint32_t Append(std::string_view record);

  // Writes the buffered records and, if options.sync, waits until they are on stable storage.
  // An I/O error is sticky: this and every later Commit fail.
  absl::Status Commit();

  // Starts a new segment (so the current one can be truncated away later).
  absl::Status Rotate();

  // Deletes the segments numbered below `segment` (never the current one).
  absl::Status TruncateBefore(uint32_t segment);

  uint32_t current_segment() const;
  int64_t num_segments() const;
  int64_t total_bytes() const;
  uint64_t syncs() const;
  uint64_t bytes_written() const;

  // Segment file name for `n` inside the WAL directory.
  static std::string SegmentName(uint32_t n);

 private:
  explicit Wal(const WalOptions& options) : options_(options) {}
  absl::Status OpenSegment(uint32_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteBuffer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const WalOptions options_;
  mutable absl::Mutex mu_;
  absl::CondVar sync_done_;
  std::string buffer_ ABSL_GUARDED_BY(mu_);
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  uint32_t segment_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t first_segment_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t segment_size_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t closed_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // Bytes in segments other than the current.
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;      // Bytes written to files, ever.
  uint64_t synced_ ABSL_GUARDED_BY(mu_) = 0;       // Of those, bytes known durable.
  bool syncing_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<uint32_t, int64_t>> old_segments_ ABSL_GUARDED_BY(mu_);
};

}  // namespace candor::store

#endif  // CANDOR_STORE_WAL_H_
