// candor's HTTP listener: a small router over civetweb serving `HttpHandler`s (common/http.h).
//
// Routes are matched by exact path first, then by the longest matching prefix route. Request
// bodies larger than `max_body_bytes` get 413, unknown paths 404, a route with the wrong method
// 405, all with a JSON body `{"status":"error","error":"..."}`. Handlers run on the server's
// worker threads, concurrently; they must be thread-safe. TLS and mutual TLS are optional.
//
// Thread safety: Start/Stop from one thread; port() from any thread.

#ifndef CANDOR_EXPORTERS_HTTP_SERVER_H_
#define CANDOR_EXPORTERS_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/http.h"
#include "common/metrics.h"

namespace candor::exporters {

struct HttpRoute {
  // "GET", "POST", … or "" for any method. A GET route also answers HEAD.
  std::string method;
  // Absolute path, e.g. "/api/v1/query". With `prefix`, matches every path below it too.
  std::string path;
  bool prefix = false;
  HttpHandler handler;
};

struct HttpTlsOptions {
  // PEM certificate chain of the server. Empty: plain HTTP. Default: "".
  std::string cert_file;
  // PEM private key of `cert_file`. Required with `cert_file`. Default: "".
  std::string key_file;
  // PEM CA bundle. When set, clients must present a certificate signed by it (mutual TLS);
  // its subject is passed to handlers as HttpRequest::client_cert_subject. Default: "".
  std::string client_ca_file;
};

struct HttpServerOptions {
  // host:port to listen on; port 0 picks a free port (see HttpServer::port()).
  // Default: "127.0.0.1:9470".
  std::string listen_address = "127.0.0.1:9470";
  // Worker threads (concurrent requests). Range 1–256. Default: 8.
  int num_threads = 8;
  // Largest accepted request body, bytes. Default: 64 MiB.
  size_t max_body_bytes = 64u << 20;
  // Idle keep-alive timeout, milliseconds. Default: 30000.
  int keep_alive_timeout_ms = 30000;
  HttpTlsOptions tls;
};

class HttpServer {
 public:
  // Binds and starts serving `routes`. Returns InvalidArgumentError for a malformed address or
  // route, UnavailableError if the address cannot be bound (the message names it), and
  // FailedPreconditionError for unusable TLS files. `metrics` may be null; otherwise the
  // server counts requests and observes durations per route (`candor_http_requests_total`,
  // `candor_http_request_duration_seconds`) and must outlive the server. `clock` times
  // requests.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           std::vector<HttpRoute> routes,
                                                           MetricsRegistry* metrics, Clock& clock);
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port.
  int port() const { return port_; }
  // "host:port" actually bound.
  std::string address() const;
  // Stops accepting, waits for handlers in progress. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// Splits "host:port" (IPv4 or a name; "[v6]:port" is accepted). InvalidArgumentError naming
// the text when malformed or the port is not 0–65535.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(std::string_view address);

// Decodes an application/x-www-form-urlencoded string ("a=1&b=%20x") into pairs, in order.
std::vector<std::pair<std::string, std::string>> ParseFormEncoded(std::string_view text);

}  // namespace candor::exporters

#endif  // CANDOR_EXPORTERS_HTTP_SERVER_H_
