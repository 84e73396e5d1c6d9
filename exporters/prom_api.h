// PromApi: the subset of the Prometheus HTTP API that Grafana's Prometheus data source calls,
// served from candor's SeriesStore and QueryEngine:
//
//   GET|POST /api/v1/query         query, time, (timeout: accepted, the engine's applies)
//   GET|POST /api/v1/query_range   query, start, end, step
//   GET|POST /api/v1/labels        start, end, match[]
//   GET      /api/v1/label/<name>/values   start, end, match[]
//   GET|POST /api/v1/series        match[] (required), start, end
//   GET      /api/v1/metadata      metric, limit
//   GET      /api/v1/status/buildinfo
//
// POST takes the parameters form-encoded in the body (the HTTP server merges them into
// HttpRequest::params). Responses use Prometheus's JSON shapes exactly:
// {"status":"success","data":...} and {"status":"error","errorType":"bad_data",
// "error":"..."} with 400 for bad parameters and parse errors, 422 "execution" for queries that
// fail while running (too many samples, many-to-many matching), 503 "timeout", 500 "internal".
// Sample values are strings in Go's shortest 'f' format ("NaN", "+Inf", "-Inf"); timestamps
// are Unix seconds with millisecond precision. Native histograms are rendered as Prometheus
// 2.42 does ({"count","sum","buckets":[[boundary_rule,"lower","upper","count"],...]}).
//
// Thread safety: handlers may run concurrently.

#ifndef CANDOR_EXPORTERS_PROM_API_H_
#define CANDOR_EXPORTERS_PROM_API_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/http.h"
#include "exporters/http_server.h"
#include "store/engine.h"
#include "store/series_store.h"

namespace candor::exporters {

struct PromApiOptions {
  // Reported by /api/v1/status/buildinfo; Grafana reads the Prometheus version from it to
  // choose features. Default: "2.42.0-candor".
  std::string version = "2.42.0-candor";
  // Reported as the revision. Default: "".
  std::string revision;
};

class PromApi {
 public:
  // `store`, `engine` and `clock` must outlive the handlers.
  PromApi(const store::SeriesStore& store, const store::QueryEngine& engine, Clock& clock,
          PromApiOptions options = {});

  HttpResponse Query(const HttpRequest& r) const;
  HttpResponse QueryRange(const HttpRequest& r) const;
  HttpResponse Labels(const HttpRequest& r) const;
  // Expects r.path = "/api/v1/label/<name>/values".
  HttpResponse LabelValues(const HttpRequest& r) const;
  HttpResponse Series(const HttpRequest& r) const;
  HttpResponse Metadata(const HttpRequest& r) const;
  HttpResponse BuildInfo(const HttpRequest& r) const;

  // Every route above, for HttpServer::Start (the object must outlive the server).
  std::vector<HttpRoute> Routes() const;

 private:
  const store::SeriesStore& store_;
  const store::QueryEngine& engine_;
  Clock& clock_;
  const PromApiOptions options_;
};

// Go's strconv.FormatFloat(v, 'f', -1, 64), with "NaN", "+Inf", "-Inf".
std::string FormatPromValue(double v);
// Unix milliseconds as Prometheus writes them: seconds, then ".mmm" unless whole.
std::string FormatPromTimestamp(int64_t ms);
// A time parameter: Unix seconds (with fraction) or RFC 3339. InvalidArgumentError otherwise.
absl::StatusOr<int64_t> ParsePromTime(std::string_view text);
// A QueryResult in the API's JSON ("data" object).
std::string QueryResultJson(const store::QueryResult& r);

}  // namespace candor::exporters

#endif  // CANDOR_EXPORTERS_PROM_API_H_
