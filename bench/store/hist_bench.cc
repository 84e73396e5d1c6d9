// candor_hist_bench: P99 over 1 h per entity from stored distributions, candor vs Prometheus.
//
// The same per-request latencies (deterministic: lognormal per entity, 1 % slow outliers) are
// pushed over remote write as a classic-bucket histogram (vLLM's e2e latency buckets, plus
// _sum and _count) to Prometheus and as cumulative exponential histograms (schema 5, candor's
// recorder form) to candor, one sample every 10 s per entity. Then
//   Prometheus: histogram_quantile(0.99, sum by (entity, le)
//   (rate(req_latency_seconds_bucket[1h]))) candor:     histogram_quantile(0.99, sum by (entity)
//   (rate(req_latency_seconds[1h])))
// run as range queries (step 15 min), timed, and every point is compared with the exact P99 of
// the observations in its window (rank ceil(0.99·n)).
//
//   candor_hist_bench --prom_port P --candor_port C [--prom_pid X --candor_pid Y]
//                     [--entities 50] [--per_interval 50] [--hours 6] [--repeat 5]
//
// Prints HIST store=… form=… median_ms=… server_cpu_ms=… mean_rel_err=… max_rel_err=… lines.

#include <snappy.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/store/rw_client.h"
#include "common/clock.h"
#include "prometheus/remote.pb.h"
#include "store/histogram.h"

namespace {

constexpr int64_t kIntervalMs = 10'000;
const double kLe[] = {0.3,  0.5,  0.8,  1.0,  1.5,  2.0,  2.5, 5.0,
                      10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0};

void AddLabels(prometheus::TimeSeries* ts,
               const std::vector<std::pair<std::string, std::string>>& l) {
  for (const auto& [n, v] : l) {
    auto* x = ts->add_labels();
    x->set_name(n);
    x->set_value(v);
  }
}

void ToProto(const candor::store::Histogram& h, int64_t t, prometheus::Histogram* out) {
  out->set_count_int(static_cast<uint64_t>(h.count()));
  out->set_sum(h.sum());
  out->set_schema(h.schema());
  out->set_zero_threshold(h.zero_threshold());
  out->set_zero_count_int(static_cast<uint64_t>(h.zero_count()));
  out->set_timestamp(t);
  int32_t prev_end = 0;
  int64_t prev_count = 0;
  prometheus::BucketSpan* span = nullptr;
  for (const candor::store::Bucket& b : h.positive()) {
    if (span == nullptr || b.index != prev_end) {
      const bool first = span == nullptr;
      span = out->add_positive_spans();
      span->set_offset(first ? b.index : b.index - prev_end);
      span->set_length(0);
    }
    span->set_length(span->length() + 1);
    prev_end = b.index + 1;
    out->add_positive_deltas(static_cast<int64_t>(b.count) - prev_count);
    prev_count = static_cast<int64_t>(b.count);
  }
}

std::string Compress(const prometheus::WriteRequest& req) {
  const std::string raw = req.SerializeAsString();
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

double ParseValue(const std::string& s) {
  if (s == "NaN") return NAN;
  if (s == "+Inf") return INFINITY;
  return std::strtod(s.c_str(), nullptr);
}

// Extracts {entity -> [(t, v)]} from a query_range matrix reply (the shapes both stores use).
std::map<std::string, std::vector<std::pair<int64_t, double>>> ParseMatrix(
    const std::string& body) {
  std::map<std::string, std::vector<std::pair<int64_t, double>>> out;
  size_t pos = 0;
  while ((pos = body.find("\"entity\":\"", pos)) != std::string::npos) {
    pos += 10;
    const std::string entity = body.substr(pos, body.find('"', pos) - pos);
    const size_t values = body.find("\"values\":[", pos);
    const size_t end = body.find("]]", values);
    size_t p = values + 10;
    while (p < end) {
      p = body.find('[', p);
      if (p == std::string::npos || p > end) break;
      const size_t comma = body.find(',', p);
      const double t = std::strtod(body.substr(p + 1, comma - p - 1).c_str(), nullptr);
      const size_t q1 = body.find('"', comma);
      const size_t q2 = body.find('"', q1 + 1);
      out[entity].push_back({static_cast<int64_t>(std::llround(t * 1000)),
                             ParseValue(body.substr(q1 + 1, q2 - q1 - 1))});
      p = q2;
    }
    pos = end;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 1; i + 1 < argc; i += 2) f[std::string(argv[i]).substr(2)] = argv[i + 1];
  auto flag = [&](const char* k, int64_t d) { return f.count(k) ? std::atoll(f[k].c_str()) : d; };
  const int prom_port = static_cast<int>(flag("prom_port", 0));
  const int candor_port = static_cast<int>(flag("candor_port", 0));
  const auto prom_pid = static_cast<pid_t>(flag("prom_pid", 0));
  const auto candor_pid = static_cast<pid_t>(flag("candor_pid", 0));
  const int entities = static_cast<int>(flag("entities", 50));
  const int per_interval = static_cast<int>(flag("per_interval", 50));
  const int hours = static_cast<int>(flag("hours", 6));
  const int repeat = static_cast<int>(flag("repeat", 5));
  if (prom_port == 0 || candor_port == 0) {
    std::fprintf(stderr, "usage: candor_hist_bench --prom_port P --candor_port C\n");
    return 2;
  }
  candor::RealClock clock;
  const int64_t intervals = hours * 360;
  int64_t start = flag("start_ms", absl::ToUnixMillis(clock.Now()) - (hours + 1) * 3'600'000);
  start -= start % kIntervalMs;
  const bool skip_push = flag("skip_push", 0) != 0;
  std::printf("HIST_START start_ms=%lld\n", static_cast<long long>(start));

  // Observations per entity per interval (float32 keeps memory small).
  std::vector<std::vector<std::vector<float>>> obs(
      static_cast<size_t>(entities),
      std::vector<std::vector<float>>(static_cast<size_t>(intervals)));
  std::mt19937_64 rng(7);
  for (int e = 0; e < entities; ++e) {
    const double median = 0.1 * std::pow(20.0, static_cast<double>(e) / entities);
    std::lognormal_distribution<double> lat(std::log(median), 0.6);
    std::uniform_real_distribution<double> u(0, 1);
    for (int64_t k = 0; k < intervals; ++k) {
      auto& v = obs[static_cast<size_t>(e)][static_cast<size_t>(k)];
      for (int i = 0; i < per_interval; ++i) {
        double x = lat(rng);
        if (u(rng) < 0.01) x *= 5;
        v.push_back(static_cast<float>(x));
      }
    }
  }
  // Push, one request per interval to each store, in time order.
  auto prom = candor::bench::HttpConnection::Connect(prom_port);
  auto cand = candor::bench::HttpConnection::Connect(candor_port);
  if (!prom.ok() || !cand.ok()) {
    std::fprintf(stderr, "cannot connect\n");
    return 1;
  }
  std::vector<candor::store::Histogram> native(static_cast<size_t>(entities),
                                               candor::store::Histogram(5));
  std::vector<std::vector<double>> classic(static_cast<size_t>(entities),
                                           std::vector<double>(16, 0));
  std::vector<double> sums(static_cast<size_t>(entities), 0),
      counts(static_cast<size_t>(entities), 0);
  int failures = 0;
  for (int64_t k = 0; k < intervals && !skip_push; ++k) {
    const int64_t t = start + (k + 1) * kIntervalMs;
    prometheus::WriteRequest preq, creq;
    for (int e = 0; e < entities; ++e) {
      const std::string entity = absl::StrCat("route:r", e);
      for (float x : obs[static_cast<size_t>(e)][static_cast<size_t>(k)]) {
        native[static_cast<size_t>(e)].Observe(x);
        for (size_t b = 0; b < 16; ++b) {
          if (b == 15 || x <= kLe[b]) classic[static_cast<size_t>(e)][b] += 1;
        }
        sums[static_cast<size_t>(e)] += x;
        counts[static_cast<size_t>(e)] += 1;
      }
      for (size_t b = 0; b < 16; ++b) {
        auto* ts = preq.add_timeseries();
        AddLabels(ts, {{"__name__", "req_latency_seconds_bucket"},
                       {"entity", entity},
                       {"le", b == 15 ? "+Inf" : absl::StrCat(kLe[b])}});
        auto* s = ts->add_samples();
        s->set_timestamp(t);
        s->set_value(classic[static_cast<size_t>(e)][b]);
      }
      for (const char* suffix : {"_sum", "_count"}) {
        auto* ts = preq.add_timeseries();
        AddLabels(ts,
                  {{"__name__", absl::StrCat("req_latency_seconds", suffix)}, {"entity", entity}});
        auto* s = ts->add_samples();
        s->set_timestamp(t);
        s->set_value(suffix[1] == 's' ? sums[static_cast<size_t>(e)]
                                      : counts[static_cast<size_t>(e)]);
      }
      auto* ts = creq.add_timeseries();
      AddLabels(ts, {{"__name__", "req_latency_seconds"}, {"entity", entity}});
      candor::store::Histogram stored = native[static_cast<size_t>(e)];
      stored.set_sum(std::round(stored.sum() * 1e6) / 1e6);
      ToProto(stored, t, ts->add_histograms());
    }
    auto r1 = candor::bench::PostWrite(prom->get(), Compress(preq));
    auto r2 = candor::bench::PostWrite(cand->get(), Compress(creq));
    if (!r1.ok() || r1->status / 100 != 2 || !r2.ok() || r2->status / 100 != 2) {
      if (++failures < 3) {
        std::fprintf(stderr, "push failed: %s / %s\n", r1.ok() ? r1->body.c_str() : "conn",
                     r2.ok() ? r2->body.c_str() : "conn");
      }
    }
  }
  // Exact P99 at each evaluation time over (t - 1 h, t].
  // The first window must hold a whole hour of intervals: rate() needs the sample before them.
  const int64_t q_start = start + 3'600'000 + kIntervalMs;
  const int64_t q_end = start + intervals * kIntervalMs;
  const int64_t step = 900'000;
  auto exact = [&](int e, int64_t t) {
    std::vector<float> w;
    for (int64_t k = 0; k < intervals; ++k) {
      const int64_t tk = start + (k + 1) * kIntervalMs;
      if (tk > t - 3'600'000 && tk <= t) {
        const auto& v = obs[static_cast<size_t>(e)][static_cast<size_t>(k)];
        w.insert(w.end(), v.begin(), v.end());
      }
    }
    std::sort(w.begin(), w.end());
    const auto rank = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(w.size())));
    return static_cast<double>(w[std::max<size_t>(rank, 1) - 1]);
  };
  struct Case {
    const char* store;
    const char* form;
    int port;
    pid_t pid;
    std::string query;
  };
  const std::vector<Case> cases = {
      {"prometheus", "classic_le_buckets", prom_port, prom_pid,
       "histogram_quantile(0.99, sum by (entity, le) (rate(req_latency_seconds_bucket[1h])))"},
      {"candor", "exponential_schema5", candor_port, candor_pid,
       "histogram_quantile(0.99, sum by (entity) (rate(req_latency_seconds[1h])))"},
  };
  for (const Case& c : cases) {
    auto conn = candor::bench::HttpConnection::Connect(c.port);
    const std::string target =
        absl::StrCat("/api/v1/query_range?query=", candor::bench::UrlEncode(c.query),
                     "&start=", q_start / 1000, "&end=", q_end / 1000, "&step=", step / 1000);
    std::vector<double> ms, cpu;
    std::string body;
    for (int r = 0; r < repeat; ++r) {
      const double c0 = c.pid != 0 ? candor::bench::ReadProcStats(c.pid)->cpu_seconds : 0;
      const absl::Time t0 = clock.MonotonicNow();
      auto reply = (*conn)->Request("GET", target);
      ms.push_back(absl::ToDoubleMilliseconds(clock.MonotonicNow() - t0));
      if (c.pid != 0) cpu.push_back((candor::bench::ReadProcStats(c.pid)->cpu_seconds - c0) * 1000);
      if (!reply.ok() || reply->status != 200) {
        std::fprintf(stderr, "%s: query failed: %s\n", c.store,
                     reply.ok() ? reply->body.substr(0, 300).c_str() : "conn");
        return 1;
      }
      body = reply->body;
    }
    std::sort(ms.begin(), ms.end());
    std::sort(cpu.begin(), cpu.end());
    double sum_err = 0, max_err = 0;
    int points = 0;
    for (const auto& [entity, values] : ParseMatrix(body)) {
      const int e = std::atoi(entity.c_str() + 7);
      for (const auto& [t, v] : values) {
        const double x = exact(e, t);
        const double err = std::fabs(v - x) / x;
        if (std::getenv("HIST_DEBUG") != nullptr && c.store[0] == 'c' && err > 0.0109) {
          std::fprintf(stderr, "entity %d t=%lld est=%.6f exact=%.6f err=%.4f\n", e,
                       static_cast<long long>(t - start), v, x, err);
        }
        sum_err += err;
        max_err = std::max(max_err, err);
        ++points;
      }
    }
    std::printf(
        "HIST store=%s form=%s median_ms=%.2f server_cpu_ms=%.0f mean_rel_err=%.4f "
        "max_rel_err=%.4f points=%d push_failures=%d\n",
        c.store, c.form, ms[ms.size() / 2], cpu.empty() ? -1.0 : cpu[cpu.size() / 2],
        points ? sum_err / points : NAN, max_err, points, failures);
  }
  std::printf(
      "HIST store=candor form=documented_bound_schema5 median_ms=- server_cpu_ms=- mean_rel_err=- "
      "max_rel_err=%.4f\n",
      candor::store::Histogram::RelativeErrorBound(5));
  return failures == 0 ? 0 : 1;
}
