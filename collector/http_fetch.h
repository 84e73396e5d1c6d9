// A small HTTP(S) client for the collector's outbound calls: scraping engines' /metrics and
// the synthetic prober's chat completions. It streams the response body to a callback as it
// arrives (a probe measures its time to first token; a scrape parses as it reads), bounds the
// body size, and enforces a deadline on the injected Clock, so tests drive timeouts with a
// SimulatedClock. libcurl stays inside this adapter.
//
// Thread safety: Fetch may be called concurrently; each call uses its own connection.

#ifndef CANDOR_COLLECTOR_HTTP_FETCH_H_
#define CANDOR_COLLECTOR_HTTP_FETCH_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace candor::collector {

struct FetchRequest {
  std::string method = "GET";
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Whole exchange, measured on the Clock; checked at least once a second while waiting.
  // Default: 10 s.
  absl::Duration timeout = absl::Seconds(10);
  // Largest response body. Default: 16 MiB.
  size_t max_body_bytes = 16u << 20;
  // PEM CA bundle to verify an https server with (empty: the system's). Default: "".
  std::string ca_file;
  // PEM client certificate and key for mutual TLS. Default: "".
  std::string client_cert_file;
  std::string client_key_file;
};

struct FetchResponse {
  int status = 0;
  std::string content_type;
  size_t body_bytes = 0;
};

// Called with each piece of the body as it arrives; an error status aborts the transfer and
// becomes Fetch's result.
using BodyFn = std::function<absl::Status(std::string_view chunk)>;

class HttpFetcher {
 public:
  // `clock` must outlive the fetcher.
  explicit HttpFetcher(Clock& clock);

  // Performs `request`. Returns the status line's code and headers once the body has been
  // delivered whole. Errors: DeadlineExceededError past the timeout, ResourceExhaustedError
  // for a body over the limit, UnavailableError for connection and protocol failures (with
  // libcurl's reason), or the status `on_body` returned.
  absl::StatusOr<FetchResponse> Fetch(const FetchRequest& request, const BodyFn& on_body);

 private:
  Clock& clock_;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_HTTP_FETCH_H_
