#include "exporters/events_api.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "candor/v1/ingest.pb.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace candor::exporters {
namespace {

constexpr size_t kMaxLimit = 10'000;

std::string_view KindName(uint8_t kind) {
  switch (kind) {
    case candor::v1::IngestItem::kInferenceEvent:
      return "inference_event";
    case candor::v1::IngestItem::kReplicaSample:
      return "replica_sample";
    case candor::v1::IngestItem::kGpuSample:
      return "gpu_sample";
    case candor::v1::IngestItem::kKernelSummary:
      return "kernel_summary";
    case candor::v1::IngestItem::kAnnotation:
      return "annotation";
    default:
      return "unknown";
  }
}

std::optional<uint8_t> KindFromName(std::string_view name) {
  for (uint8_t k = 1; k <= 5; ++k) {
    if (KindName(k) == name) return k;
  }
  return std::nullopt;
}

std::string ItemJson(const std::string& payload) {
  candor::v1::IngestItem item;
  if (!item.ParseFromString(payload)) return "null";
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(item, &out, options).ok()) return "null";
  return out;
}

std::string RecordsJson(const std::vector<store::StoredRecord>& records) {
  std::string out = "{\"status\":\"success\",\"data\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    const store::StoredRecord& r = records[i];
    if (i > 0) out.push_back(',');
    absl::StrAppend(&out, "{\"seq\":", r.seq, ",\"time\":", JsonQuote(FormatRfc3339(r.event_time)),
                    ",\"type\":\"", Sv(KindName(r.kind)), "\",\"entities\":[");
    for (size_t j = 0; j < r.entities.size(); ++j) {
      if (j > 0) out.push_back(',');
      out += JsonQuote(r.entities[j]);
    }
    absl::StrAppend(&out, "],\"item\":", ItemJson(r.payload), "}");
  }
  out += "]}";
  return out;
}

absl::StatusOr<size_t> ParseLimit(const HttpRequest& req, size_t fallback) {
  const std::string text = req.Param("limit");
  if (text.empty()) return fallback;
  size_t limit = 0;
  if (!absl::SimpleAtoi(text, &limit) || limit == 0 || limit > kMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid parameter \"limit\": \"", text, "\" is not 1–", kMaxLimit));
  }
  return limit;
}

absl::Status ParseRange(const HttpRequest& req, absl::Time* start, absl::Time* end) {
  for (auto [name, out] : {std::pair{"start", start}, {"end", end}}) {
    const std::string text = req.Param(name);
    if (text.empty()) continue;
    absl::StatusOr<absl::Time> t = ParseApiTime(text);
    if (!t.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid parameter \"", name, "\": ", t.status().message()));
    }
    *out = *t;
  }
  if (*start > *end) return absl::InvalidArgumentError("\"end\" is before \"start\"");
  return absl::OkStatus();
}

}  // namespace

HttpResponse BadData(std::string_view message) {
  return HttpResponse::Json(
      400, absl::StrCat("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":",
                        JsonQuote(message), "}"));
}

absl::StatusOr<absl::Time> ParseApiTime(std::string_view text) {
  double seconds = 0;
  if (absl::SimpleAtod(Sv(text), &seconds) && std::isfinite(seconds)) {
    return absl::FromUnixNanos(static_cast<int64_t>(std::llround(seconds * 1e9)));
  }
  return ParseRfc3339(text);
}

HttpHandler EventsHandler(const store::EventLog& log) {
  return [&log](const HttpRequest& req) -> HttpResponse {
    absl::StatusOr<size_t> limit = ParseLimit(req, 100);
    if (!limit.ok()) return BadData(StdSv(limit.status().message()));
    absl::StatusOr<std::vector<store::StoredRecord>> records;
    if (std::string id = req.Param("request_id"); !id.empty()) {
      records = log.FindByRequestId(id, *limit);
    } else if (std::string trace = req.Param("trace_id"); !trace.empty()) {
      records = log.FindByTraceId(trace, *limit);
    } else {
      store::RecordQuery q;
      q.limit = *limit;
      q.entity = req.Param("entity");
      if (absl::Status s = ParseRange(req, &q.start, &q.end); !s.ok())
        return BadData(StdSv(s.message()));
      if (std::string type = req.Param("type"); !type.empty()) {
        q.kind = KindFromName(type);
        if (!q.kind) {
          return BadData(absl::StrCat("invalid parameter \"type\": \"", type,
                                      "\" is not an ingest item type"));
        }
      }
      records = log.Query(q);
    }
    if (!records.ok()) {
      return HttpResponse::Json(
          500, absl::StrCat("{\"status\":\"error\",\"errorType\":\"internal\",\"error\":",
                            JsonQuote(StdSv(records.status().message())), "}"));
    }
    return HttpResponse::Json(200, RecordsJson(*records));
  };
}

HttpHandler TransitionsHandler(const store::EventLog& log) {
  return [&log](const HttpRequest& req) -> HttpResponse {
    store::TransitionQuery q;
    absl::StatusOr<size_t> limit = ParseLimit(req, 1000);
    if (!limit.ok()) return BadData(StdSv(limit.status().message()));
    q.limit = *limit;
    q.entity = req.Param("entity");
    if (absl::Status s = ParseRange(req, &q.start, &q.end); !s.ok())
      return BadData(StdSv(s.message()));
    absl::StatusOr<std::vector<store::StoredTransition>> transitions = log.Transitions(q);
    if (!transitions.ok()) {
      return HttpResponse::Json(
          500, absl::StrCat("{\"status\":\"error\",\"errorType\":\"internal\",\"error\":",
                            JsonQuote(StdSv(transitions.status().message())), "}"));
    }
    std::string out = "{\"status\":\"success\",\"data\":[";
    for (size_t i = 0; i < transitions->size(); ++i) {
      if (i > 0) out.push_back(',');
      out += (*transitions)[i].json;
    }
    out += "]}";
    return HttpResponse::Json(200, std::move(out));
  };
}

}  // namespace candor::exporters
