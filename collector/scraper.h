// Scraper: reads serving engines' and GPU exporters' /metrics pages on an interval and feeds
// them through the BatchProcessor as ReplicaSample/GpuSample items, like any other batch
// (collector/engine_profiles.h has the mapping, collector/prom_text.h the parser).
//
// `RunOnce()` scrapes every target whose interval has elapsed on the Clock and returns; a
// PeriodicRunner calls it in production, tests call it directly on a SimulatedClock. A page
// that fails (connection, timeout, HTTP status, parse error, oversize) is counted and logged
// and produces nothing; the target is tried again at its next interval.
//
// Metrics, per target name: candor_scrape_up (1 when the last scrape worked),
// candor_scrape_duration_seconds, candor_scrape_samples (samples on the last page),
// candor_scrape_failures_total, candor_scrape_counter_resets_total.
//
// Thread safety: RunOnce is called from one thread at a time.

#ifndef CANDOR_COLLECTOR_SCRAPER_H_
#define CANDOR_COLLECTOR_SCRAPER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/batch_processor.h"
#include "collector/engine_profiles.h"
#include "collector/http_fetch.h"
#include "collector/prom_text.h"
#include "common/clock.h"
#include "common/metrics.h"

namespace candor::collector {

struct ScrapeTarget {
  // Name in metrics and logs. Default: the URL.
  std::string name;
  // The page, e.g. "http://10.0.0.7:8000/metrics". Required.
  std::string url;
  // vllm, sglang, tgi, triton or dcgm; empty: detected from the page's metric prefixes.
  std::string engine;
  // Time between scrapes. Default: 15 s.
  absl::Duration interval = absl::Seconds(15);
  // Longest scrape. Default: 10 s.
  absl::Duration timeout = absl::Seconds(10);
  // Stamped on the samples. `replica` defaults to the URL's host:port, `node` to its host.
  std::string provider, region, zone, node, replica, gpu, model, model_version;
  // Sent as `Authorization: Bearer …` when set.
  std::string bearer_token;
  // PEM CA bundle for an https target.
  std::string ca_file;
};

struct ScraperOptions {
  std::vector<ScrapeTarget> targets;
  // Largest page, bytes. Default: 16 MiB.
  size_t max_page_bytes = 16u << 20;
  PromParserOptions parser;
};

class Scraper {
 public:
  // InvalidArgumentError naming the target for a missing or malformed URL, an unknown engine
  // or a non-positive interval/timeout. Every reference must outlive the scraper.
  static absl::StatusOr<std::unique_ptr<Scraper>> Create(ScraperOptions options,
                                                         BatchProcessor& processor,
                                                         HttpFetcher& fetcher,
                                                         MetricsRegistry& metrics, Clock& clock);

  // Scrapes every due target once. Returns how many were scraped.
  int RunOnce();

  // Scrapes target `index` now and returns the ack of the batch it produced.
  absl::StatusOr<candor::v1::IngestAck> ScrapeNow(size_t index);

  size_t num_targets() const { return targets_.size(); }

 private:
  struct Target {
    ScrapeTarget config;
    std::optional<Engine> engine;
    absl::Time next_due = absl::InfinitePast();
    CounterTracker counters;
    Gauge* up = nullptr;
    Gauge* duration = nullptr;
    Gauge* samples = nullptr;
    Counter* failures = nullptr;
    Counter* resets = nullptr;
  };
  Scraper(BatchProcessor& processor, HttpFetcher& fetcher, Clock& clock, ScraperOptions options)
      : processor_(processor), fetcher_(fetcher), clock_(clock), options_(std::move(options)) {}

  absl::StatusOr<candor::v1::IngestAck> Scrape(Target& t);

  BatchProcessor& processor_;
  HttpFetcher& fetcher_;
  Clock& clock_;
  ScraperOptions options_;
  std::vector<std::unique_ptr<Target>> targets_;
};

// "host:port" of an http(s) URL, or "" if it has none.
std::string UrlHostPort(std::string_view url);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_SCRAPER_H_
