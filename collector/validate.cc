#include "collector/validate.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/entity.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace candor::collector {
namespace {

using candor::v1::IngestItem;
using candor::v1::ItemReject;
using candor::v1::RejectCode;

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// Collects the first problem of one item; later checks are no-ops once one failed.
class Checker {
 public:
  Checker(const ValidationOptions& options, absl::Time now, std::string prefix)
      : o_(options), now_(now), prefix_(std::move(prefix)) {}

  const std::optional<ItemReject>& reject() const { return reject_; }

  void Fail(std::string_view field, RejectCode code, std::string reason) {
    if (reject_) return;
    ItemReject r;
    r.set_field(absl::StrCat(prefix_, Sv(field)));
    r.set_code(code);
    r.set_reason(std::move(reason));
    reject_ = std::move(r);
  }

  void Required(std::string_view field, bool present) {
    if (!present) Fail(field, candor::v1::MISSING_FIELD, "required field is missing or empty");
  }

  void Name(std::string_view field, const std::string& v, bool required = false) {
    if (required) Required(field, !v.empty());
    Length(field, v, o_.max_name_bytes);
  }

  void Text(std::string_view field, const std::string& v) { Length(field, v, o_.max_text_bytes); }

  void Length(std::string_view field, const std::string& v, size_t max) {
    if (v.size() > max) {
      Fail(field, candor::v1::TOO_LONG,
           absl::StrCat("length ", v.size(), " bytes exceeds the limit of ", max));
    }
  }

  void Time(std::string_view field, bool has, const google::protobuf::Timestamp& ts,
            bool required = true) {
    if (!has) {
      if (required) Required(field, false);
      return;
    }
    if (ts.nanos() < 0 || ts.nanos() > 999'999'999 || ts.seconds() < 0 ||
        ts.seconds() > 253402300799) {
      Fail(field, candor::v1::INVALID_VALUE,
           absl::StrCat("not a valid timestamp (seconds=", ts.seconds(), ", nanos=", ts.nanos(),
                        ")"));
      return;
    }
    if (!o_.check_time_window) return;
    const absl::Time t = ToTime(ts);
    if (t < now_ - o_.max_age) {
      Fail(field, candor::v1::TOO_OLD,
           absl::StrCat(FormatRfc3339(t), " is older than the accepted window of ",
                        absl::FormatDuration(o_.max_age)));
    } else if (t > now_ + o_.max_future) {
      Fail(field, candor::v1::TOO_NEW,
           absl::StrCat(FormatRfc3339(t), " is more than ", absl::FormatDuration(o_.max_future),
                        " in the future"));
    }
  }

  void Range(std::string_view field, bool has, double v, double lo, double hi,
             std::string_view unit = "") {
    if (!has) return;
    if (!std::isfinite(v) || v < lo || v > hi) {
      Fail(field, candor::v1::OUT_OF_RANGE,
           absl::StrCat("value ", v, Sv(unit), " is outside ", lo, "–", hi, Sv(unit)));
    }
  }

  void Duration(std::string_view field, bool has, double v) {
    Range(field, has, v, 0.0, o_.max_duration_ms, " ms");
  }
  void Fraction(std::string_view field, bool has, double v) { Range(field, has, v, 0.0, 1.0); }
  void Count(std::string_view field, bool has, int64_t v, int64_t max) {
    if (has && (v < 0 || v > max)) {
      Fail(field, candor::v1::OUT_OF_RANGE, absl::StrCat("value ", v, " is outside 0–", max));
    }
  }

  void Enum(std::string_view field, int value, int max, bool required) {
    if (value == 0) {
      if (required) Required(field, false);
    } else if (value < 0 || value > max) {
      Fail(field, candor::v1::INVALID_VALUE, absl::StrCat("unknown enum value ", value));
    }
  }

  const ValidationOptions& options() const { return o_; }

 private:
  const ValidationOptions& o_;
  const absl::Time now_;
  const std::string prefix_;
  std::optional<ItemReject> reject_;
};

void CheckWhere(Checker& c, const candor::v1::InferenceEvent& e) {
  c.Name("provider", e.provider());
  c.Name("region", e.region());
  c.Name("zone", e.zone());
  c.Name("node", e.node());
  c.Name("replica", e.replica());
  c.Name("gpu", e.gpu());
  c.Name("route", e.route());
  c.Name("tenant", e.tenant());
  c.Name("priority", e.priority());
  c.Name("model", e.model());
  c.Name("model_version", e.model_version());
  c.Name("quantization", e.quantization());
  c.Name("release_track", e.release_track());
  if (e.model().empty() && e.provider().empty() && e.route().empty() && e.replica().empty() &&
      e.node().empty()) {
    c.Fail("model", candor::v1::MISSING_FIELD,
           "an event must name at least one of model, provider, route, replica, node");
  }
}

void CheckDependencies(Checker& c, const candor::v1::InferenceEvent& e) {
  const ValidationOptions& o = c.options();
  if (static_cast<size_t>(e.dependencies_size()) > o.max_dependencies) {
    c.Fail("dependencies", candor::v1::TOO_MANY,
           absl::StrCat(e.dependencies_size(), " dependency calls exceed the limit of ",
                        o.max_dependencies));
    return;
  }
  for (int i = 0; i < e.dependencies_size(); ++i) {
    const auto& d = e.dependencies(i);
    const std::string f = absl::StrCat("dependencies[", i, "].");
    c.Name(f + "name", d.name(), /*required=*/true);
    c.Duration(f + "latency_ms", true, d.latency_ms());
    c.Enum(f + "status", d.status(), candor::v1::Status_MAX, /*required=*/true);
  }
}

void CheckAttributes(Checker& c, const candor::v1::InferenceEvent& e) {
  const ValidationOptions& o = c.options();
  if (static_cast<size_t>(e.attributes_size()) > o.max_attributes) {
    c.Fail("attributes", candor::v1::TOO_MANY,
           absl::StrCat(e.attributes_size(), " attributes exceed the limit of ", o.max_attributes));
    return;
  }
  for (const auto& [k, v] : e.attributes()) {
    if (k.empty()) c.Fail("attributes", candor::v1::INVALID_VALUE, "empty attribute key");
    c.Length(absl::StrCat("attributes[", k.substr(0, 64), "]"), k, o.max_name_bytes);
    c.Length(absl::StrCat("attributes[", k.substr(0, 64), "]"), v, o.max_text_bytes);
  }
}

void CheckEvent(Checker& c, const candor::v1::InferenceEvent& e) {
  const ValidationOptions& o = c.options();
  c.Name("request_id", e.request_id(), /*required=*/true);
  c.Name("trace_id", e.trace_id());
  c.Time("timestamp", e.has_timestamp(), e.timestamp());
  c.Enum("status", e.status(), candor::v1::Status_MAX, /*required=*/true);
  CheckWhere(c, e);
  c.Name("error_class", e.error_class());
  if (e.http_status() != 0 && (e.http_status() < 100 || e.http_status() > 599)) {
    c.Fail("http_status", candor::v1::OUT_OF_RANGE,
           absl::StrCat("value ", e.http_status(), " is not 0 or 100–599"));
  }
  const bool needs_latency =
      e.status() != candor::v1::REJECTED && e.status() != candor::v1::CANCELLED;
  if (needs_latency && !e.has_latency_ms()) {
    c.Fail("latency_ms", candor::v1::MISSING_FIELD,
           "required unless status is REJECTED or CANCELLED");
  }
  c.Duration("queue_ms", e.has_queue_ms(), e.queue_ms());
  c.Duration("ttft_ms", e.has_ttft_ms(), e.ttft_ms());
  c.Duration("latency_ms", e.has_latency_ms(), e.latency_ms());
  if (e.has_ttft_ms() && e.has_latency_ms() && e.ttft_ms() > e.latency_ms() + 1.0) {
    c.Fail("ttft_ms", candor::v1::INVALID_VALUE,
           absl::StrCat("time to first token ", e.ttft_ms(), " ms exceeds latency_ms ",
                        e.latency_ms(), " ms"));
  }
  c.Count("input_tokens", e.has_input_tokens(), e.input_tokens(), o.max_tokens);
  c.Count("output_tokens", e.has_output_tokens(), e.output_tokens(), o.max_tokens);
  c.Count("max_output_tokens", e.has_max_output_tokens(), e.max_output_tokens(), o.max_tokens);
  c.Count("context_window", e.has_context_window(), e.context_window(), o.max_tokens);
  c.Count("truncated_input_tokens", e.has_truncated_input_tokens(), e.truncated_input_tokens(),
          o.max_tokens);
  c.Count("queue_depth", e.has_queue_depth(), e.queue_depth(), o.max_count);
  c.Count("running_requests", e.has_running_requests(), e.running_requests(), o.max_count);
  c.Fraction("kv_cache_usage", e.has_kv_cache_usage(), e.kv_cache_usage());
  c.Count("preemptions", e.has_preemptions(), e.preemptions(), o.max_count);
  c.Count("batch_size", e.has_batch_size(), e.batch_size(), o.max_count);
  if (e.fallback_tier() > 5) {
    c.Fail("fallback_tier", candor::v1::OUT_OF_RANGE,
           absl::StrCat("value ", e.fallback_tier(), " is outside 0–5"));
  }
  c.Name("fallback_reason", e.fallback_reason());
  c.Enum("circuit_state", e.circuit_state(), candor::v1::CircuitState_MAX, false);
  c.Enum("validation", e.validation(), candor::v1::Validation_MAX, false);
  c.Text("validation_error", e.validation_error());
  c.Fraction("quality_score", e.has_quality_score(), e.quality_score());
  CheckDependencies(c, e);
  CheckAttributes(c, e);
}

void CheckReplica(Checker& c, const candor::v1::ReplicaSample& s) {
  const ValidationOptions& o = c.options();
  c.Time("timestamp", s.has_timestamp(), s.timestamp());
  c.Name("replica", s.replica(), /*required=*/true);
  for (const auto& [field, value] : {std::pair{"provider", &s.provider()},
                                     {"region", &s.region()},
                                     {"zone", &s.zone()},
                                     {"node", &s.node()},
                                     {"gpu", &s.gpu()},
                                     {"model", &s.model()},
                                     {"model_version", &s.model_version()},
                                     {"quantization", &s.quantization()},
                                     {"release_track", &s.release_track()},
                                     {"engine", &s.engine()}}) {
    c.Name(field, *value);
  }
  c.Count("queue_depth", s.has_queue_depth(), s.queue_depth(), o.max_count);
  c.Count("running_requests", s.has_running_requests(), s.running_requests(), o.max_count);
  c.Fraction("kv_cache_usage", s.has_kv_cache_usage(), s.kv_cache_usage());
  constexpr int64_t kMaxTotal = INT64_MAX / 2;
  c.Count("preemptions_total", s.has_preemptions_total(), s.preemptions_total(), kMaxTotal);
  c.Count("prompt_tokens_total", s.has_prompt_tokens_total(), s.prompt_tokens_total(), kMaxTotal);
  c.Count("generation_tokens_total", s.has_generation_tokens_total(), s.generation_tokens_total(),
          kMaxTotal);
  c.Count("requests_finished_total", s.has_requests_finished_total(), s.requests_finished_total(),
          kMaxTotal);
  c.Fraction("gpu_utilization", s.has_gpu_utilization(), s.gpu_utilization());
  c.Fraction("gpu_memory_used_fraction", s.has_gpu_memory_used_fraction(),
             s.gpu_memory_used_fraction());
}

void CheckGpu(Checker& c, const candor::v1::GpuSample& s) {
  c.Time("timestamp", s.has_timestamp(), s.timestamp());
  c.Name("node", s.node(), /*required=*/true);
  c.Name("gpu", s.gpu(), /*required=*/true);
  c.Name("provider", s.provider());
  c.Name("region", s.region());
  c.Name("zone", s.zone());
  c.Range("sm_clock_mhz", s.has_sm_clock_mhz(), s.sm_clock_mhz(), 0, 10000, " MHz");
  c.Range("max_sm_clock_mhz", s.has_max_sm_clock_mhz(), s.max_sm_clock_mhz(), 0, 10000, " MHz");
  c.Range("temperature_c", s.has_temperature_c(), s.temperature_c(), -40, 150, " °C");
  c.Range("power_w", s.has_power_w(), s.power_w(), 0, 10000, " W");
  c.Range("power_limit_w", s.has_power_limit_w(), s.power_limit_w(), 0, 10000, " W");
  c.Fraction("utilization", s.has_utilization(), s.utilization());
  if (s.has_memory_used_bytes() && s.has_memory_total_bytes() &&
      s.memory_used_bytes() > s.memory_total_bytes()) {
    c.Fail("memory_used_bytes", candor::v1::INVALID_VALUE,
           absl::StrCat(s.memory_used_bytes(), " bytes used exceeds memory_total_bytes ",
                        s.memory_total_bytes()));
  }
}

void CheckKernels(Checker& c, const candor::v1::KernelSummary& k) {
  const ValidationOptions& o = c.options();
  c.Time("interval_start", k.has_interval_start(), k.interval_start());
  c.Time("interval_end", k.has_interval_end(), k.interval_end());
  if (c.reject()) return;
  const absl::Duration span = ToTime(k.interval_end()) - ToTime(k.interval_start());
  if (span <= absl::ZeroDuration() || span > o.max_kernel_interval) {
    c.Fail("interval_end", candor::v1::INVALID_VALUE,
           absl::StrCat("interval of ", absl::FormatDuration(span), " is not within (0, ",
                        absl::FormatDuration(o.max_kernel_interval), "]"));
  }
  c.Name("node", k.node(), /*required=*/true);
  c.Name("gpu", k.gpu(), /*required=*/true);
  c.Name("process_name", k.process_name());
  c.Name("provider", k.provider());
  c.Name("replica", k.replica());
  c.Name("model", k.model());
  c.Duration("kernel_busy_ms", true, k.kernel_busy_ms());
  c.Duration("sync_ms", true, k.sync_ms());
  c.Duration("overhead_ms", true, k.overhead_ms());
  if (k.copies_size() > 16) c.Fail("copies", candor::v1::TOO_MANY, "more than 16 copy entries");
  for (int i = 0; i < k.copies_size(); ++i) {
    c.Enum(absl::StrCat("copies[", i, "].kind"), k.copies(i).kind(), candor::v1::MemcpyKind_MAX,
           true);
    c.Duration(absl::StrCat("copies[", i, "].time_ms"), true, k.copies(i).time_ms());
  }
  if (static_cast<size_t>(k.top_kernels_size()) > o.max_top_kernels) {
    c.Fail("top_kernels", candor::v1::TOO_MANY,
           absl::StrCat(k.top_kernels_size(), " kernels exceed the limit of ", o.max_top_kernels));
  }
  for (int i = 0; i < k.top_kernels_size() && !c.reject(); ++i) {
    const auto& t = k.top_kernels(i);
    const std::string f = absl::StrCat("top_kernels[", i, "].");
    c.Required(f + "name", !t.name().empty());
    c.Text(f + "name", t.name());
    c.Duration(f + "total_ms", true, t.total_ms());
    c.Duration(f + "min_ms", true, t.min_ms());
    c.Duration(f + "max_ms", true, t.max_ms());
    if (t.min_ms() > t.max_ms()) c.Fail(f + "min_ms", candor::v1::INVALID_VALUE, "min > max");
  }
  if (static_cast<size_t>(k.request_ids_size()) > o.max_request_ids) {
    c.Fail(
        "request_ids", candor::v1::TOO_MANY,
        absl::StrCat(k.request_ids_size(), " request ids exceed the limit of ", o.max_request_ids));
  }
  for (int i = 0; i < k.request_ids_size(); ++i) {
    c.Name(absl::StrCat("request_ids[", i, "]"), k.request_ids(i));
  }
}

void CheckAnnotation(Checker& c, const candor::v1::Annotation& a) {
  c.Time("timestamp", a.has_timestamp(), a.timestamp());
  c.Required("entity", !a.entity().empty());
  c.Name("entity", a.entity());
  if (!a.entity().empty()) {
    absl::StatusOr<EntityId> id = EntityId::Parse(a.entity());
    if (!id.ok()) c.Fail("entity", candor::v1::INVALID_VALUE, std::string(id.status().message()));
  }
  c.Enum("kind", a.kind(), candor::v1::AnnotationKind_MAX, /*required=*/true);
  c.Text("message", a.message());
}

}  // namespace

std::optional<ItemReject> Validator::Validate(const IngestItem& item, uint32_t index,
                                              absl::Time now) const {
  std::optional<ItemReject> reject;
  switch (item.item_case()) {
    case IngestItem::kInferenceEvent: {
      Checker c(options_, now, "inference_event.");
      CheckEvent(c, item.inference_event());
      reject = c.reject();
      break;
    }
    case IngestItem::kReplicaSample: {
      Checker c(options_, now, "replica_sample.");
      CheckReplica(c, item.replica_sample());
      reject = c.reject();
      break;
    }
    case IngestItem::kGpuSample: {
      Checker c(options_, now, "gpu_sample.");
      CheckGpu(c, item.gpu_sample());
      reject = c.reject();
      break;
    }
    case IngestItem::kKernelSummary: {
      Checker c(options_, now, "kernel_summary.");
      CheckKernels(c, item.kernel_summary());
      reject = c.reject();
      break;
    }
    case IngestItem::kAnnotation: {
      Checker c(options_, now, "annotation.");
      CheckAnnotation(c, item.annotation());
      reject = c.reject();
      break;
    }
    case IngestItem::ITEM_NOT_SET: {
      ItemReject r;
      r.set_field("item");
      r.set_code(candor::v1::EMPTY_ITEM);
      r.set_reason("item has no member set");
      reject = std::move(r);
      break;
    }
  }
  if (reject) reject->set_index(index);
  return reject;
}

std::string_view RejectCodeLabel(candor::v1::RejectCode code) {
  switch (code) {
    case candor::v1::MISSING_FIELD:
      return "missing_field";
    case candor::v1::OUT_OF_RANGE:
      return "out_of_range";
    case candor::v1::TOO_OLD:
      return "too_old";
    case candor::v1::TOO_NEW:
      return "too_new";
    case candor::v1::TOO_LONG:
      return "too_long";
    case candor::v1::TOO_MANY:
      return "too_many";
    case candor::v1::INVALID_VALUE:
      return "invalid_value";
    case candor::v1::CARDINALITY_LIMIT:
      return "cardinality_limit";
    case candor::v1::EMPTY_ITEM:
      return "empty_item";
    default:
      return "unspecified";
  }
}

absl::Time ItemTime(const IngestItem& item) {
  switch (item.item_case()) {
    case IngestItem::kInferenceEvent:
      return ToTime(item.inference_event().timestamp());
    case IngestItem::kReplicaSample:
      return ToTime(item.replica_sample().timestamp());
    case IngestItem::kGpuSample:
      return ToTime(item.gpu_sample().timestamp());
    case IngestItem::kKernelSummary:
      return ToTime(item.kernel_summary().interval_end());
    case IngestItem::kAnnotation:
      return ToTime(item.annotation().timestamp());
    case IngestItem::ITEM_NOT_SET:
      break;
  }
  return absl::UnixEpoch();
}

}  // namespace candor::collector
