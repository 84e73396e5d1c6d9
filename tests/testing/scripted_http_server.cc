#include "tests/testing/scripted_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace candor::testing {

bool ScriptedConnection::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void ScriptedConnection::AwaitClientClose() {
  char buf[256];
  while (::recv(fd_, buf, sizeof(buf), 0) > 0) {
  }
}

ScriptedHttpServer::ScriptedHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::pipe(wake_) != 0) {
    std::abort();  // The test cannot run without a loopback listener.
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Loop(); });
}

ScriptedHttpServer::~ScriptedHttpServer() {
  (void)::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void ScriptedHttpServer::Loop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string raw;
    char buf[65536];
    size_t header_end = std::string::npos;
    size_t content_length = 0;
    while (true) {
      if (header_end == std::string::npos) {
        header_end = raw.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          const std::string lower = absl::AsciiStrToLower(raw.substr(0, header_end));
          const size_t cl = lower.find("content-length:");
          if (cl != std::string::npos) {
            const size_t eol = lower.find("\r\n", cl);
            (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(lower.substr(cl + 15, eol - cl - 15)),
                                   &content_length);
          }
        }
      }
      if (header_end != std::string::npos && raw.size() >= header_end + 4 + content_length) {
        break;
      }
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      raw.append(buf, static_cast<size_t>(n));
    }
    if (header_end != std::string::npos) {
      ScriptedRequest req;
      const size_t sp1 = raw.find(' ');
      const size_t sp2 = raw.find(' ', sp1 + 1);
      req.method = raw.substr(0, sp1);
      req.target = raw.substr(sp1 + 1, sp2 - sp1 - 1);
      req.headers = raw.substr(0, header_end);
      req.body = raw.substr(header_end + 4, content_length);
      ++requests_;
      ScriptedConnection conn(fd);
      handler_(req, conn);
    }
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }
}

}  // namespace candor::testing
