// TlsFrontend: terminates TLS (and mutual TLS) for the HTTP listener with OpenSSL and relays
// each connection in plaintext to the HTTP server on a private loopback port.
//
// Debian's civetweb 1.15 cannot serve HTTPS with OpenSSL 3 (it looks up
// SSL_get_peer_certificate at run time, which OpenSSL 3 no longer exports, and calls it on
// every connection), so candor terminates TLS itself. The verified client certificate's
// subject and the client's address are remembered per relay connection, keyed by the relay's
// local port, so handlers still see who called (`PeerOf`).
//
// Thread safety: Start/Stop from one thread; PeerOf from any thread.

#ifndef CANDOR_EXPORTERS_TLS_FRONTEND_H_
#define CANDOR_EXPORTERS_TLS_FRONTEND_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace candor::exporters {

struct TlsPeer {
  std::string client_cert_subject;  // Empty without a client certificate.
  std::string remote_addr;
};

class TlsFrontend {
 public:
  // Listens on `host:port` (0: any) with `cert_file`/`key_file`; with `client_ca_file`, a
  // client certificate signed by it is required. Relays to 127.0.0.1:`backend_port`.
  // FailedPreconditionError for unusable certificate files, UnavailableError if the address
  // cannot be bound. At most `max_connections` are relayed at once; more are closed.
  static absl::StatusOr<std::unique_ptr<TlsFrontend>> Start(const std::string& host, int port,
                                                            const std::string& cert_file,
                                                            const std::string& key_file,
                                                            const std::string& client_ca_file,
                                                            int backend_port, int max_connections);
  ~TlsFrontend();

  int port() const;
  // Who is behind the relay connection whose local port is `relay_port`.
  std::optional<TlsPeer> PeerOf(int relay_port) const;
  // Stops accepting, ends every relay and joins the threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit TlsFrontend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace candor::exporters

#endif  // CANDOR_EXPORTERS_TLS_FRONTEND_H_
