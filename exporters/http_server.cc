#include "exporters/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "exporters/openssl_compat/openssl_compat.h"

namespace candor::exporters {
namespace {

std::string ErrorJson(std::string_view message) {
  return absl::StrCat("{\"status\":\"error\",\"error\":", JsonQuote(message), "}");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Counters for one route, resolved once.
struct RouteMetrics {
  Counter* ok = nullptr;
  Counter* client_error = nullptr;
  Counter* server_error = nullptr;
  Histogram* duration = nullptr;
};

// Opens and closes a TCP connection to host:port, ignoring failures.
void PokeListener(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host == "0.0.0.0" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) == 1) {
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  }
  ::close(fd);
}

// civetweb initialises its library once per process.
void InitCivetwebOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The compatibility library must already be loaded when civetweb looks up OpenSSL.
    CANDOR_CHECK(candor_openssl_compat_present() == 1);
    mg_init_library(MG_FEATURES_TLS);
  });
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseFormEncoded(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = text.substr(start, end - start);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(PercentDecode(part), "");
      } else {
        out.emplace_back(PercentDecode(part.substr(0, eq)), PercentDecode(part.substr(eq + 1)));
      }
    }
    start = end + 1;
  }
  return out;
}

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(std::string_view address) {
  std::string host;
  std::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("address \"", Sv(address), "\" is not [host]:port"));
    }
    host = std::string(address.substr(1, close - 1));
    port_text = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("address \"", Sv(address), "\" is not host:port"));
    }
    host = std::string(address.substr(0, colon));
    port_text = address.substr(colon + 1);
  }
  int port = 0;
  if (!absl::SimpleAtoi(Sv(port_text), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address \"", Sv(address), "\" has an invalid port"));
  }
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, port);
}

struct HttpServer::Impl {
  HttpServerOptions options;
  std::vector<HttpRoute> routes;
  std::vector<RouteMetrics> route_metrics;
  Counter* not_found = nullptr;
  Clock* clock = nullptr;
  mg_context* ctx = nullptr;
  std::string host;

  // Index of the route for `path`, or -1.
  int Match(std::string_view path) const {
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < routes.size(); ++i) {
      const HttpRoute& r = routes[i];
      if (r.path == path) return static_cast<int>(i);
      if (r.prefix && path.size() > r.path.size() && path.substr(0, r.path.size()) == r.path &&
          r.path.size() > best_len) {
        best = static_cast<int>(i);
        best_len = r.path.size();
      }
    }
    return best;
  }

  static void Send(mg_connection* conn, const HttpResponse& resp, bool head_only) {
    mg_response_header_start(conn, resp.status);
    mg_response_header_add(conn, "Content-Type", resp.content_type.c_str(), -1);
    const std::string length = absl::StrCat(resp.body.size());
    mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
    for (const auto& [k, v] : resp.headers) {
      mg_response_header_add(conn, k.c_str(), v.c_str(), -1);
    }
    mg_response_header_send(conn);
    if (!head_only && !resp.body.empty()) mg_write(conn, resp.body.data(), resp.body.size());
  }

  // Reads the whole body into `req`; on failure returns the error response to send.
  std::optional<HttpResponse> ReadBody(mg_connection* conn, const mg_request_info* info,
                                       HttpRequest* req) const {
    if (info->content_length > static_cast<long long>(options.max_body_bytes)) {
      return HttpResponse::Json(
          413, ErrorJson(absl::StrCat("request body of ", info->content_length,
                                      " bytes exceeds the limit of ", options.max_body_bytes)));
    }
    if (info->content_length > 0) req->body.reserve(static_cast<size_t>(info->content_length));
    // Read straight into the body: civetweb's worker stacks are small.
    constexpr size_t kChunk = 16384;
    while (true) {
      const size_t old_size = req->body.size();
      req->body.resize(old_size + kChunk);
      const int n = mg_read(conn, req->body.data() + old_size, kChunk);
      req->body.resize(old_size + static_cast<size_t>(std::max(n, 0)));
      if (n < 0) return HttpResponse::Json(400, ErrorJson("error reading the request body"));
      if (n == 0) break;
      if (req->body.size() > options.max_body_bytes) {
        return HttpResponse::Json(413, ErrorJson(absl::StrCat("request body exceeds the limit of ",
                                                              options.max_body_bytes, " bytes")));
      }
    }
    return std::nullopt;
  }

  int Handle(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    const absl::Time start = clock->MonotonicNow();
    HttpRequest req;
    req.method = info->request_method ? info->request_method : "";
    req.path = info->local_uri ? info->local_uri : "/";
    req.remote_addr = info->remote_addr;
    if (info->client_cert != nullptr && info->client_cert->subject != nullptr) {
      req.client_cert_subject = info->client_cert->subject;
    }
    for (int i = 0; i < info->num_headers; ++i) {
      std::string name = info->http_headers[i].name ? info->http_headers[i].name : "";
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      req.headers.emplace_back(std::move(name),
                               info->http_headers[i].value ? info->http_headers[i].value : "");
    }
    if (info->query_string != nullptr) req.params = ParseFormEncoded(info->query_string);
    const bool head = req.method == "HEAD";

    const int index = Match(req.path);
    if (index < 0) {
      if (not_found) not_found->Increment();
      Send(conn, HttpResponse::Json(404, ErrorJson(absl::StrCat("no handler for ", req.path))),
           head);
      return 404;
    }
    const HttpRoute& route = routes[static_cast<size_t>(index)];
    HttpResponse resp;
    if (!route.method.empty() && route.method != req.method && !(head && route.method == "GET")) {
      resp = HttpResponse::Json(
          405, ErrorJson(absl::StrCat("method ", req.method, " not allowed on ", req.path)));
      resp.headers.emplace_back("Allow", route.method);
    } else if (std::optional<HttpResponse> err = ReadBody(conn, info, &req); err.has_value()) {
      resp = *std::move(err);
    } else {
      if (req.Header("content-type").starts_with("application/x-www-form-urlencoded")) {
        for (auto& p : ParseFormEncoded(req.body)) req.params.push_back(std::move(p));
      }
      try {
        resp = route.handler(req);
      } catch (const std::exception& e) {
        CANDOR_LOG_ERROR("http", "handler threw", {{"path", req.path}, {"error", e.what()}});
        resp = HttpResponse::Json(500, ErrorJson("internal error"));
      }
    }
    Send(conn, resp, head);
    const RouteMetrics& m = route_metrics[static_cast<size_t>(index)];
    if (m.duration) {
      m.duration->Observe(absl::ToDoubleSeconds(clock->MonotonicNow() - start));
      (resp.status >= 500   ? m.server_error
       : resp.status >= 400 ? m.client_error
                            : m.ok)
          ->Increment();
    }
    return resp.status;
  }

  static int Callback(mg_connection* conn, void* data) {
    return static_cast<Impl*>(data)->Handle(conn);
  }

  static int InitSsl(void* ssl_ctx, void* user_data) {
    auto* self = static_cast<Impl*>(user_data);
    auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
    const HttpTlsOptions& tls = self->options.tls;
    if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      CANDOR_LOG_ERROR("http", "cannot load TLS certificate or key",
                       {{"cert_file", tls.cert_file}, {"key_file", tls.key_file}});
      return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (!tls.client_ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
        CANDOR_LOG_ERROR("http", "cannot load client CA", {{"file", tls.client_ca_file}});
        return -1;
      }
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    return 1;  // Configured here; civetweb must not load certificates itself.
  }

  static int LogMessage(const mg_connection*, const char* message) {
    CANDOR_LOG_DEBUG("http", message);
    return 1;
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              std::vector<HttpRoute> routes,
                                                              MetricsRegistry* metrics,
                                                              Clock& clock) {
  CANDOR_ASSIGN_OR_RETURN(auto host_port, SplitHostPort(options.listen_address));
  if (options.num_threads < 1 || options.num_threads > 256) {
    return absl::InvalidArgumentError("http num_threads must be 1–256");
  }
  const bool tls = !options.tls.cert_file.empty();
  if (tls && options.tls.key_file.empty()) {
    return absl::InvalidArgumentError("TLS cert_file is set but key_file is empty");
  }
  if (!tls && !options.tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError("client_ca_file (mutual TLS) needs cert_file and key_file");
  }
  for (const HttpRoute& r : routes) {
    if (r.path.empty() || r.path[0] != '/' || !r.handler) {
      return absl::InvalidArgumentError(absl::StrCat("invalid HTTP route \"", r.path, "\""));
    }
  }
  InitCivetwebOnce();

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->routes = std::move(routes);
  impl->clock = &clock;
  impl->host = host_port.first;
  impl->route_metrics.resize(impl->routes.size());
  if (metrics != nullptr) {
    const std::string_view req_help = "HTTP requests served, by handler and status class.";
    for (size_t i = 0; i < impl->routes.size(); ++i) {
      const std::string& handler = impl->routes[i].path;
      RouteMetrics& m = impl->route_metrics[i];
      m.ok = &metrics->GetCounter("candor_http_requests_total", req_help,
                                  {{"handler", handler}, {"code", "2xx"}});
      m.client_error = &metrics->GetCounter("candor_http_requests_total", req_help,
                                            {{"handler", handler}, {"code", "4xx"}});
      m.server_error = &metrics->GetCounter("candor_http_requests_total", req_help,
                                            {{"handler", handler}, {"code", "5xx"}});
      m.duration = &metrics->GetHistogram("candor_http_request_duration_seconds",
                                          "Time to serve an HTTP request, by handler.",
                                          LatencyBucketsSeconds(), {{"handler", handler}});
    }
    impl->not_found = &metrics->GetCounter("candor_http_requests_total", req_help,
                                           {{"handler", "none"}, {"code", "4xx"}});
  }

  const std::string ports = absl::StrCat(host_port.first, ":", host_port.second, tls ? "s" : "");
  const std::string threads = absl::StrCat(options.num_threads);
  const std::string keep_alive = absl::StrCat(options.keep_alive_timeout_ms);
  std::vector<const char*> opts = {"listening_ports",
                                   ports.c_str(),
                                   "num_threads",
                                   threads.c_str(),
                                   "enable_keep_alive",
                                   "yes",
                                   "keep_alive_timeout_ms",
                                   keep_alive.c_str(),
                                   "request_timeout_ms",
                                   "60000",
                                   "decode_url",
                                   "yes"};
  opts.push_back(nullptr);

  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = &Impl::LogMessage;
  if (tls) callbacks.init_ssl = &Impl::InitSsl;

  impl->ctx = mg_start(&callbacks, impl.get(), opts.data());
  if (impl->ctx == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", options.listen_address,
                     tls ? " (address in use, or the TLS certificate/key/CA could not be loaded)"
                         : " (address in use or not available)"));
  }
  mg_set_request_handler(impl->ctx, "/", &Impl::Callback, impl.get());

  mg_server_port bound[4];
  const int n = mg_get_server_ports(impl->ctx, 4, bound);
  auto server = std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  if (n < 1) return absl::InternalError("HTTP server started but reports no listening port");
  server->port_ = bound[0].port;
  return server;
}

std::string HttpServer::address() const { return absl::StrCat(impl_->host, ":", port_); }

void HttpServer::Stop() {
  if (!impl_ || impl_->ctx == nullptr) return;
  // civetweb's accept loop notices the stop flag only when its poll wakes (every 2 s); a
  // connection to the listener wakes it at once.
  absl::Mutex mu;
  bool done = false;
  std::thread stopper([&] {
    mg_stop(impl_->ctx);
    absl::MutexLock lock(&mu);
    done = true;
  });
  for (int attempt = 0; attempt < 100; ++attempt) {
    PokeListener(impl_->host, port_);
    absl::MutexLock lock(&mu);
    if (impl_->clock->AwaitWithDeadline(&mu, absl::Condition(&done),
                                        impl_->clock->MonotonicNow() + absl::Milliseconds(20))) {
      break;
    }
  }
  stopper.join();
  impl_->ctx = nullptr;
}

}  // namespace candor::exporters
