// candor_query_bench: times the Grafana-style query set against a Prometheus-compatible HTTP
// API on 127.0.0.1 — the same URLs for candor_store_server and for Prometheus.
//
//   candor_query_bench --port P --start_ms S --end_ms E --set gauges|counters [--repeat 5]
//                      [--step 60]
//
// Prints one line per query: QUERY name=… best_ms=… median_ms=… bytes=… series=… status=…
// (`series` counts "metric" objects in the reply, a cross-check that both stores answered
// alike).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/store/rw_client.h"
#include "common/clock.h"

namespace {

struct Query {
  std::string name;
  std::string target;
};

std::string Range(const std::string& q, int64_t start, int64_t end, int64_t step) {
  return absl::StrCat("/api/v1/query_range?query=", candor::bench::UrlEncode(q),
                      "&start=", start / 1000, "&end=", end / 1000, "&step=", step);
}

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 1; i + 1 < argc; i += 2) f[std::string(argv[i]).substr(2)] = argv[i + 1];
  const int port = std::atoi(f["port"].c_str());
  const int64_t start = std::atoll(f["start_ms"].c_str());
  const int64_t end = std::atoll(f["end_ms"].c_str());
  const int repeat = f.count("repeat") ? std::atoi(f["repeat"].c_str()) : 5;
  const int64_t step = f.count("step") ? std::atoll(f["step"].c_str()) : 60;
  const std::string set = f.count("set") ? f["set"] : "gauges";
  const pid_t server_pid =
      f.count("server_pid") ? static_cast<pid_t>(std::atoi(f["server_pid"].c_str())) : 0;
  if (port == 0 || start == 0 || end <= start) {
    std::fprintf(
        stderr,
        "usage: candor_query_bench --port P --start_ms S --end_ms E --set gauges|counters\n");
    return 2;
  }
  std::vector<Query> queries = {
      {"buildinfo", "/api/v1/status/buildinfo"},
      {"query_1+1", "/api/v1/query?query=1%2B1"},
      {"labels", "/api/v1/labels"},
      {"label_model_values", "/api/v1/label/model/values"},
      {"metadata", "/api/v1/metadata"},
      {"series_match", absl::StrCat("/api/v1/series?match[]=",
                                    candor::bench::UrlEncode("{__name__=~\"inference_.*\"}"))},
  };
  if (set == "gauges") {
    queries.push_back(
        {"avg_over_time_5m", Range("avg_over_time(inference_ttft_seconds[5m])", start, end, step)});
    queries.push_back(
        {"sum_by_model_avg_over_time",
         Range("sum by (model) (avg_over_time(inference_e2e_seconds{stat=\"p99\"}[5m]))", start,
               end, step)});
    queries.push_back(
        {"max_by_instance_max_over_time",
         Range("max by (instance) (max_over_time(inference_e2e_seconds[10m]))", start, end, step)});
    queries.push_back(
        {"quantile_over_time_p99_1h",
         Range("quantile_over_time(0.99, inference_e2e_seconds[1h])", start, end, step)});
  } else {
    queries.push_back({"rate_5m", Range("rate(inference_requests_total[5m])", start, end, step)});
    queries.push_back(
        {"sum_by_model_rate",
         Range("sum by (model) (rate(inference_requests_total[5m]))", start, end, step)});
    queries.push_back({"sum_by_model_instance_increase_1h",
                       Range("sum by (model, instance) (increase(inference_requests_total[1h]))",
                             start, end, step)});
  }
  candor::RealClock clock;
  auto conn = candor::bench::HttpConnection::Connect(port);
  if (!conn.ok()) {
    std::fprintf(stderr, "%s\n", conn.status().ToString().c_str());
    return 1;
  }
  int failures = 0;
  for (const Query& q : queries) {
    std::vector<double> ms;
    std::vector<double> cpu_ms;
    candor::bench::HttpReply last;
    for (int r = 0; r < repeat; ++r) {
      double cpu0 = 0;
      if (server_pid != 0) cpu0 = candor::bench::ReadProcStats(server_pid)->cpu_seconds;
      const absl::Time t0 = clock.MonotonicNow();
      auto reply = (*conn)->Request("GET", q.target);
      const double elapsed = absl::ToDoubleMilliseconds(clock.MonotonicNow() - t0);
      if (server_pid != 0) {
        cpu_ms.push_back((candor::bench::ReadProcStats(server_pid)->cpu_seconds - cpu0) * 1000);
      }
      if (!reply.ok()) {
        std::fprintf(stderr, "%s: %s\n", q.name.c_str(), reply.status().ToString().c_str());
        ++failures;
        break;
      }
      last = *reply;
      ms.push_back(elapsed);
    }
    if (ms.empty()) continue;
    std::sort(ms.begin(), ms.end());
    std::sort(cpu_ms.begin(), cpu_ms.end());
    if (last.status != 200) {
      ++failures;
      std::fprintf(stderr, "%s: HTTP %d %s\n", q.name.c_str(), last.status,
                   last.body.substr(0, 300).c_str());
    }
    std::printf(
        "QUERY name=%s best_ms=%.2f median_ms=%.2f server_cpu_median_ms=%.0f bytes=%zu series=%zu "
        "status=%d\n",
        q.name.c_str(), ms.front(), ms[ms.size() / 2],
        cpu_ms.empty() ? -1.0 : cpu_ms[cpu_ms.size() / 2], last.body.size(),
        Count(last.body, "\"metric\""), last.status);
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : 1;
}
