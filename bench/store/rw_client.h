// Client side of the store benchmark and the Prometheus comparison test: a keep-alive HTTP/1.1
// connection to 127.0.0.1 (chunked responses included), remote-write 1.0 request encoding
// (protobuf + snappy block format), URL encoding, and /proc readings of a server's CPU time
// and memory.
//
// Thread safety: an HttpConnection is used by one thread; the free functions are pure.

#ifndef CANDOR_BENCH_STORE_RW_CLIENT_H_
#define CANDOR_BENCH_STORE_RW_CLIENT_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/store/tsgen.h"

namespace candor::bench {

struct HttpReply {
  int status = 0;
  std::string body;
};

class HttpConnection {
 public:
  static absl::StatusOr<std::unique_ptr<HttpConnection>> Connect(int port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request and reads its whole reply; reconnects once if the server had closed
  // the idle connection.
  absl::StatusOr<HttpReply> Request(
      const std::string& method, const std::string& target, const std::string& body = "",
      const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  explicit HttpConnection(int port) : port_(port) {}
  absl::Status Open();
  absl::StatusOr<HttpReply> RoundTrip(const std::string& request);

  int port_;
  int fd_ = -1;
  std::string buffer_;
};

// A series with its samples, for one remote-write request.
struct SeriesSamples {
  const Labels* labels;
  std::vector<std::pair<int64_t, double>> samples;  // (t_ms, value)
};

// prometheus.WriteRequest, serialized and snappy-compressed.
std::string EncodeWriteRequest(const std::vector<SeriesSamples>& series);

// Posts a pre-encoded remote-write body to /api/v1/write.
absl::StatusOr<HttpReply> PostWrite(HttpConnection* c, const std::string& body);

std::string UrlEncode(std::string_view s);

struct ProcStats {
  double cpu_seconds = 0;      // utime + stime.
  int64_t rss_bytes = 0;       // VmRSS.
  int64_t peak_rss_bytes = 0;  // VmHWM.
};
absl::StatusOr<ProcStats> ReadProcStats(pid_t pid);

// Bytes of the regular files under `path`, recursively (0 if absent).
int64_t DirectoryBytes(const std::string& path);

}  // namespace candor::bench

#endif  // CANDOR_BENCH_STORE_RW_CLIENT_H_
