#include "collector/http_fetch.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::collector {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  Clock* clock = nullptr;
  absl::Time deadline;
  size_t max_body = 0;
  const BodyFn* on_body = nullptr;
  size_t received = 0;
  bool timed_out = false;
  absl::Status error;
  std::string content_type;
};

size_t OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->received += n;
  if (t->received > t->max_body) {
    t->error = absl::ResourceExhaustedError(
        absl::StrCat("response body exceeds the limit of ", t->max_body, " bytes"));
    return 0;
  }
  absl::Status s = (*t->on_body)(std::string_view(data, n));
  if (!s.ok()) {
    t->error = std::move(s);
    return 0;
  }
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  constexpr std::string_view kName = "content-type:";
  if (line.size() > kName.size() &&
      absl::AsciiStrToLower(Sv(line.substr(0, kName.size()))) == kName) {
    t->content_type = std::string(absl::StripAsciiWhitespace(Sv(line.substr(kName.size()))));
  }
  return size * count;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->clock->MonotonicNow() >= t->deadline) {
    t->timed_out = true;
    return 1;
  }
  return 0;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

HttpFetcher::HttpFetcher(Clock& clock) : clock_(clock) { InitCurlOnce(); }

absl::StatusOr<FetchResponse> HttpFetcher::Fetch(const FetchRequest& request,
                                                 const BodyFn& on_body) {
  if (!request.url.starts_with("http://") && !request.url.starts_with("https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL \"", request.url, "\" is not http:// or https://"));
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::ResourceExhaustedError("cannot create an HTTP client handle");
  Transfer t;
  t.clock = &clock_;
  t.deadline = clock_.MonotonicNow() + request.timeout;
  t.max_body = request.max_body_bytes;
  t.on_body = &on_body;
  CURL* c = curl.get();
  std::unique_ptr<curl_slist, ListDeleter> headers;
  for (const auto& [k, v] : request.headers) {
    headers.reset(curl_slist_append(headers.release(), absl::StrCat(k, ": ", v).c_str()));
  }
  // Plain libcurl option setting; the return codes only report unknown options.
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  // A wall-clock backstop in case the Clock never reaches the deadline (a stopped simulated
  // clock): the transfer still ends.
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(request.timeout) + 30'000));
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  if (request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.client_cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, request.client_cert_file.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, request.client_key_file.c_str());
  }
  const CURLcode rc = curl_easy_perform(c);
  if (t.timed_out || rc == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(absl::StrCat("no complete answer from ", request.url,
                                                    " within ",
                                                    absl::FormatDuration(request.timeout)));
  }
  if (!t.error.ok()) return t.error;
  if (rc != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat(request.method, " ", request.url, ": ", curl_easy_strerror(rc)));
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  FetchResponse resp;
  resp.status = static_cast<int>(code);
  resp.content_type = std::move(t.content_type);
  resp.body_bytes = t.received;
  return resp;
}

}  // namespace candor::collector
