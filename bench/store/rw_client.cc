#include "bench/store/rw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <snappy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "prometheus/remote.pb.h"

namespace candor::bench {

absl::StatusOr<std::unique_ptr<HttpConnection>> HttpConnection::Connect(int port) {
  std::unique_ptr<HttpConnection> c(new HttpConnection(port));
  absl::Status s = c->Open();
  if (!s.ok()) return s;
  return c;
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status HttpConnection::Open() {
  if (fd_ >= 0) ::close(fd_);
  buffer_.clear();
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return absl::UnavailableError("socket failed");
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
    return absl::UnavailableError(absl::StrCat("connect to 127.0.0.1:", port_, " failed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<HttpReply> HttpConnection::Request(
    const std::string& method, const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req = absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                 "Content-Length: ", body.size(), "\r\n");
  for (const auto& [k, v] : headers) absl::StrAppend(&req, k, ": ", v, "\r\n");
  req.append("\r\n");
  req.append(body);
  absl::StatusOr<HttpReply> r = RoundTrip(req);
  if (r.ok()) return r;
  // The server may have closed an idle keep-alive connection: one fresh attempt.
  absl::Status s = Open();
  if (!s.ok()) return s;
  return RoundTrip(req);
}

absl::StatusOr<HttpReply> HttpConnection::RoundTrip(const std::string& request) {
  if (fd_ < 0) return absl::UnavailableError("not connected");
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return absl::UnavailableError("send failed");
    sent += static_cast<size_t>(n);
  }
  char buf[1 << 16];
  auto fill = [&]() -> bool {
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  };
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return absl::UnavailableError("connection closed before the response headers");
  }
  const std::string head = absl::AsciiStrToLower(buffer_.substr(0, header_end));
  buffer_.erase(0, header_end + 4);
  HttpReply reply;
  if (head.size() < 12 || !absl::SimpleAtoi(head.substr(9, 3), &reply.status)) {
    return absl::UnavailableError("malformed status line");
  }
  auto header = [&](std::string_view name) -> std::string {
    const std::string key = absl::StrCat("\r\n", candor::Sv(name), ":");
    const size_t p = head.find(key);
    if (p == std::string::npos) return "";
    const size_t e = head.find("\r\n", p + key.size());
    return std::string(absl::StripAsciiWhitespace(head.substr(
        p + key.size(), e == std::string::npos ? std::string::npos : e - p - key.size())));
  };
  if (header("transfer-encoding") == "chunked") {
    while (true) {
      size_t line_end;
      while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!fill()) return absl::UnavailableError("connection closed in a chunk header");
      }
      const size_t size = std::strtoul(buffer_.substr(0, line_end).c_str(), nullptr, 16);
      buffer_.erase(0, line_end + 2);
      while (buffer_.size() < size + 2) {
        if (!fill()) return absl::UnavailableError("connection closed in a chunk");
      }
      reply.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
      if (size == 0) break;
    }
    return reply;
  }
  size_t length = 0;
  const std::string cl = header("content-length");
  if (!cl.empty() && !absl::SimpleAtoi(cl, &length))
    return absl::UnavailableError("bad Content-Length");
  while (buffer_.size() < length) {
    if (!fill()) return absl::UnavailableError("connection closed in the body");
  }
  reply.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return reply;
}

std::string EncodeWriteRequest(const std::vector<SeriesSamples>& series) {
  prometheus::WriteRequest req;
  for (const SeriesSamples& s : series) {
    auto* ts = req.add_timeseries();
    for (const auto& [n, v] : *s.labels) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    }
    for (const auto& [t, v] : s.samples) {
      auto* p = ts->add_samples();
      p->set_timestamp(t);
      p->set_value(v);
    }
  }
  const std::string raw = req.SerializeAsString();
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

absl::StatusOr<HttpReply> PostWrite(HttpConnection* c, const std::string& body) {
  return c->Request("POST", "/api/v1/write", body,
                    {{"Content-Type", "application/x-protobuf"},
                     {"Content-Encoding", "snappy"},
                     {"User-Agent", "candor-bench/1"},
                     {"X-Prometheus-Remote-Write-Version", "0.1.0"}});
}

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

absl::StatusOr<ProcStats> ReadProcStats(pid_t pid) {
  ProcStats st;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return absl::NotFoundError(absl::StrCat("no process ", pid));
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const size_t close = line.rfind(')');
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  st.cpu_seconds = (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  while (std::getline(status, line)) {
    int64_t kb = 0;
    if (line.rfind("VmRSS:", 0) == 0 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 9)), &kb))
      st.rss_bytes = kb * 1024;
    if (line.rfind("VmHWM:", 0) == 0 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 9)), &kb))
      st.peak_rss_bytes = kb * 1024;
  }
  return st;
}

int64_t DirectoryBytes(const std::string& path) {
  std::error_code ec;
  int64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += static_cast<int64_t>(it->file_size(ec));
  }
  return total;
}

}  // namespace candor::bench
