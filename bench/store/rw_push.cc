// candor_rw_push: pushes the deterministic benchmark dataset (tsgen.h) to a remote-write
// receiver — candor_store_server or a Prometheus started with --web.enable-remote-write-receiver
// — exactly as the reference method does: every request is encoded (protobuf + snappy) before
// the clock starts, `--per_request` samples per series per request, `--connections` keep-alive
// connections each sending its share of the series of one time slab, in lockstep, so no
// series ever arrives out of order.
//
//   candor_rw_push --profile ms --port P --start_ms T [--series 1000] [--samples 10000]
//                  [--interval_ms 10000] [--per_request 5] [--connections 2] [--server_pid PID]
//
// Prints one line: RESULT key=value ... (wall seconds, server CPU seconds from /proc when
// --server_pid is given, samples, non-2xx replies).

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "bench/store/rw_client.h"
#include "bench/store/tsgen.h"
#include "common/clock.h"

namespace {

std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) flags[a.substr(2)] = argv[i + 1];
  }
  return flags;
}

int64_t Flag(std::map<std::string, std::string>& f, const std::string& k, int64_t def) {
  return f.count(k) ? std::atoll(f[k].c_str()) : def;
}

// A reusable barrier for the lockstep connections (blocking, no polling).
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void Wait() {
    absl::MutexLock lock(&mu_);
    const int64_t gen = generation_;
    if (++arrived_ == n_) {
      arrived_ = 0;
      ++generation_;
      return;
    }
    struct Arg {
      const int64_t* generation;
      int64_t seen;
    } arg{&generation_, gen};
    mu_.Await(absl::Condition(
        +[](Arg* a) { return *a->generation != a->seen; }, &arg));
  }

 private:
  absl::Mutex mu_;
  const int n_;
  int arrived_ = 0;
  int64_t generation_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  auto f = ParseFlags(argc, argv);
  candor::bench::DatasetSpec spec;
  if (!candor::bench::ParseProfile(f.count("profile") ? f["profile"] : "ms", &spec.profile)) {
    std::fprintf(stderr, "--profile must be raw, ms or counter\n");
    return 2;
  }
  spec.series = static_cast<int>(Flag(f, "series", 1000));
  spec.samples = static_cast<int>(Flag(f, "samples", 10000));
  spec.interval_ms = Flag(f, "interval_ms", 10000);
  spec.start_ms = Flag(f, "start_ms", 0);
  const int port = static_cast<int>(Flag(f, "port", 0));
  const int per_request = static_cast<int>(Flag(f, "per_request", 5));
  const int connections = static_cast<int>(Flag(f, "connections", 2));
  const pid_t server_pid = static_cast<pid_t>(Flag(f, "server_pid", 0));
  if (port == 0 || spec.start_ms == 0) {
    std::fprintf(stderr, "usage: candor_rw_push --profile ms|raw|counter --port P --start_ms T\n");
    return 2;
  }
  candor::RealClock clock;
  const absl::Time encode_start = clock.MonotonicNow();
  std::vector<candor::bench::Labels> labels;
  for (int i = 0; i < spec.series; ++i)
    labels.push_back(candor::bench::SeriesLabels(spec.profile, i));
  candor::bench::Generator gen(spec);
  const int slabs = (spec.samples + per_request - 1) / per_request;
  // bodies[slab][connection]
  std::vector<std::vector<std::string>> bodies(static_cast<size_t>(slabs));
  int64_t total_samples = 0;
  for (int k = 0; k < slabs; ++k) {
    std::vector<candor::bench::SeriesSamples> series(static_cast<size_t>(spec.series));
    for (int i = 0; i < spec.series; ++i)
      series[static_cast<size_t>(i)].labels = &labels[static_cast<size_t>(i)];
    for (int j = k * per_request; j < std::min(spec.samples, (k + 1) * per_request); ++j) {
      const std::vector<double>& v = gen.Next();
      for (int i = 0; i < spec.series; ++i) {
        series[static_cast<size_t>(i)].samples.push_back(
            {gen.timestamp(), v[static_cast<size_t>(i)]});
        ++total_samples;
      }
    }
    for (int c = 0; c < connections; ++c) {
      const int a = c * spec.series / connections;
      const int b = (c + 1) * spec.series / connections;
      std::vector<candor::bench::SeriesSamples> part(series.begin() + a, series.begin() + b);
      bodies[static_cast<size_t>(k)].push_back(candor::bench::EncodeWriteRequest(part));
    }
  }
  const double encode_s = absl::ToDoubleSeconds(clock.MonotonicNow() - encode_start);
  int64_t wire_bytes = 0;
  for (const auto& slab : bodies) {
    for (const auto& b : slab) wire_bytes += static_cast<int64_t>(b.size());
  }

  candor::bench::ProcStats before;
  if (server_pid != 0) before = *candor::bench::ReadProcStats(server_pid);
  Barrier barrier(connections);
  std::vector<int64_t> failures(static_cast<size_t>(connections), 0);
  std::vector<std::string> first_error(static_cast<size_t>(connections));
  const absl::Time start = clock.MonotonicNow();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto conn = candor::bench::HttpConnection::Connect(port);
      for (int k = 0; k < slabs; ++k) {
        if (conn.ok()) {
          auto r = candor::bench::PostWrite(conn->get(),
                                            bodies[static_cast<size_t>(k)][static_cast<size_t>(c)]);
          if (!r.ok() || r->status / 100 != 2) {
            ++failures[static_cast<size_t>(c)];
            if (first_error[static_cast<size_t>(c)].empty()) {
              first_error[static_cast<size_t>(c)] = r.ok() ? r->body : r.status().ToString();
            }
          }
        } else {
          ++failures[static_cast<size_t>(c)];
        }
        barrier.Wait();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double wall = absl::ToDoubleSeconds(clock.MonotonicNow() - start);
  double cpu = 0;
  int64_t rss = 0, peak = 0;
  if (server_pid != 0) {
    const candor::bench::ProcStats after = *candor::bench::ReadProcStats(server_pid);
    cpu = after.cpu_seconds - before.cpu_seconds;
    rss = after.rss_bytes;
    peak = after.peak_rss_bytes;
  }
  int64_t failed = 0;
  for (int64_t x : failures) failed += x;
  std::printf(
      "RESULT profile=%s samples=%lld requests=%d wire_bytes_per_sample=%.2f encode_s=%.2f "
      "wall_s=%.3f server_cpu_s=%.3f samples_per_cpu_s=%.0f server_rss_mb=%.1f "
      "server_peak_rss_mb=%.1f failed_requests=%lld\n",
      candor::bench::ProfileName(spec.profile), static_cast<long long>(total_samples),
      slabs * connections, static_cast<double>(wire_bytes) / static_cast<double>(total_samples),
      encode_s, wall, cpu, cpu > 0 ? static_cast<double>(total_samples) / cpu : 0,
      static_cast<double>(rss) / 1048576, static_cast<double>(peak) / 1048576,
      static_cast<long long>(failed));
  for (const std::string& e : first_error) {
    if (!e.empty()) std::printf("first error: %s\n", e.substr(0, 400).c_str());
  }
  return failed == 0 ? 0 : 1;
}
