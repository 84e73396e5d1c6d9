// Plain HTTP request/response values shared by the HTTP server (exporters/) and the
// components that serve endpoints through it (collector's remote-write receiver, the API).
// Handlers are pure functions of a request, so they are tested without a socket.

#ifndef CANDOR_COMMON_HTTP_H_
#define CANDOR_COMMON_HTTP_H_

#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace candor {

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string path;    // Without the query string, e.g. "/api/v1/query".
  // Decoded query-string and (for form posts) body parameters, in order; names may repeat
  // (`match[]`).
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::pair<std::string, std::string>> headers;  // Names lower-cased.
  std::string body;
  std::string remote_addr;
  // Common name of a verified client certificate under mutual TLS, else empty.
  std::string client_cert_subject;

  // The first value of parameter `name`, or `fallback`.
  std::string Param(std::string_view name, std::string fallback = "") const {
    for (const auto& [k, v] : params) {
      if (k == name) return v;
    }
    return fallback;
  }
  // Every value of parameter `name`, in order.
  std::vector<std::string> Params(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : params) {
      if (k == name) out.push_back(v);
    }
    return out;
  }
  // The first value of header `name` (case-insensitive), or "".
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return "";
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Json(int status, std::string body) {
    return {status, "application/json", std::move(body), {}};
  }
  static HttpResponse Text(int status, std::string body) {
    return {status, "text/plain; charset=utf-8", std::move(body), {}};
  }
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

}  // namespace candor

#endif  // CANDOR_COMMON_HTTP_H_
