#include "store/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "store/bits.h"
#include "store/crc32c.h"

namespace candor::store {
namespace {

constexpr size_t kHeaderBytes = 8;
constexpr uint32_t kMaxRecordBytes = 256u << 20;

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(Sv(what), " ", path, ": ", std::strerror(errno)));
}

absl::Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Errno("fsync directory", dir);
}

absl::StatusOr<std::vector<uint32_t>> ListSegments(const std::string& dir) {
  std::vector<uint32_t> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Errno("open directory", dir);
  }
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() != 8 || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    out.push_back(static_cast<uint32_t>(std::stoul(std::string(name))));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  std::string data;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Errno("read", path);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string Wal::SegmentName(uint32_t n) { return absl::StrFormat("%08u", n); }

absl::Status Wal::Replay(const std::string& dir,
                         const std::function<absl::Status(uint32_t, std::string_view)>& fn) {
  CANDOR_ASSIGN_OR_RETURN(const std::vector<uint32_t> segments, ListSegments(dir));
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string path = absl::StrCat(dir, "/", SegmentName(segments[i]));
    CANDOR_ASSIGN_OR_RETURN(const std::string data, ReadFile(path));
    size_t pos = 0;
    std::string problem;
    while (pos < data.size()) {
      if (data.size() - pos < kHeaderBytes) {
        problem = "truncated record header";
        break;
      }
      const uint32_t len = DecodeFixed32LE(data.data() + pos);
      const uint32_t crc = DecodeFixed32LE(data.data() + pos + 4);
      if (len > kMaxRecordBytes || data.size() - pos - kHeaderBytes < len) {
        problem = "truncated record";
        break;
      }
      const std::string_view record(data.data() + pos + kHeaderBytes, len);
      if (MaskCrc(Crc32c(record)) != crc) {
        problem = "checksum mismatch";
        break;
      }
      CANDOR_RETURN_IF_ERROR(fn(segments[i], record));
      pos += kHeaderBytes + len;
    }
    if (problem.empty()) continue;
    if (i + 1 != segments.size()) {
      return absl::DataLossError(absl::StrCat("WAL segment ", path, ": ", problem, " at offset ",
                                              pos, " (not the newest segment)"));
    }
    CANDOR_LOG_WARN(
        "store", "cutting torn WAL tail",
        {{"segment", path}, {"offset", static_cast<int64_t>(pos)}, {"reason", problem}});
    if (::truncate(path.c_str(), static_cast<off_t>(pos)) != 0) return Errno("truncate", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Wal>> Wal::Open(const WalOptions& options) {
  if (::mkdir(options.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Errno("create directory", options.dir);
  }
  CANDOR_ASSIGN_OR_RETURN(const std::vector<uint32_t> segments, ListSegments(options.dir));
  std::unique_ptr<Wal> wal(new Wal(options));
  absl::MutexLock lock(&wal->mu_);
  for (uint32_t s : segments) {
    struct stat st;
    const std::string path = absl::StrCat(options.dir, "/", SegmentName(s));
    if (::stat(path.c_str(), &st) != 0) return Errno("stat", path);
    wal->old_segments_.push_back({s, st.st_size});
    wal->closed_bytes_ += st.st_size;
  }
  wal->first_segment_ = segments.empty() ? 1 : segments.front();
  CANDOR_RETURN_IF_ERROR(wal->OpenSegment(segments.empty() ? 1 : segments.back() + 1));
  return wal;
}

Wal::~Wal() {
  absl::MutexLock lock(&mu_);
  if (error_.ok()) {
    if (!WriteBuffer().ok()) {
      CANDOR_LOG_ERROR("store", "WAL write failed at close");
    }
  }
  if (fd_ >= 0) {
    if (options_.sync) ::fdatasync(fd_);
    ::close(fd_);
  }
}

absl::Status Wal::OpenSegment(uint32_t n) {
  const std::string path = absl::StrCat(options_.dir, "/", SegmentName(n));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", path);
  if (fd_ >= 0) {
    if (options_.sync && ::fdatasync(fd_) != 0) {
      ::close(fd);
      return Errno("fdatasync", SegmentName(segment_));
    }
    ::close(fd_);
    old_segments_.push_back({segment_, segment_size_});
    closed_bytes_ += segment_size_;
  }
  fd_ = fd;
  segment_ = n;
  segment_size_ = 0;
  synced_ = written_;
  if (options_.sync) CANDOR_RETURN_IF_ERROR(SyncDir(options_.dir));
  return absl::OkStatus();
}

uint32_t Wal::Append(std::string_view record) {
  absl::MutexLock lock(&mu_);
  PutFixed32LE(&buffer_, static_cast<uint32_t>(record.size()));
  PutFixed32LE(&buffer_, MaskCrc(Crc32c(record)));
  buffer_.append(record.data(), record.size());
  return segment_;
}

absl::Status Wal::WriteBuffer() {
  if (buffer_.empty()) return absl::OkStatus();
  if (!WriteAll(fd_, buffer_)) {
    error_ = Errno("write WAL segment", SegmentName(segment_));
    return error_;
  }
  segment_size_ += static_cast<int64_t>(buffer_.size());
  written_ += buffer_.size();
  buffer_.clear();
  if (segment_size_ >= options_.segment_bytes) {
    // Rolling over waits for an fdatasync in flight on the old descriptor.
    mu_.Await(absl::Condition(
        +[](bool* syncing) { return !*syncing; }, &syncing_));
    absl::Status s = OpenSegment(segment_ + 1);
    if (!s.ok()) error_ = s;
    return s;
  }
  return absl::OkStatus();
}

absl::Status Wal::Commit() {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  CANDOR_RETURN_IF_ERROR(WriteBuffer());
  if (!options_.sync) return absl::OkStatus();
  const uint64_t target = written_;
  while (synced_ < target) {
    if (!error_.ok()) return error_;
    if (syncing_) {
      sync_done_.Wait(&mu_);
      continue;
    }
    syncing_ = true;
    const int fd = fd_;
    const uint64_t covers = written_;
    mu_.Unlock();
    const int rc = ::fdatasync(fd);
    mu_.Lock();
    syncing_ = false;
    ++syncs_;
    if (rc != 0) error_ = Errno("fdatasync WAL segment", SegmentName(segment_));
    if (error_.ok()) synced_ = std::max(synced_, covers);
    sync_done_.SignalAll();
  }
  return error_;
}

absl::Status Wal::Rotate() {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  CANDOR_RETURN_IF_ERROR(WriteBuffer());
  mu_.Await(absl::Condition(
      +[](bool* syncing) { return !*syncing; }, &syncing_));
  if (segment_size_ == 0) return absl::OkStatus();
  absl::Status s = OpenSegment(segment_ + 1);
  if (!s.ok()) error_ = s;
  return s;
}

absl::Status Wal::TruncateBefore(uint32_t segment) {
  absl::MutexLock lock(&mu_);
  segment = std::min(segment, segment_);
  while (!old_segments_.empty() && old_segments_.front().first < segment) {
    const std::string path =
        absl::StrCat(options_.dir, "/", SegmentName(old_segments_.front().first));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("delete", path);
    closed_bytes_ -= old_segments_.front().second;
    old_segments_.erase(old_segments_.begin());
  }
  return absl::OkStatus();
}

uint32_t Wal::current_segment() const {
  absl::MutexLock lock(&mu_);
  return segment_;
}
int64_t Wal::num_segments() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(old_segments_.size()) + 1;
}
int64_t Wal::total_bytes() const {
  absl::MutexLock lock(&mu_);
  return closed_bytes_ + segment_size_ + static_cast<int64_t>(buffer_.size());
}
uint64_t Wal::syncs() const {
  absl::MutexLock lock(&mu_);
  return syncs_;
}
uint64_t Wal::bytes_written() const {
  absl::MutexLock lock(&mu_);
  return written_;
}

}  // namespace candor::store
