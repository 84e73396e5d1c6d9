// A streaming parser of the Prometheus text exposition format (0.0.4), tolerant of the
// OpenMetrics forms engines answer with: what vLLM, SGLang, TGI, Triton and dcgm-exporter
// serve on /metrics (see ../shared/fixtures/README.md for the quirks: colons in names,
// escaped label values, `+Inf`/`NaN`, summaries, counters with and without `_total`,
// `_created` series, blank lines, families without `# HELP`, a trailing `# EOF`,
// exemplars).
//
// Input is fed in chunks of any size as it arrives from the network; each complete sample
// line is handed to the callback at once, so a page is never held whole. Hostile input is
// bounded: a line longer than `max_line_bytes`, more than `max_labels` labels on one sample or
// more than `max_samples` samples is an error, as is any malformed line. Errors name the line
// number and the reason; after an error the parser refuses further input (a scrape either
// parses whole or is discarded, as Prometheus does).
//
// Thread safety: a parser is used by one thread at a time.

#ifndef CANDOR_COLLECTOR_PROM_TEXT_H_
#define CANDOR_COLLECTOR_PROM_TEXT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace candor::collector {

enum class PromType { kUntyped, kCounter, kGauge, kHistogram, kSummary, kInfo, kStateSet };

struct PromSample {
  std::string name;  // Full sample name, e.g. "vllm:request_success_total", "x_bucket".
  std::vector<std::pair<std::string, std::string>> labels;  // In page order, unescaped.
  double value = 0;
  std::optional<int64_t> timestamp_ms;
  // The family's declared type (from `# TYPE`, matched with the usual suffixes), or kUntyped.
  PromType type = PromType::kUntyped;

  // The value of label `name`, or nullopt.
  std::optional<std::string_view> Label(std::string_view label_name) const;
};

struct PromParserOptions {
  // Longest line, bytes. Default: 64 KiB.
  size_t max_line_bytes = 64u << 10;
  // Most labels on one sample. Default: 64.
  size_t max_labels = 64;
  // Most samples in one page. Default: 200,000.
  size_t max_samples = 200'000;
  // Most `# TYPE` families remembered. Default: 20,000.
  size_t max_families = 20'000;
};

class PromTextParser {
 public:
  using SampleFn = std::function<void(const PromSample&)>;
  PromTextParser(PromParserOptions options, SampleFn on_sample);

  // Parses the complete lines of `chunk` (a partial last line waits for the next chunk).
  // InvalidArgumentError "line N: reason" on malformed input; every call after an error
  // returns the same error.
  absl::Status Feed(std::string_view chunk);
  // Parses a final line without a newline and ends the page.
  absl::Status Finish();

  size_t samples() const { return samples_; }

 private:
  absl::Status ParseLine(std::string_view line);
  absl::Status ParseComment(std::string_view line);
  absl::Status ParseSample(std::string_view line);
  PromType TypeOf(std::string_view name) const;
  absl::Status Fail(std::string_view reason);

  const PromParserOptions options_;
  const SampleFn on_sample_;
  std::string partial_;
  int64_t line_number_ = 0;
  size_t samples_ = 0;
  bool eof_ = false;
  absl::Status error_;
  absl::flat_hash_map<std::string, PromType> types_;
  PromSample scratch_;
};

// Parses a whole page into samples (tests, fuzzing and small pages).
absl::StatusOr<std::vector<PromSample>> ParsePromText(std::string_view text,
                                                      const PromParserOptions& options = {});

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_PROM_TEXT_H_
