#include "exporters/prom_api.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/labels.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "store/promql.h"

namespace candor::exporters {
namespace {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max() / 2;

HttpResponse Error(int status, std::string_view type, std::string_view msg) {
  return HttpResponse::Json(status, absl::StrCat("{\"status\":\"error\",\"errorType\":\"", Sv(type),
                                                 "\",\"error\":", JsonQuote(msg), "}"));
}
HttpResponse BadParam(std::string_view param, std::string_view msg) {
  return Error(400, "bad_data", absl::StrCat("invalid parameter \"", Sv(param), "\": ", Sv(msg)));
}
HttpResponse Success(std::string_view data) {
  return HttpResponse::Json(200, absl::StrCat("{\"status\":\"success\",\"data\":", Sv(data), "}"));
}

// Maps an engine error to Prometheus's error type and status.
HttpResponse QueryError(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      if (s.message().find("parse error") != absl::string_view::npos) {
        return BadParam("query", StdSv(s.message()));
      }
      return Error(422, "execution", StdSv(s.message()));
    case absl::StatusCode::kResourceExhausted:
      return Error(422, "execution", StdSv(s.message()));
    case absl::StatusCode::kDeadlineExceeded:
      return Error(503, "timeout", StdSv(s.message()));
    case absl::StatusCode::kCancelled:
      return Error(503, "canceled", StdSv(s.message()));
    default:
      return Error(500, "internal", StdSv(s.message()));
  }
}

void AppendLabels(std::string* out, const LabelSet& labels) {
  out->push_back('{');
  bool first = true;
  for (const Label& l : labels.labels()) {
    if (!first) out->push_back(',');
    first = false;
    absl::StrAppend(out, JsonQuote(l.name), ":", JsonQuote(l.value));
  }
  out->push_back('}');
}

void AppendHistogram(std::string* out, const store::Histogram& h) {
  absl::StrAppend(out, "{\"count\":\"", FormatPromValue(h.count()), "\",\"sum\":\"",
                  FormatPromValue(h.sum()), "\"");
  std::string buckets;
  auto add = [&](int rule, double lo, double hi, double c) {
    if (c == 0) return;
    if (!buckets.empty()) buckets.push_back(',');
    absl::StrAppend(&buckets, "[", rule, ",\"", FormatPromValue(lo), "\",\"", FormatPromValue(hi),
                    "\",\"", FormatPromValue(c), "\"]");
  };
  for (auto it = h.negative().rbegin(); it != h.negative().rend(); ++it) {
    const auto [lo, hi] = store::Histogram::BucketBounds(h.schema(), it->index);
    add(1, -hi, -lo, it->count);
  }
  add(3, -h.zero_threshold(), h.zero_threshold(), h.zero_count());
  for (const store::Bucket& b : h.positive()) {
    const auto [lo, hi] = store::Histogram::BucketBounds(h.schema(), b.index);
    add(0, lo, hi, b.count);
  }
  if (!buckets.empty()) absl::StrAppend(out, ",\"buckets\":[", buckets, "]");
  out->push_back('}');
}

void AppendValue(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[400];
    const auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
    out->append(buf, res.ptr);
  }
}

void AppendTimestamp(std::string* out, int64_t ms) {
  char buf[32];
  char* p = buf;
  if (ms < 0) {
    *p++ = '-';
    ms = -ms;
  }
  p = std::to_chars(p, buf + sizeof(buf), ms / 1000).ptr;
  const int64_t frac = ms % 1000;
  if (frac != 0) {
    *p++ = '.';
    *p++ = static_cast<char>('0' + frac / 100);
    *p++ = static_cast<char>('0' + frac / 10 % 10);
    *p++ = static_cast<char>('0' + frac % 10);
  }
  out->append(buf, p);
}

void AppendPoint(std::string* out, const store::Point& p) {
  out->push_back('[');
  AppendTimestamp(out, p.t);
  out->push_back(',');
  if (p.h != nullptr) {
    AppendHistogram(out, *p.h);
  } else {
    out->push_back('"');
    AppendValue(out, p.v);
    out->push_back('"');
  }
  out->push_back(']');
}

// Collects every match[] parameter as selectors; an empty result means "all series".
absl::StatusOr<std::vector<std::vector<store::LabelMatcher>>> Matchers(const HttpRequest& r) {
  std::vector<std::vector<store::LabelMatcher>> out;
  for (const std::string& m : r.Params("match[]")) {
    absl::StatusOr<std::vector<store::LabelMatcher>> sel = store::ParseSeriesSelector(m);
    if (!sel.ok()) return sel.status();
    out.push_back(*std::move(sel));
  }
  return out;
}

absl::StatusOr<std::pair<int64_t, int64_t>> Range(const HttpRequest& r) {
  int64_t start = kMinTime;
  int64_t end = kMaxTime;
  if (const std::string s = r.Param("start"); !s.empty()) {
    absl::StatusOr<int64_t> t = ParsePromTime(s);
    if (!t.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("invalid parameter \"start\": ", t.status().message()));
    start = *t;
  }
  if (const std::string s = r.Param("end"); !s.empty()) {
    absl::StatusOr<int64_t> t = ParsePromTime(s);
    if (!t.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("invalid parameter \"end\": ", t.status().message()));
    end = *t;
  }
  if (end < start)
    return absl::InvalidArgumentError(
        "invalid parameter \"end\": end timestamp must not be before start time");
  return std::make_pair(start, end);
}

std::string StringArray(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += JsonQuote(v[i]);
  }
  out.push_back(']');
  return out;
}

}  // namespace

std::string FormatPromValue(double v) {
  std::string out;
  AppendValue(&out, v);
  return out;
}

std::string FormatPromTimestamp(int64_t ms) {
  std::string out;
  AppendTimestamp(&out, ms);
  return out;
}

absl::StatusOr<int64_t> ParsePromTime(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double secs = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size()) {
    if (!std::isfinite(secs) || std::fabs(secs) > 9e12) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot parse \"", s, "\" to a valid timestamp"));
    }
    return static_cast<int64_t>(std::llround(secs * 1000));
  }
  absl::StatusOr<absl::Time> t = ParseRfc3339(text);
  if (!t.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse \"", s, "\" to a valid timestamp"));
  return absl::ToUnixMillis(*t);
}

namespace {

// Bytes reserved per point of a matrix: enough for a float point ([seconds.mmm,"value"],) with
// a 17-digit value, so the reply is built without regrowing; pages never written cost nothing.
constexpr size_t kFloatPointBytes = 48;
constexpr size_t kHistogramPointBytes = 96;
constexpr size_t kHistogramBucketBytes = 80;

size_t MatrixReserve(const store::QueryResult& r) {
  size_t bytes = 256;
  for (const auto& m : r.matrix) {
    bytes += 256 + m.labels.size() * 64;
    for (const store::Point& p : m.points) {
      bytes += p.h == nullptr
                   ? kFloatPointBytes
                   : kHistogramPointBytes + kHistogramBucketBytes * (p.h->positive().size() +
                                                                     p.h->negative().size() + 1);
    }
  }
  return bytes;
}

// Appends the `data` object of a query reply to `out`.
void AppendQueryResult(std::string* out_ptr, const store::QueryResult& r) {
  std::string& out = *out_ptr;
  absl::StrAppend(&out, "{\"resultType\":\"", store::ValueTypeName(r.type), "\",\"result\":");
  switch (r.type) {
    case store::ValueType::kScalar:
      AppendPoint(&out, r.scalar);
      break;
    case store::ValueType::kString:
      absl::StrAppend(&out, "[", FormatPromTimestamp(r.scalar.t), ",", JsonQuote(r.string_value),
                      "]");
      break;
    case store::ValueType::kVector: {
      out.push_back('[');
      for (size_t i = 0; i < r.vector.size(); ++i) {
        if (i > 0) out.push_back(',');
        out += "{\"metric\":";
        AppendLabels(&out, r.vector[i].labels);
        out += r.vector[i].point.h != nullptr ? ",\"histogram\":" : ",\"value\":";
        AppendPoint(&out, r.vector[i].point);
        out.push_back('}');
      }
      out.push_back(']');
      break;
    }
    case store::ValueType::kMatrix: {
      out.push_back('[');
      for (size_t i = 0; i < r.matrix.size(); ++i) {
        if (i > 0) out.push_back(',');
        out += "{\"metric\":";
        AppendLabels(&out, r.matrix[i].labels);
        const auto& pts = r.matrix[i].points;
        const bool any_hist = std::any_of(pts.begin(), pts.end(),
                                          [](const store::Point& p) { return p.h != nullptr; });
        const bool any_float = std::any_of(pts.begin(), pts.end(),
                                           [](const store::Point& p) { return p.h == nullptr; });
        for (const bool hist : {false, true}) {
          if (hist ? !any_hist : (!any_float && any_hist)) continue;
          out.append(hist ? ",\"histograms\":[" : ",\"values\":[");
          bool first = true;
          for (const store::Point& p : pts) {
            if ((p.h != nullptr) != hist) continue;
            if (!first) out.push_back(',');
            first = false;
            AppendPoint(&out, p);
          }
          out.push_back(']');
        }
        out.push_back('}');
      }
      out.push_back(']');
      break;
    }
  }
  out.push_back('}');
}

// The whole success reply of a query, built in one buffer.
HttpResponse QuerySuccess(const store::QueryResult& r) {
  std::string body;
  body.reserve(r.type == store::ValueType::kMatrix ? MatrixReserve(r) : 256);
  body.append("{\"status\":\"success\",\"data\":");
  AppendQueryResult(&body, r);
  body.push_back('}');
  return HttpResponse::Json(200, std::move(body));
}

}  // namespace

std::string QueryResultJson(const store::QueryResult& r) {
  std::string out;
  if (r.type == store::ValueType::kMatrix) out.reserve(MatrixReserve(r));
  AppendQueryResult(&out, r);
  return out;
}

PromApi::PromApi(const store::SeriesStore& store, const store::QueryEngine& engine, Clock& clock,
                 PromApiOptions options)
    : store_(store), engine_(engine), clock_(clock), options_(std::move(options)) {}

HttpResponse PromApi::Query(const HttpRequest& r) const {
  const std::string query = r.Param("query");
  if (query.empty()) return BadParam("query", "no query provided");
  int64_t t = absl::ToUnixMillis(clock_.Now());
  if (const std::string ts = r.Param("time"); !ts.empty()) {
    absl::StatusOr<int64_t> parsed = ParsePromTime(ts);
    if (!parsed.ok()) return BadParam("time", StdSv(parsed.status().message()));
    t = *parsed;
  }
  absl::StatusOr<store::QueryResult> res = engine_.Instant(query, t);
  if (!res.ok()) return QueryError(res.status());
  return QuerySuccess(*res);
}

HttpResponse PromApi::QueryRange(const HttpRequest& r) const {
  const std::string query = r.Param("query");
  if (query.empty()) return BadParam("query", "no query provided");
  absl::StatusOr<int64_t> start = ParsePromTime(r.Param("start"));
  if (!start.ok()) return BadParam("start", StdSv(start.status().message()));
  absl::StatusOr<int64_t> end = ParsePromTime(r.Param("end"));
  if (!end.ok()) return BadParam("end", StdSv(end.status().message()));
  if (*end < *start) return BadParam("end", "end timestamp must not be before start time");
  absl::StatusOr<int64_t> step = store::ParseDurationMs(r.Param("step"));
  if (!step.ok()) return BadParam("step", StdSv(step.status().message()));
  if (*step <= 0) {
    return BadParam(
        "step",
        "zero or negative query resolution step widths are not accepted. Try a positive integer");
  }
  if ((*end - *start) / *step > 11000) {
    return Error(400, "bad_data",
                 "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
                 "query resolution (?step=XX)");
  }
  absl::StatusOr<store::QueryResult> res = engine_.Range(query, *start, *end, *step);
  if (!res.ok()) return QueryError(res.status());
  return QuerySuccess(*res);
}

HttpResponse PromApi::Labels(const HttpRequest& r) const {
  auto range = Range(r);
  if (!range.ok()) return Error(400, "bad_data", StdSv(range.status().message()));
  auto sel = Matchers(r);
  if (!sel.ok()) return BadParam("match[]", StdSv(sel.status().message()));
  auto names = store_.LabelNames(*sel, range->first, range->second);
  if (!names.ok())
    return Error(
        names.status().code() == absl::StatusCode::kInvalidArgument ? 400 : 500,
        names.status().code() == absl::StatusCode::kInvalidArgument ? "bad_data" : "internal",
        StdSv(names.status().message()));
  return Success(StringArray(*names));
}

HttpResponse PromApi::LabelValues(const HttpRequest& r) const {
  static constexpr std::string_view kPrefix = "/api/v1/label/";
  static constexpr std::string_view kSuffix = "/values";
  std::string_view path = r.path;
  if (path.size() <= kPrefix.size() + kSuffix.size() || path.substr(0, kPrefix.size()) != kPrefix ||
      path.substr(path.size() - kSuffix.size()) != kSuffix) {
    return Error(404, "not_found", "unknown path");
  }
  const std::string name(
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
  if (!IsValidLabelName(name)) {
    return Error(400, "bad_data", absl::StrCat("invalid label name: \"", name, "\""));
  }
  auto range = Range(r);
  if (!range.ok()) return Error(400, "bad_data", StdSv(range.status().message()));
  auto sel = Matchers(r);
  if (!sel.ok()) return BadParam("match[]", StdSv(sel.status().message()));
  auto values = store_.LabelValues(name, *sel, range->first, range->second);
  if (!values.ok()) return Error(400, "bad_data", StdSv(values.status().message()));
  return Success(StringArray(*values));
}

HttpResponse PromApi::Series(const HttpRequest& r) const {
  auto sel = Matchers(r);
  if (!sel.ok()) return BadParam("match[]", StdSv(sel.status().message()));
  if (sel->empty()) return Error(400, "bad_data", "no match[] parameter provided");
  auto range = Range(r);
  if (!range.ok()) return Error(400, "bad_data", StdSv(range.status().message()));
  store::ReadOptions ro;
  ro.labels_only = true;
  std::vector<LabelSet> all;
  for (const auto& m : *sel) {
    auto data = store_.Select(m, range->first, range->second, ro);
    if (!data.ok()) return BadParam("match[]", StdSv(data.status().message()));
    for (store::SeriesData& d : *data) all.push_back(std::move(d.labels));
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::string out = "[";
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendLabels(&out, all[i]);
  }
  out.push_back(']');
  return Success(out);
}

HttpResponse PromApi::Metadata(const HttpRequest& r) const {
  const std::string metric = r.Param("metric");
  int64_t limit = -1;
  if (const std::string l = r.Param("limit"); !l.empty()) {
    char* end = nullptr;
    limit = std::strtoll(l.c_str(), &end, 10);
    if (end != l.c_str() + l.size()) return BadParam("limit", "not an integer");
  }
  std::string out = "{";
  int64_t n = 0;
  for (const auto& [name, md] : store_.Metadata()) {
    if (!metric.empty() && name != metric) continue;
    if (limit >= 0 && n >= limit) break;
    if (n++ > 0) out.push_back(',');
    absl::StrAppend(&out, JsonQuote(name), ":[{\"type\":", JsonQuote(md.type),
                    ",\"help\":", JsonQuote(md.help), ",\"unit\":", JsonQuote(md.unit), "}]");
  }
  out.push_back('}');
  return Success(out);
}

HttpResponse PromApi::BuildInfo(const HttpRequest&) const {
  return Success(absl::StrCat("{\"version\":", JsonQuote(options_.version),
                              ",\"revision\":", JsonQuote(options_.revision),
                              ",\"branch\":\"\",\"buildUser\":\"candor\",\"buildDate\":\"\","
                              "\"goVersion\":\"\"}"));
}

std::vector<HttpRoute> PromApi::Routes() const {
  std::vector<HttpRoute> routes;
  auto both = [&](std::string path, HttpResponse (PromApi::*fn)(const HttpRequest&) const) {
    for (const char* m : {"GET", "POST"}) {
      routes.push_back(
          {m, path, false, [this, fn](const HttpRequest& r) { return (this->*fn)(r); }});
    }
  };
  both("/api/v1/query", &PromApi::Query);
  both("/api/v1/query_range", &PromApi::QueryRange);
  both("/api/v1/labels", &PromApi::Labels);
  both("/api/v1/series", &PromApi::Series);
  routes.push_back(
      {"GET", "/api/v1/label/", true, [this](const HttpRequest& r) { return LabelValues(r); }});
  routes.push_back(
      {"GET", "/api/v1/metadata", false, [this](const HttpRequest& r) { return Metadata(r); }});
  routes.push_back({"GET", "/api/v1/status/buildinfo", false,
                    [this](const HttpRequest& r) { return BuildInfo(r); }});
  return routes;
}

}  // namespace candor::exporters
