// A minimal blocking HTTP/1.1 client for tests: one request per connection, loopback only.

#ifndef CANDOR_TESTS_TESTING_HTTP_CLIENT_H_
#define CANDOR_TESTS_TESTING_HTTP_CLIENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace candor::testing {

struct HttpResult {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // Names lower-cased.
  std::string body;
  std::string Header(std::string_view name) const;
};

// Sends `method` `target` (path + query) to 127.0.0.1:`port` with `body` and extra headers;
// reads the whole response (Content-Length or until close). Errors are UnavailableError.
absl::StatusOr<HttpResult> HttpRequestTo(
    int port, const std::string& method, const std::string& target, const std::string& body = "",
    std::vector<std::pair<std::string, std::string>> headers = {});

inline absl::StatusOr<HttpResult> HttpGet(int port, const std::string& target) {
  return HttpRequestTo(port, "GET", target);
}

}  // namespace candor::testing

#endif  // CANDOR_TESTS_TESTING_HTTP_CLIENT_H_
