#include "exporters/health_api.h"

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/labels.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "exporters/prom_api.h"

namespace candor::exporters {
namespace {

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

// One figure of the response: its JSON name and the PromQL that computes it per entity.
struct Figure {
  const char* name;
  const char* function;  // Over the window.
  const char* signal;
};

constexpr Figure kFigures[] = {
    {"requests", "sum_over_time", "requests"},
    {"requests_ok", "sum_over_time", "requests_ok"},
    {"errors", "sum_over_time", "errors"},
    {"timeouts", "sum_over_time", "timeouts"},
    {"latency_p95_ms", "max_over_time", "latency_p95_ms"},
    {"latency_p99_ms", "max_over_time", "latency_p99_ms"},
    {"ttft_p95_ms", "max_over_time", "ttft_p95_ms"},
    {"decode_tps_p50", "min_over_time", "decode_tps_p50"},
    {"queue_depth_mean", "max_over_time", "queue_depth_mean"},
    {"kv_cache_usage_mean", "max_over_time", "kv_cache_usage_mean"},
    {"gpu_utilization_mean", "avg_over_time", "gpu_utilization_mean"},
};
constexpr size_t kNumFigures = sizeof(kFigures) / sizeof(kFigures[0]);

HttpResponse BadRequest(std::string_view message) {
  return HttpResponse::Json(
      400, absl::StrCat("{\"status\":\"error\",\"error\":", JsonQuote(message), "}"));
}

std::string Number(double v) { return std::isnan(v) ? "null" : FormatPromValue(v); }

// PromQL string literal escaping for a label value.
std::string PromQuote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

HttpHandler HealthHandler(const store::QueryEngine& engine, Clock& clock,
                          HealthObjectives objectives) {
  return [&engine, &clock, objectives](const HttpRequest& r) -> HttpResponse {
    const std::string window_text = r.Param("window", "5m");
    absl::Duration window;
    if (!absl::ParseDuration(window_text, &window) || window < absl::Seconds(10) ||
        window > absl::Hours(24)) {
      // Prometheus durations ("5m", "1h", "1d") are not all absl durations: try the days form.
      int64_t days = 0;
      if (window_text.size() > 1 && window_text.back() == 'd' &&
          absl::SimpleAtoi(Sv(window_text.substr(0, window_text.size() - 1)), &days) && days == 1) {
        window = absl::Hours(24);
      } else {
        return BadRequest(absl::StrCat("invalid parameter \"window\": \"", Sv(window_text),
                                       "\" is not a duration between 10s and 1d"));
      }
    }
    int64_t t_ms = absl::ToUnixMillis(clock.Now());
    if (const std::string t = r.Param("time"); !t.empty()) {
      absl::StatusOr<int64_t> parsed = ParsePromTime(t);
      if (!parsed.ok()) return BadRequest(absl::StrCat("invalid parameter \"time\": ", t));
      t_ms = *parsed;
    }
    std::string selector;
    if (const std::string e = r.Param("entity"); !e.empty()) {
      selector = absl::StrCat("entity=", PromQuote(e));
    } else if (const std::string k = r.Param("kind"); !k.empty()) {
      selector = absl::StrCat("kind=", PromQuote(k));
    }
    const std::string range = absl::StrCat(absl::ToInt64Seconds(window), "s");
    // entity → (kind, figures).
    std::map<std::string, std::pair<std::string, std::array<double, kNumFigures>>> entities;
    for (size_t i = 0; i < kNumFigures; ++i) {
      const Figure& f = kFigures[i];
      const std::string q =
          absl::StrCat(f.function, "(candor_signal_", f.signal, "{", selector, "}[", range, "])");
      absl::StatusOr<store::QueryResult> result = engine.Instant(q, t_ms);
      if (!result.ok()) {
        return HttpResponse::Json(
            result.status().code() == absl::StatusCode::kInvalidArgument ? 400 : 503,
            absl::StrCat("{\"status\":\"error\",\"error\":", JsonQuote(result.status().ToString()),
                         "}"));
      }
      for (const store::VectorElement& v : result->vector) {
        const std::string entity(v.labels.Get("entity"));
        if (entity.empty()) continue;
        auto [it, inserted] = entities.try_emplace(entity);
        if (inserted) {
          it->second.first = std::string(v.labels.Get("kind"));
          it->second.second.fill(kNone);
        }
        it->second.second[i] = v.point.v;
      }
    }
    std::string out =
        absl::StrCat("{\"status\":\"success\",\"data\":{\"time\":",
                     JsonQuote(FormatRfc3339(absl::FromUnixMillis(t_ms))),
                     ",\"window\":", JsonQuote(window_text),
                     ",\"objectives\":{\"availability\":", Number(objectives.availability),
                     ",\"latency_p95_ms\":",
                     Number(objectives.latency_p95_ms > 0 ? objectives.latency_p95_ms : kNone),
                     "},\"entities\":[");
    bool first = true;
    for (const auto& [entity, kind_figures] : entities) {
      const auto& [kind, f] = kind_figures;
      const double requests = f[0];
      const double ok = f[1];
      const double failed = (std::isnan(f[2]) ? 0 : f[2]) + (std::isnan(f[3]) ? 0 : f[3]);
      const bool has_requests = !std::isnan(requests) && requests > 0;
      const double availability = has_requests && !std::isnan(ok) ? ok / requests : kNone;
      const double error_rate = has_requests ? failed / requests : kNone;
      const double p95 = f[4];
      std::string slo_availability = "null";
      if (!std::isnan(availability)) {
        slo_availability = availability >= objectives.availability ? "true" : "false";
      }
      std::string slo_latency = "null";
      if (objectives.latency_p95_ms > 0 && !std::isnan(p95)) {
        slo_latency = p95 <= objectives.latency_p95_ms ? "true" : "false";
      }
      const bool compliant = slo_availability != "false" && slo_latency != "false";
      if (!first) out.push_back(',');
      first = false;
      absl::StrAppend(&out, "{\"entity\":", JsonQuote(entity), ",\"kind\":", JsonQuote(kind),
                      ",\"requests\":", Number(requests), ",\"error_rate\":", Number(error_rate),
                      ",\"availability\":", Number(availability));
      for (size_t i = 4; i < kNumFigures; ++i) {
        absl::StrAppend(&out, ",\"", kFigures[i].name, "\":", Number(f[i]));
      }
      absl::StrAppend(&out, ",\"slo\":{\"availability\":", slo_availability,
                      ",\"latency_p95\":", slo_latency,
                      ",\"compliant\":", compliant ? "true" : "false", "}}");
    }
    out += "]}}";
    return HttpResponse::Json(200, std::move(out));
  };
}

}  // namespace candor::exporters
