// candor_store_server: a process serving one SeriesStore over HTTP — the remote-write receiver
// (POST /api/v1/write) and the Prometheus query API — for the side-by-side benchmark and the
// Prometheus comparison test. The daemon wires the same handlers; this binary exists so the
// store can be measured alone.
//
//   candor_store_server --path DIR [--listen 127.0.0.1:0] [--threads 4] [--wal_sync 1]
//                       [--maintenance_s 5]
//
// Prints "listening on HOST:PORT" once serving. Extra routes for the benchmark:
//   GET  /bench/stats    store and receiver counters, disk usage (JSON)
//   POST /bench/compact  seal every head chunk and compact RocksDB fully, then the stats
// Stops cleanly on SIGTERM or SIGINT.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/remote_write.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/periodic_runner.h"
#include "common/time_util.h"
#include "exporters/http_server.h"
#include "exporters/prom_api.h"
#include "store/engine.h"
#include "store/series_store.h"

namespace {

std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) continue;
    a = a.substr(2);
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      flags[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (i + 1 < argc) {
      flags[a] = argv[++i];
    }
  }
  return flags;
}

std::string StatsJson(const candor::store::SeriesStore& store,
                      const candor::collector::RemoteWriteReceiver& rw) {
  const candor::store::StoreStats st = store.Stats();
  const candor::store::SeriesStore::DiskUsage u = store.Usage();
  const candor::collector::RemoteWriteStats r = rw.Stats();
  uint64_t rejected = 0;
  for (uint64_t x : st.rejected_total) rejected += x;
  return absl::StrCat(
      "{\"series\":", st.series, ",\"head_samples\":", st.head_samples,
      ",\"head_bytes\":", st.head_bytes, ",\"samples_appended\":", st.samples_appended_total,
      ",\"histograms_appended\":", st.histograms_appended_total, ",\"rejected\":", rejected,
      ",\"chunks_written\":", st.chunks_written_total, ",\"wal_syncs\":", st.wal_syncs_total,
      ",\"sst_bytes\":", u.sst_bytes, ",\"raw_sst_bytes\":", u.raw_sst_bytes,
      ",\"rollup_sst_bytes\":", u.rollup_sst_bytes, ",\"wal_bytes\":", u.wal_bytes,
      ",\"rocksdb_wal_bytes\":", u.rocksdb_wal_bytes, ",\"rw_requests\":", r.requests_total,
      ",\"rw_samples\":", r.samples_total, ",\"rw_rejected\":", r.rejected_samples_total,
      ",\"rw_bad_requests\":", r.bad_requests_total, "}");
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv);
  if (flags["path"].empty()) {
    std::fprintf(stderr, "usage: candor_store_server --path DIR [--listen 127.0.0.1:0]\n");
    return 2;
  }
  // Signals are taken synchronously by this thread; every thread started later inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  candor::RealClock clock;
  candor::store::SeriesStoreOptions options;
  options.path = flags["path"];
  if (flags.count("wal_sync")) options.wal_sync = flags["wal_sync"] != "0";
  auto store = candor::store::SeriesStore::Open(options, clock);
  if (!store.ok()) {
    std::fprintf(stderr, "open store: %s\n", store.status().ToString().c_str());
    return 1;
  }
  candor::store::QueryEngine engine(**store, clock);
  candor::exporters::PromApi api(**store, engine, clock);
  candor::collector::RemoteWriteReceiver rw(**store);

  std::vector<candor::exporters::HttpRoute> routes = api.Routes();
  routes.push_back({"POST", "/api/v1/write", false, rw.AsHandler()});
  candor::store::SeriesStore& s = **store;
  routes.push_back({"GET", "/bench/stats", false, [&](const candor::HttpRequest&) {
                      return candor::HttpResponse::Json(200, StatsJson(s, rw));
                    }});
  routes.push_back({"POST", "/bench/compact", false, [&](const candor::HttpRequest&) {
                      absl::Status st = s.SealAndCompact();
                      if (!st.ok())
                        return candor::HttpResponse::Json(500, candor::JsonQuote(st.ToString()));
                      return candor::HttpResponse::Json(200, StatsJson(s, rw));
                    }});
  routes.push_back({"GET", "/-/ready", false, [](const candor::HttpRequest&) {
                      return candor::HttpResponse::Text(200, "ready\n");
                    }});
  candor::exporters::HttpServerOptions http;
  http.listen_address = flags.count("listen") ? flags["listen"] : "127.0.0.1:0";
  http.num_threads = flags.count("threads") ? std::atoi(flags["threads"].c_str()) : 4;
  auto server = candor::exporters::HttpServer::Start(http, std::move(routes), nullptr, clock);
  if (!server.ok()) {
    std::fprintf(stderr, "http: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const int maintenance_s =
      flags.count("maintenance_s") ? std::atoi(flags["maintenance_s"].c_str()) : 5;
  candor::PeriodicRunner maintenance(clock, "store-maintenance", absl::Seconds(maintenance_s), [&] {
    absl::Status st = s.RunOnce();
    if (!st.ok()) CANDOR_LOG_ERROR("store", "maintenance failed", {{"error", st.ToString()}});
  });
  maintenance.Start();
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&sigs, &sig);
  maintenance.Stop();
  (*server)->Stop();
  std::printf("stopped on signal %d\n", sig);
  return 0;
}
