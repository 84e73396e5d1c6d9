#include "exporters/tls_frontend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace candor::exporters {
namespace {

int LocalPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

std::string Subject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  X509_free(cert);
  return buf;
}

}  // namespace

struct TlsFrontend::Impl {
  SSL_CTX* ctx = nullptr;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  int port = 0;
  int backend_port = 0;
  int max_connections = 0;
  std::thread acceptor;

  mutable absl::Mutex mu;
  std::map<int, TlsPeer> peers ABSL_GUARDED_BY(mu);
  std::map<int, int> open_fds ABSL_GUARDED_BY(mu);  // client fd → relay fd
  int active ABSL_GUARDED_BY(mu) = 0;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  struct RelayThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<RelayThread> relays ABSL_GUARDED_BY(mu);

  ~Impl() {
    if (ctx != nullptr) SSL_CTX_free(ctx);
    for (int fd : {listen_fd, wake[0], wake[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void AcceptLoop() {
    while (true) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&from), &len, SOCK_CLOEXEC);
      if (fd < 0) continue;
      char ip[INET_ADDRSTRLEN] = "";
      ::inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
      absl::MutexLock lock(&mu);
      if (stopping || active >= max_connections) {
        ::close(fd);
        continue;
      }
      // Reap relays that have ended so the list stays as long as the open connections.
      std::erase_if(relays, [](RelayThread& r) {
        if (!r.done->load()) return false;
        r.thread.join();
        return true;
      });
      ++active;
      open_fds[fd] = -1;
      auto done = std::make_shared<std::atomic<bool>>(false);
      relays.push_back({std::thread([this, fd, done, addr = std::string(ip)] {
                          Relay(fd, addr);
                          done->store(true);
                        }),
                        done});
    }
  }

  // One connection: handshake, connect to the backend, pump bytes both ways until either
  // side closes.
  void Relay(int fd, const std::string& remote_addr) {
    timeval handshake_timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &handshake_timeout, sizeof(handshake_timeout));
    SSL* ssl = SSL_new(ctx);
    int backend = -1;
    if (ssl != nullptr && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
      timeval none{0, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
      backend = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(backend_port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (backend >= 0 &&
          ::connect(backend, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        const int relay_port = LocalPort(backend);
        {
          absl::MutexLock lock(&mu);
          peers[relay_port] = {Subject(ssl), remote_addr};
          open_fds[fd] = backend;
        }
        Pump(ssl, fd, backend);
        absl::MutexLock lock(&mu);
        peers.erase(relay_port);
      }
    }
    ERR_clear_error();
    if (ssl != nullptr) SSL_free(ssl);
    absl::MutexLock lock(&mu);
    open_fds.erase(fd);
    if (backend >= 0) ::close(backend);
    ::close(fd);
    --active;
  }

  static void Pump(SSL* ssl, int fd, int backend) {
    char buf[16384];
    while (true) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {backend, POLLIN, 0}};
      if (SSL_pending(ssl) == 0 && ::poll(fds, 2, -1) < 0) continue;
      if (SSL_pending(ssl) > 0 || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const int n = SSL_read(ssl, buf, sizeof(buf));
        if (n <= 0) return;
        if (::send(backend, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return;
      }
      if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t n = ::recv(backend, buf, sizeof(buf), 0);
        if (n <= 0) return;
        if (SSL_write(ssl, buf, static_cast<int>(n)) != n) return;
      }
    }
  }
};

TlsFrontend::TlsFrontend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsFrontend::~TlsFrontend() { Stop(); }

absl::StatusOr<std::unique_ptr<TlsFrontend>> TlsFrontend::Start(
    const std::string& host, int port, const std::string& cert_file, const std::string& key_file,
    const std::string& client_ca_file, int backend_port, int max_connections) {
  auto impl = std::make_unique<Impl>();
  impl->backend_port = backend_port;
  impl->max_connections = max_connections;
  impl->ctx = SSL_CTX_new(TLS_server_method());
  if (impl->ctx == nullptr) return absl::InternalError("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(impl->ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(impl->ctx, cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(impl->ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(impl->ctx) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load the HTTP TLS certificate ", cert_file, " and key ", key_file));
  }
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(impl->ctx, client_ca_file.c_str(), nullptr) != 1) {
      ERR_clear_error();
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load the HTTP client CA ", client_ca_file));
    }
    SSL_CTX_set_verify(impl->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  impl->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(impl->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::bind(impl->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(impl->listen_fd, 128) != 0 || ::pipe2(impl->wake, O_CLOEXEC) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for HTTPS on ", host, ":", port));
  }
  impl->port = LocalPort(impl->listen_fd);
  impl->acceptor = std::thread([raw = impl.get()] { raw->AcceptLoop(); });
  return std::unique_ptr<TlsFrontend>(new TlsFrontend(std::move(impl)));
}

int TlsFrontend::port() const { return impl_->port; }

std::optional<TlsPeer> TlsFrontend::PeerOf(int relay_port) const {
  absl::MutexLock lock(&impl_->mu);
  auto it = impl_->peers.find(relay_port);
  if (it == impl_->peers.end()) return std::nullopt;
  return it->second;
}

void TlsFrontend::Stop() {
  if (!impl_ || !impl_->acceptor.joinable()) return;
  (void)::write(impl_->wake[1], "x", 1);
  impl_->acceptor.join();
  std::vector<Impl::RelayThread> relays;
  {
    absl::MutexLock lock(&impl_->mu);
    impl_->stopping = true;
    for (const auto& [client, backend] : impl_->open_fds) {
      ::shutdown(client, SHUT_RDWR);
      if (backend >= 0) ::shutdown(backend, SHUT_RDWR);
    }
    relays.swap(impl_->relays);
  }
  for (Impl::RelayThread& r : relays) r.thread.join();
}

}  // namespace candor::exporters
