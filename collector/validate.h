// Validation of ingest items: every field of DESIGN §3 against its documented meaning and
// range. Each refused item yields one precise reject (index, field path, reason, code); valid
// items of the same batch are unaffected. Limits are options so operators can widen them.
//
// Thread safety: Validator is immutable after construction; Validate is safe from any thread.

#ifndef CANDOR_COLLECTOR_VALIDATE_H_
#define CANDOR_COLLECTOR_VALIDATE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"

namespace candor::collector {

struct ValidationOptions {
  // Oldest accepted item timestamp, relative to now. Default: 7 days.
  absl::Duration max_age = absl::Hours(24 * 7);
  // Furthest accepted timestamp in the future (producer clock skew). Default: 10 minutes.
  absl::Duration max_future = absl::Minutes(10);
  // When false, timestamps are not compared with now (replay of recorded streams).
  // Default: true.
  bool check_time_window = true;
  // Longest identifier/name string (request_id, model, provider, …), bytes. Default: 128.
  size_t max_name_bytes = 128;
  // Longest free-text string (validation_error, messages, kernel names), bytes. Default: 1024.
  size_t max_text_bytes = 1024;
  // Attribute entries per event. Default: 32. Keys ≤ max_name_bytes, values ≤ max_text_bytes.
  size_t max_attributes = 32;
  // Dependency calls per event. Default: 32.
  size_t max_dependencies = 32;
  // Longest duration in milliseconds. Default: 24 h.
  double max_duration_ms = 24.0 * 3600 * 1000;
  // Largest token count. Default: 100,000,000.
  int64_t max_tokens = 100'000'000;
  // Largest queue depth / running requests / batch size. Default: 1,000,000,000.
  int64_t max_count = 1'000'000'000;
  // KernelSummary limits: top kernels (Default: 64), request ids (Default: 1024), longest
  // interval (Default: 1 h).
  size_t max_top_kernels = 64;
  size_t max_request_ids = 1024;
  absl::Duration max_kernel_interval = absl::Hours(1);
};

class Validator {
 public:
  explicit Validator(ValidationOptions options) : options_(std::move(options)) {}

  // Checks `item` (the `index`-th of its batch) at wall time `now`. Returns nullopt if valid,
  // otherwise the first problem found as an ItemReject with index, field path (e.g.
  // "inference_event.kv_cache_usage"), a reason quoting the value and the limit, and a code.
  std::optional<candor::v1::ItemReject> Validate(const candor::v1::IngestItem& item, uint32_t index,
                                                 absl::Time now) const;

  const ValidationOptions& options() const { return options_; }

 private:
  ValidationOptions options_;
};

// The lowercase name of a reject code for metric labels: "missing_field", "out_of_range", …
std::string_view RejectCodeLabel(candor::v1::RejectCode code);

// The event time of an item: its timestamp (KernelSummary: interval_end).
absl::Time ItemTime(const candor::v1::IngestItem& item);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_VALIDATE_H_
