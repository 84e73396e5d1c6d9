// Synthetic prober: on an interval, per configured target, sends a known prompt to an
// OpenAI-compatible `/v1/chat/completions` endpoint with streaming on, measures the time to
// the first content token and to the end of the stream, checks the answer against the
// target's expectation (a regular expression, or a JSON-schema subset: type, properties,
// required, additionalProperties, items, enum, minLength/maxLength, minimum/maximum), and
// records the result as an `InferenceEvent` with `synthetic: true` and `priority: critical`
// through the BatchProcessor. A failing probe (transport error, HTTP error, timeout,
// malformed stream, or an answer that does not match) is recorded too: it is evidence for
// the critical path's state, never dropped.
//
// `RunOnce()` probes every target whose interval has elapsed on the Clock; a PeriodicRunner
// calls it in production, tests call it on a SimulatedClock.
//
// Metrics per target: candor_probe_success (1/0 for the last probe), candor_probe_ttft_seconds,
// candor_probe_duration_seconds, candor_probe_failures_total{reason}.
//
// Thread safety: RunOnce is called from one thread at a time.

#ifndef CANDOR_COLLECTOR_PROBER_H_
#define CANDOR_COLLECTOR_PROBER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "collector/batch_processor.h"
#include "collector/http_fetch.h"
#include "common/clock.h"
#include "common/metrics.h"

namespace candor::collector {

struct ProbeTarget {
  // Name in metrics, logs and request ids. Default: the URL.
  std::string name;
  // Base URL of the server ("http://10.0.0.7:8000"); `/v1/chat/completions` is appended
  // unless the URL already ends with it. Required.
  std::string url;
  // Model to ask for. Required.
  std::string model;
  // The user message sent. Default: asks for {"status": "ok"} as JSON.
  std::string prompt = "Reply with exactly this JSON object and nothing else: {\"status\": \"ok\"}";
  // The answer must contain a match of this RE2 expression. Default: "" (not checked).
  std::string expect_regex;
  // The answer must be JSON valid against this JSON-schema subset (JSON text). Default: "".
  std::string expect_json_schema;
  // Time between probes. Default: 60 s.
  absl::Duration interval = absl::Seconds(60);
  // Longest probe. Default: 30 s.
  absl::Duration timeout = absl::Seconds(30);
  // max_tokens sent with the request. Default: 64.
  int64_t max_tokens = 64;
  // Stamped on the recorded event. `route` defaults to "synthetic-probe".
  std::string provider, region, zone, node, replica, route, model_version;
  // Sent as `Authorization: Bearer …` when set.
  std::string bearer_token;
  // PEM CA bundle for an https server.
  std::string ca_file;
};

// What one probe observed (also returned to tests).
struct ProbeResult {
  candor::v1::InferenceEvent event;
  std::string output;  // The streamed answer, concatenated (at most 64 KiB kept).
};

class Prober {
 public:
  // InvalidArgumentError naming the target for a missing URL or model, an expression that does
  // not compile, a schema that is not JSON, or a non-positive interval/timeout. Every
  // reference must outlive the prober.
  static absl::StatusOr<std::unique_ptr<Prober>> Create(std::vector<ProbeTarget> targets,
                                                        BatchProcessor& processor,
                                                        HttpFetcher& fetcher,
                                                        MetricsRegistry& metrics, Clock& clock);
  ~Prober();

  // Probes every due target once and records the results. Returns how many probed.
  int RunOnce();

  // Probes target `index` now, records the event, and returns what was observed.
  ProbeResult ProbeNow(size_t index);

  size_t num_targets() const;

 private:
  struct Target;
  Prober(BatchProcessor& processor, HttpFetcher& fetcher, Clock& clock);
  ProbeResult Probe(Target& t);

  BatchProcessor& processor_;
  HttpFetcher& fetcher_;
  Clock& clock_;
  std::vector<std::unique_ptr<Target>> targets_;
  uint64_t sequence_ = 0;
};

// Checks JSON text `document` against the JSON-schema subset `schema`. Returns "" when valid,
// otherwise the first violation with its path ("$.status: expected string").
std::string CheckJsonSchema(const std::string& schema, const std::string& document);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_PROBER_H_
