#include "daemon/serve_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "collector/batch_processor.h"
#include "collector/http_fetch.h"
#include "collector/ingest_server.h"
#include "collector/kernel_series.h"
#include "collector/nvml_loader.h"
#include "collector/nvml_sampler.h"
#include "collector/prober.h"
#include "collector/remote_write.h"
#include "collector/scraper.h"
#include "common/bearer_auth.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/periodic_runner.h"
#include "daemon/command.h"
#include "daemon/config.h"
#include "daemon/live_detection.h"
#include "daemon/signal_series.h"
#include "daemon/signals.h"
#include "exporters/events_api.h"
#include "exporters/health_api.h"
#include "exporters/http_server.h"
#include "exporters/prom_api.h"
#include "exporters/prometheus_metrics.h"
#include "store/engine.h"
#include "store/event_log.h"
#include "store/series_store.h"

namespace candor::daemon {
namespace {

constexpr char kUsage[] =
    R"(usage: candor serve [--config FILE] [--OPTION=VALUE ...] [--print-config]

Runs the candor daemon: the gRPC Ingest service, live detection, the HTTP API (states, events,
transitions, the Prometheus query API, remote write) and /metrics, over the stores in
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

// The series store's and the remote-write receiver's statistics on /metrics, refreshed by
// Update() (counters advance by the difference since the last call).
class SeriesMetrics {
 public:
  SeriesMetrics(MetricsRegistry& m, const store::SeriesStore& series,
                const collector::RemoteWriteReceiver& remote_write)
      : series_(series),
        remote_write_(remote_write),
        series_count_(m.GetGauge("candor_series_store_series", "Series in the series store.")),
        head_bytes_(m.GetGauge("candor_series_store_head_bytes",
                               "Approximate memory held by the series store's head and index.")),
        appended_(m.GetCounter("candor_series_store_samples_appended_total",
                               "Samples (floats and histograms) appended to the series store.")),
        limit_rejects_(m.GetCounter("candor_series_store_series_limit_rejects_total",
                                    "New series refused by storage.series.max_series_per_metric.")),
        rw_requests_(
            m.GetCounter("candor_remote_write_requests_total", "Remote-write requests received.")),
        rw_bad_(m.GetCounter("candor_remote_write_bad_requests_total",
                             "Remote-write requests refused as malformed or invalid.")),
        rw_samples_(
            m.GetCounter("candor_remote_write_samples_total", "Samples stored from remote write.")),
        rw_rejected_(m.GetCounter("candor_remote_write_rejected_samples_total",
                                  "Remote-written samples not stored (any reason).")) {
    for (int r = 0; r < 6; ++r) {
      rejected_[r] = &m.GetCounter(
          "candor_series_store_rejected_samples_total", "Samples the series store refused.",
          {{"reason", store::RejectReasonName(static_cast<store::RejectReason>(r))}});
    }
  }

  void Update() {
    const store::StoreStats s = series_.Stats();
    const collector::RemoteWriteStats w = remote_write_.Stats();
    series_count_.Set(static_cast<double>(s.series));
    head_bytes_.Set(static_cast<double>(s.head_bytes));
    Advance(appended_, s.samples_appended_total + s.histograms_appended_total, last_.appended);
    Advance(limit_rejects_, s.series_limit_rejects_total, last_.limit_rejects);
    for (int r = 0; r < 6; ++r) Advance(*rejected_[r], s.rejected_total[r], last_.rejected[r]);
    Advance(rw_requests_, w.requests_total, last_.rw_requests);
    Advance(rw_bad_, w.bad_requests_total, last_.rw_bad);
    Advance(rw_samples_, w.samples_total, last_.rw_samples);
    Advance(rw_rejected_, w.rejected_samples_total, last_.rw_rejected);
  }

 private:
  static void Advance(Counter& c, uint64_t now, uint64_t& last) {
    if (now > last) c.Increment(static_cast<double>(now - last));
    last = now;
  }

  const store::SeriesStore& series_;
  const collector::RemoteWriteReceiver& remote_write_;
  Gauge& series_count_;
  Gauge& head_bytes_;
  Counter& appended_;
  Counter& limit_rejects_;
  Counter* rejected_[6];
  Counter& rw_requests_;
  Counter& rw_bad_;
  Counter& rw_samples_;
  Counter& rw_rejected_;
  struct {
    uint64_t appended = 0, limit_rejects = 0, rejected[6] = {}, rw_requests = 0, rw_bad = 0,
             rw_samples = 0, rw_rejected = 0;
  } last_;
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
  absl::StatusOr<std::unique_ptr<store::SeriesStore>> series =
      store::SeriesStore::Open(config.series, clock);
  if (!series.ok()) {
    CANDOR_LOG_ERROR("serve", "cannot open the series store",
                     {{"error", series.status().ToString()}});
    return 1;
  }
  store::QueryEngine engine(**series, clock);
  exporters::PrometheusMetrics metrics;
  metrics
      .GetGauge("candor_build_info", "candor's version; always 1.", {{"version", CANDOR_VERSION}})
      .Set(1);
  collector::BatchProcessor processor(config.ingest, **log, metrics, clock);
  // Detection: every durable item feeds the pipeline; transitions print on stdout and persist.
  // Every closed window's signals are kept as series (candor_signal_*) in the series store.
  SignalSeries signal_series(**series, &metrics);
  LiveDetectionOptions detection_options;
  detection_options.pipeline = config.pipeline;
  detection_options.windows = &signal_series;
  // KernelSummary items: series, and per-kernel duration baselines (hardware-degraded evidence).
  collector::KernelSeries kernel_series(**series, &metrics);
  detection_options.on_item = [&](const candor::v1::IngestItem& item) {
    kernel_series.OnItem(item);
  };
  LiveDetection detection(detection_options, **log, clock, &std::cout, &metrics);
  detection.Attach();
  // Validated when the configuration was loaded.
  const BearerAuthenticator auth = *BearerAuthenticator::Create(config.auth_tokens);
  Counter& http_auth_failures = metrics.GetCounter("candor_http_unauthenticated_requests_total",
                                                   "HTTP requests refused without a valid token.");
  auto guarded = [&](HttpHandler h) {
    return config.auth_http ? RequireBearer(auth, std::move(h), &http_auth_failures) : h;
  };

  collector::RemoteWriteReceiver remote_write(**series);
  const exporters::PromApi prom_api(**series, engine, clock);
  SeriesMetrics series_metrics(metrics, **series, remote_write);
  Readiness readiness;
  std::vector<exporters::HttpRoute> routes = {
      {"GET", "/-/healthy", false,
       [](const HttpRequest&) { return HttpResponse::Text(200, "candor is healthy\n"); }},
      {"GET", "/-/ready", false, [&](const HttpRequest& r) { return readiness.Handle(r); }},
      {"GET", "/metrics", false, guarded(metrics.Handler())},
      {"GET", "/api/v1/events", false, guarded(exporters::EventsHandler(**log))},
      {"GET", "/api/v1/transitions", false, guarded(exporters::TransitionsHandler(**log))},
      {"GET", "/api/v1/states", false, guarded(detection.StatesHandler())},
      {"GET", "/api/v1/health", false,
       guarded(exporters::HealthHandler(engine, clock, config.health))},
      {"GET", "/api/v1/kernels", false, guarded(kernel_series.Handler())},
      {"POST", "/api/v1/write", false, guarded(remote_write.AsHandler())},
  };
  // The Prometheus HTTP API (query, query_range, labels, series, …) over the series store.
  for (exporters::HttpRoute& r : prom_api.Routes()) {
    r.handler = guarded(std::move(r.handler));
    routes.push_back(std::move(r));
  }
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
  PeriodicRunner series_runner(clock, "series", config.series_maintenance_interval, [&] {
    if (const absl::Status s = signal_series.Flush(); !s.ok()) {
      CANDOR_LOG_WARN("serve", "writing derived signals failed", {{"error", s.ToString()}});
    }
    if (const absl::Status s = kernel_series.Flush(); !s.ok()) {
      CANDOR_LOG_WARN("serve", "writing kernel series failed", {{"error", s.ToString()}});
    }
    if (const absl::Status s = (*series)->RunOnce(); !s.ok()) {
      CANDOR_LOG_WARN("serve", "series store maintenance failed", {{"error", s.ToString()}});
    }
    series_metrics.Update();
  });
  series_runner.Start();

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
  // GPU health of this host from NVML, through the same validation and store as ingest.
  std::unique_ptr<collector::NvmlSampler> nvml;
  if (config.nvml_enabled) {
    collector::NvmlSamplerOptions nvml_options = config.nvml;
    if (nvml_options.node.empty()) {
      char host[256] = {};
      gethostname(host, sizeof(host) - 1);
      nvml_options.node = host;
    }
    nvml = std::make_unique<collector::NvmlSampler>(clock, nvml_options,
                                                    collector::LoadNvml(config.nvml_library));
    if (!nvml->available()) {
      CANDOR_LOG_WARN("serve", "NVML is unavailable; no GPU samples from this host",
                      {{"reason", nvml->status_message()}});
    }
  }
  Counter& nvml_failures = metrics.GetCounter("candor_nvml_sample_failures_total",
                                              "NVML sampling runs that produced no GPU samples.");
  auto sample_gpus = [&] {
    absl::StatusOr<std::vector<candor::v1::GpuSample>> samples = nvml->RunOnce();
    if (!samples.ok()) {
      nvml_failures.Increment();
      return;
    }
    candor::v1::IngestBatch batch;
    for (auto& g : *samples) *batch.add_items()->mutable_gpu_sample() = std::move(g);
    const candor::v1::IngestAck ack = processor.Process(batch);
    if (ack.code() != 0 || ack.rejects_size() > 0) {
      nvml_failures.Increment();
      CANDOR_LOG_WARN("serve", "GPU samples not stored",
                      {{"error", ack.message()}, {"rejects", absl::StrCat(ack.rejects_size())}});
    }
  };
  PeriodicRunner nvml_runner(clock, "nvml", config.nvml_interval, sample_gpus);
  if (nvml != nullptr && nvml->available()) {
    sample_gpus();  // The first samples are stored before candor reports ready.
    nvml_runner.Start();
  }
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
  nvml_runner.Stop();
  (*ingest)->Shutdown(config.shutdown_grace);
  detection.Detach();
  detection_runner.Stop();
  if (const absl::Status s = detection.Finish(); !s.ok()) {
    CANDOR_LOG_WARN("serve", "persisting transitions failed", {{"error", s.ToString()}});
  }
  retention.Stop();
  (*http)->Stop();
  series_runner.Stop();
  if (const absl::Status s = signal_series.Flush(); !s.ok()) {
    CANDOR_LOG_WARN("serve", "writing derived signals failed", {{"error", s.ToString()}});
  }
  if (const absl::Status s = kernel_series.Flush(); !s.ok()) {
    CANDOR_LOG_WARN("serve", "writing kernel series failed", {{"error", s.ToString()}});
  }
  series->reset();
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
