// candor's configuration: every option of `candor serve`, loaded from embedded defaults, then a
// YAML file, then command-line flags (later sources win).
//
// Options are declared once in a table (path, type, default, documentation), so:
//   * an unknown key or a bad value is a start-up error naming the key and the line;
//   * every option is also a flag: `grpc.listen_address` is `--grpc.listen-address=…`;
//   * `candor serve --print-config` prints every option with its documentation, and the
//     shipped `daemon/candor.example.yaml` is checked against the table in a test.
//
// A few options are lists of mappings (`auth.tokens`, `scrape.targets`, `probe.targets`);
// they are set in the file only, and an unknown key or bad value inside an item is an error
// naming the list, the key and the line.
//
// Value syntax: durations as Prometheus writes them (`250ms`, `30s`, `5m`, `2h`, `7d`, `1w`);
// byte sizes as integers with an optional `KiB`/`MiB`/`GiB` suffix; booleans `true`/`false`.

#ifndef CANDOR_DAEMON_CONFIG_H_
#define CANDOR_DAEMON_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/batch_processor.h"
#include "collector/ingest_server.h"
#include "collector/nvml_sampler.h"
#include "collector/pipeline.h"
#include "collector/prober.h"
#include "collector/scraper.h"
#include "common/bearer_auth.h"
#include "common/log.h"
#include "exporters/health_api.h"
#include "exporters/http_server.h"
#include "store/event_log.h"
#include "store/series_store.h"

namespace candor::daemon {

struct Config {
  // Root of candor's data; the event log lives in <path>/events.
  std::string storage_path = "./candor-data";
  store::EventLogOptions events;
  // The series store in <path>/tsdb: derived signals and remote-written series.
  store::SeriesStoreOptions series;
  // How often the series store seals idle chunks, builds rollups and applies retention.
  absl::Duration series_maintenance_interval = absl::Seconds(10);
  collector::IngestServerOptions grpc;
  exporters::HttpServerOptions http;
  collector::BatchProcessorOptions ingest;
  // The detection pipeline (windows, lateness, state-machine dwell), shared with replay.
  collector::PipelineOptions pipeline;
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;
  // How long shutdown waits for in-flight batches to be acknowledged.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // How often retention runs.
  absl::Duration retention_interval = absl::Hours(1);
  // Bearer tokens of the clients allowed in; empty: no authentication.
  std::vector<BearerToken> auth_tokens;
  // With tokens configured, whether the HTTP API and /metrics require one too
  // (/-/healthy and /-/ready never do).
  bool auth_http = true;
  // Engine /metrics pages to scrape.
  collector::ScraperOptions scrape;
  // Synthetic probe targets.
  std::vector<collector::ProbeTarget> probes;
  // GPU health of this host from NVML, sampled into GpuSample items.
  bool nvml_enabled = false;
  absl::Duration nvml_interval = absl::Seconds(5);
  std::string nvml_library = "libnvidia-ml.so.1";
  collector::NvmlSamplerOptions nvml;
  // Objectives /api/v1/health checks each entity against.
  exporters::HealthObjectives health;
};

// Loads the configuration: defaults, then `yaml_path` (if non-empty), then `flags`
// ("--key=value" or "--key value" pairs, already split; "--config" is handled by the caller).
// InvalidArgumentError naming the key (and the YAML line) for unknown keys, bad values and
// inconsistent settings; NotFoundError if the file does not exist.
absl::StatusOr<Config> LoadConfig(const std::string& yaml_path,
                                  const std::vector<std::pair<std::string, std::string>>& flags);

// Same, from YAML text (for tests).
absl::StatusOr<Config> LoadConfigFromString(
    const std::string& yaml_text, const std::vector<std::pair<std::string, std::string>>& flags);

// Every option as a commented YAML document with its default value.
std::string DescribeConfig();

// The dotted keys of every option ("grpc.listen_address", …).
std::vector<std::string> ConfigKeys();

// Every option of `config` as (dotted key, value in configuration syntax).
std::vector<std::pair<std::string, std::string>> ConfigValues(const Config& config);

// Parses "250ms", "30s", "5m", "2h", "7d", "1w" (and combinations like "1h30m").
absl::StatusOr<absl::Duration> ParseDuration(std::string_view text);
// Parses "1048576", "64KiB", "16MiB", "2GiB".
absl::StatusOr<size_t> ParseByteSize(std::string_view text);

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_CONFIG_H_
