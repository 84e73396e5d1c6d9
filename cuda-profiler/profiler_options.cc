#include "cuda-profiler/profiler_options.h"

#include <cstdint>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "cuda-profiler/text_util.h"

namespace candor::cuda_profiler {
namespace {

constexpr size_t kMaxLabelBytes = 128;

class EnvReader {
 public:
  explicit EnvReader(const std::function<const char*(const char*)>& getenv) : getenv_(getenv) {}

  // The integer in `name`, `fallback` when unset; an error when malformed or outside [lo, hi].
  absl::StatusOr<int64_t> Int(const char* name, int64_t fallback, int64_t lo, int64_t hi) const {
    const char* v = getenv_(name);
    if (v == nullptr) return fallback;
    int64_t out = 0;
    if (!absl::SimpleAtoi(v, &out) || out < lo || out > hi) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, "=\"", v, "\" must be an integer in ", lo, "..", hi));
    }
    return out;
  }

  absl::StatusOr<bool> Flag(const char* name) const {
    const char* v = getenv_(name);
    if (v == nullptr) return false;
    const std::string_view s(v);
    if (s == "1" || s == "true") return true;
    if (s == "0" || s == "false" || s.empty()) return false;
    return absl::InvalidArgumentError(absl::StrCat(name, "=\"", v, "\" must be 0 or 1"));
  }

  // A label: valid UTF-8 without control characters, at most kMaxLabelBytes.
  absl::StatusOr<std::string> Label(const char* name) const {
    const char* v = getenv_(name);
    if (v == nullptr) return std::string();
    const std::string_view s(v);
    if (s.size() > kMaxLabelBytes || SanitizeText(s, kMaxLabelBytes) != s) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be valid UTF-8 without control characters, at most ",
                       kMaxLabelBytes, " bytes"));
    }
    return std::string(s);
  }

  const char* Raw(const char* name) const { return getenv_(name); }

 private:
  const std::function<const char*(const char*)>& getenv_;
};

}  // namespace

absl::StatusOr<ProfilerOptions> ProfilerOptionsFromEnv(
    const std::function<const char*(const char*)>& getenv) {
  const EnvReader env(getenv);
  ProfilerOptions o;
  CANDOR_ASSIGN_OR_RETURN(o.disabled, env.Flag("CANDOR_CUPTI_DISABLE"));
  if (const char* ep = env.Raw("CANDOR_CUPTI_ENDPOINT")) {
    const std::string_view s(ep);
    if (s == "none") {
      o.endpoint.clear();
    } else if (s.empty() || s.size() > 256 || s.find_first_of(" \t\n") != std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("CANDOR_CUPTI_ENDPOINT=\"", ep, "\" must be host:port or \"none\""));
    } else {
      o.endpoint = std::string(s);
    }
  }
  if (const char* dump = env.Raw("CANDOR_CUPTI_DUMP")) o.dump_path = dump;
  CANDOR_ASSIGN_OR_RETURN(o.node, env.Label("CANDOR_CUPTI_NODE"));
  CANDOR_ASSIGN_OR_RETURN(o.provider, env.Label("CANDOR_CUPTI_PROVIDER"));
  CANDOR_ASSIGN_OR_RETURN(o.replica, env.Label("CANDOR_CUPTI_REPLICA"));
  CANDOR_ASSIGN_OR_RETURN(o.model, env.Label("CANDOR_CUPTI_MODEL"));
  CANDOR_ASSIGN_OR_RETURN(o.graph_trace, env.Flag("CANDOR_CUPTI_GRAPH_TRACE"));

  CANDOR_ASSIGN_OR_RETURN(const int64_t interval_s,
                          env.Int("CANDOR_CUPTI_INTERVAL_S", 10, 1, 3600));
  CANDOR_ASSIGN_OR_RETURN(const int64_t flush_ms,
                          env.Int("CANDOR_CUPTI_FLUSH_MS", 1000, 10, 60000));
  CANDOR_ASSIGN_OR_RETURN(const int64_t lateness_s,
                          env.Int("CANDOR_CUPTI_LATENESS_S", 10, 0, 3600));
  CANDOR_ASSIGN_OR_RETURN(const int64_t buffer_kb,
                          env.Int("CANDOR_CUPTI_BUFFER_KB", 4096, 64, 65536));
  CANDOR_ASSIGN_OR_RETURN(const int64_t cap_mb,
                          env.Int("CANDOR_CUPTI_MEMORY_CAP_MB", 64, 1, 65536));
  CANDOR_ASSIGN_OR_RETURN(const int64_t queue, env.Int("CANDOR_CUPTI_QUEUE", 4096, 1, 1000000));

  o.aggregator.interval = absl::Seconds(interval_s);
  o.aggregator.allowed_lateness = absl::Seconds(lateness_s);
  o.flush_period = absl::Milliseconds(flush_ms);
  o.pipeline.buffer_bytes = static_cast<size_t>(buffer_kb) << 10;
  o.pipeline.memory_cap_bytes = static_cast<size_t>(cap_mb) << 20;
  o.shipper.queue_capacity = static_cast<size_t>(queue);
  if (o.pipeline.memory_cap_bytes < o.pipeline.buffer_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("CANDOR_CUPTI_MEMORY_CAP_MB=", cap_mb,
                                                   " must hold at least one buffer of ", buffer_kb,
                                                   " KiB"));
  }
  CANDOR_RETURN_IF_ERROR(ValidateAggregatorOptions(o.aggregator));
  CANDOR_RETURN_IF_ERROR(ValidatePipelineOptions(o.pipeline));
  CANDOR_RETURN_IF_ERROR(ValidateShipperOptions(o.shipper));
  return o;
}

}  // namespace candor::cuda_profiler
