#include "daemon/serve_command.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "collector/batch_processor.h"
#include "collector/http_fetch.h"
#include "collector/ingest_server.h"
#include "collector/prober.h"
#include "collector/scraper.h"
#include "common/bearer_auth.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/periodic_runner.h"
#include "daemon/command.h"
#include "daemon/config.h"
#include "daemon/live_detection.h"
#include "daemon/signals.h"
#include "exporters/events_api.h"
#include "exporters/http_server.h"
#include "exporters/prometheus_metrics.h"
#include "store/event_log.h"

namespace candor::daemon {
namespace {

constexpr char kUsage[] =
    R"(usage: candor serve [--config FILE] [--OPTION=VALUE ...] [--print-config]

Runs the candor daemon: the gRPC Ingest service, the HTTP API and /metrics, over the store in
--storage.path. With no configuration it runs on embedded defaults: data in ./candor-data,
gRPC on 127.0.0.1:4770, HTTP on 127.0.0.1:9470.

  --config FILE                YAML configuration (see daemon/candor.example.yaml)
  --storage.path DIR           data directory
  --grpc.listen-address H:P    gRPC listen address (port 0 picks a free port)
  --http.listen-address H:P    HTTP listen address (port 0 picks a free port)
  --log.level LEVEL            debug | info | warn | error
  --log.format FORMAT          logfmt | json
  --print-config               print every option with its default and documentation, exit

Every option of the configuration file is also a flag: `grpc.max_queued_batches: 64` is
--grpc.max-queued-batches=64. SIGINT or SIGTERM shuts down cleanly: in-flight batches are
acknowledged, nothing acknowledged is lost.
)";

// What /-/ready reports: ready once every component is up, not ready while shutting down.
class Readiness {
 public:
  void SetServing(bool v) { serving_.store(v); }
  HttpResponse Handle(const HttpRequest&) const {
    if (!serving_.load()) return HttpResponse::Text(503, "candor is not ready\n");
    return HttpResponse::Text(200, "candor is ready\n");
  }

 private:
  std::atomic<bool> serving_{false};
};

int Serve(const Config& config) {
  RealClock clock;
  std::error_code ec;
  std::filesystem::create_directories(config.storage_path, ec);
  if (ec) {
    CANDOR_LOG_ERROR("serve", "cannot create the data directory",
                     {{"path", config.storage_path}, {"error", ec.message()}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<store::EventLog>> log =
      store::EventLog::Open(config.events, clock);
  if (!log.ok()) {
    CANDOR_LOG_ERROR("serve", "cannot open the event log", {{"error", log.status().ToString()}});
    return 1;
  }
  exporters::PrometheusMetrics metrics;
  metrics
      .GetGauge("candor_build_info", "candor's version; always 1.", {{"version", CANDOR_VERSION}})
      .Set(1);
  collector::BatchProcessor processor(config.ingest, **log, metrics, clock);
  // Detection: every durable item feeds the pipeline; transitions print on stdout and persist.
  LiveDetectionOptions detection_options;
  detection_options.pipeline = config.pipeline;
  LiveDetection detection(detection_options, **log, clock, &std::cout, &metrics);
  detection.Attach();
  // Validated when the configuration was loaded.
  const BearerAuthenticator auth = *BearerAuthenticator::Create(config.auth_tokens);
  Counter& http_auth_failures = metrics.GetCounter("candor_http_unauthenticated_requests_total",
                                                   "HTTP requests refused without a valid token.");
  auto guarded = [&](HttpHandler h) {
    return config.auth_http ? RequireBearer(auth, std::move(h), &http_auth_failures) : h;
  };

  Readiness readiness;
  std::vector<exporters::HttpRoute> routes = {
      {"GET", "/-/healthy", false,
       [](const HttpRequest&) { return HttpResponse::Text(200, "candor is healthy\n"); }},
      {"GET", "/-/ready", false, [&](const HttpRequest& r) { return readiness.Handle(r); }},
      {"GET", "/metrics", false, guarded(metrics.Handler())},
      {"GET", "/api/v1/events", false, guarded(exporters::EventsHandler(**log))},
      {"GET", "/api/v1/transitions", false, guarded(exporters::TransitionsHandler(**log))},
      {"GET", "/api/v1/states", false, guarded(detection.StatesHandler())},
  };
  absl::StatusOr<std::unique_ptr<exporters::HttpServer>> http =
      exporters::HttpServer::Start(config.http, std::move(routes), &metrics, clock);
  if (!http.ok()) {
    CANDOR_LOG_ERROR("serve", "cannot start HTTP", {{"error", http.status().ToString()}});
    return 1;
  }
  collector::IngestServerOptions grpc_options = config.grpc;
  grpc_options.auth = &auth;
  absl::StatusOr<std::unique_ptr<collector::IngestServer>> ingest =
      collector::IngestServer::Start(grpc_options, processor, metrics, clock);
  if (!ingest.ok()) {
    CANDOR_LOG_ERROR("serve", "cannot start gRPC", {{"error", ingest.status().ToString()}});
    return 1;
  }
  PeriodicRunner retention(clock, "retention", config.retention_interval, [&] {
    absl::StatusOr<int> dropped = (*log)->RunRetention();
    if (!dropped.ok()) {
      CANDOR_LOG_WARN("serve", "retention failed", {{"error", dropped.status().ToString()}});
    }
  });
  retention.Start();
  PeriodicRunner detection_runner(clock, "detection", absl::Seconds(1), [&] {
    const absl::Status s = detection.RunOnce();
    if (!s.ok())
      CANDOR_LOG_WARN("serve", "persisting transitions failed", {{"error", s.ToString()}});
  });
  detection_runner.Start();

  collector::HttpFetcher fetcher(clock);
  absl::StatusOr<std::unique_ptr<collector::Scraper>> scraper =
      collector::Scraper::Create(config.scrape, processor, fetcher, metrics, clock);
  absl::StatusOr<std::unique_ptr<collector::Prober>> prober =
      collector::Prober::Create(config.probes, processor, fetcher, metrics, clock);
  for (const absl::Status& st : {scraper.status(), prober.status()}) {
    if (!st.ok()) {
      CANDOR_LOG_ERROR("serve", "invalid scrape or probe target", {{"error", st.ToString()}});
      return 1;
    }
  }
  // Each runner wakes every second and does what is due, so targets keep their own intervals.
  PeriodicRunner scrape_runner(clock, "scrape", absl::Seconds(1), [&] { (*scraper)->RunOnce(); });
  PeriodicRunner probe_runner(clock, "probe", absl::Seconds(1), [&] { (*prober)->RunOnce(); });
  if ((*scraper)->num_targets() > 0) scrape_runner.Start();
  if ((*prober)->num_targets() > 0) probe_runner.Start();
  readiness.SetServing(true);
  std::cout << "candor: ingest grpc://" << (*ingest)->address() << "  states http://"
            << (*http)->address() << "/api/v1/states  transitions http://" << (*http)->address()
            << "/api/v1/transitions  metrics http://" << (*http)->address() << "/metrics"
            << std::endl;
  CANDOR_LOG_INFO("serve", "candor is serving",
                  {{"grpc", (*ingest)->address()},
                   {"http", (*http)->address()},
                   {"data", config.storage_path},
                   {"auth", auth.enabled() ? "bearer" : "off"},
                   {"grpc_tls", config.grpc.tls.cert_file.empty() ? "off" : "on"},
                   {"version", CANDOR_VERSION}});

  const int sig = WaitForShutdownSignal();
  CANDOR_LOG_INFO("serve", "shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  readiness.SetServing(false);
  scrape_runner.Stop();
  probe_runner.Stop();
  (*ingest)->Shutdown(config.shutdown_grace);
  detection.Detach();
  detection_runner.Stop();
  if (const absl::Status s = detection.Finish(); !s.ok()) {
    CANDOR_LOG_WARN("serve", "persisting transitions failed", {{"error", s.ToString()}});
  }
  retention.Stop();
  (*http)->Stop();
  const store::EventLogStats stats = (*log)->Stats();
  log->reset();
  CANDOR_LOG_INFO("serve", "stopped", {{"last_seq", stats.last_seq}});
  return 0;
}

}  // namespace

int RunServeCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, {"--print-config"});
  if (!parsed.ok()) {
    std::cerr << "candor serve: " << parsed.status().message() << "\n" << kUsage;
    return 2;
  }
  if (parsed->help) {
    std::cout << kUsage;
    return 0;
  }
  if (!TakeFlag(*parsed, "--print-config").empty()) {
    std::cout << DescribeConfig();
    return 0;
  }
  if (!parsed->positional.empty()) {
    std::cerr << "candor serve: unexpected argument \"" << parsed->positional[0] << "\"\n";
    return 2;
  }
  const std::string config_path = TakeFlag(*parsed, "--config");
  absl::StatusOr<Config> config = LoadConfig(config_path, parsed->flags);
  if (!config.ok()) {
    std::cerr << "candor serve: " << config.status().message() << "\n";
    return 2;
  }
  ConfigureLogging(config->log_level, config->log_format);
  BlockShutdownSignals();
  return Serve(*config);
}

}  // namespace candor::daemon
