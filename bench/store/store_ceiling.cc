// candor_store_ceiling: the store without HTTP, on one thread.
//   1. Ingest ceiling: the benchmark dataset (ms profile, 1,000 series × 10,000 samples)
//      committed in batches of 5,000 samples (one remote-write request's worth), with the WAL
//      fsynced per commit and without; samples per second of wall time and per CPU-second.
//   2. Memory per active series: N series (default 100,000) each given a full head chunk's
//      worth of samples; RSS growth and the store's own head estimate, per series.
//
//   candor_store_ceiling --path DIR [--series_for_memory 100000]
//
// Prints CEILING key=value lines.

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/store/rw_client.h"
#include "bench/store/tsgen.h"
#include "common/clock.h"
#include "store/series_store.h"

namespace {

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

candor::LabelSet ToLabelSet(const candor::bench::Labels& l) {
  std::vector<candor::Label> v;
  for (const auto& [n, x] : l) v.push_back({n, x});
  return candor::LabelSet::FromTrusted(std::move(v));
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 1; i + 1 < argc; i += 2) f[std::string(argv[i]).substr(2)] = argv[i + 1];
  const std::string root = f["path"];
  const int mem_series =
      f.count("series_for_memory") ? std::atoi(f["series_for_memory"].c_str()) : 100000;
  if (root.empty()) {
    std::fprintf(stderr, "usage: candor_store_ceiling --path DIR\n");
    return 2;
  }
  candor::RealClock clock;
  const int64_t now = absl::ToUnixMillis(clock.Now());
  for (const bool sync : {true, false}) {
    const std::string path = absl::StrCat(root, sync ? "/sync" : "/nosync");
    std::filesystem::remove_all(path);
    candor::store::SeriesStoreOptions o;
    o.path = path;
    o.wal_sync = sync;
    auto store = candor::store::SeriesStore::Open(o, clock);
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      return 1;
    }
    candor::bench::DatasetSpec spec;
    spec.profile = candor::bench::Profile::kMs;
    spec.start_ms = now - 4 * 3'600'000 - spec.samples * spec.interval_ms;
    std::vector<candor::store::SeriesRef> refs;
    for (int i = 0; i < spec.series; ++i) {
      refs.push_back(
          *(*store)->GetOrCreateSeries(ToLabelSet(candor::bench::SeriesLabels(spec.profile, i))));
    }
    // Values are generated up front so the timed loop is the store alone.
    candor::bench::Generator gen(spec);
    std::vector<std::vector<double>> values;
    for (int j = 0; j < spec.samples; ++j) values.push_back(gen.Next());
    const double cpu0 = CpuSeconds();
    const absl::Time t0 = clock.MonotonicNow();
    candor::store::SampleBatch batch;
    int64_t appended = 0;
    for (int j = 0; j < spec.samples; ++j) {
      const int64_t t = spec.start_ms + j * spec.interval_ms;
      for (int i = 0; i < spec.series; ++i)
        batch.Add(refs[static_cast<size_t>(i)], t,
                  values[static_cast<size_t>(j)][static_cast<size_t>(i)]);
      if (batch.size() >= 5000) {
        appended += static_cast<int64_t>((*store)->Commit(batch)->appended);
        batch.Clear();
      }
    }
    if (!batch.empty()) appended += static_cast<int64_t>((*store)->Commit(batch)->appended);
    const double wall = absl::ToDoubleSeconds(clock.MonotonicNow() - t0);
    const double cpu = CpuSeconds() - cpu0;
    std::printf(
        "CEILING test=ingest wal_sync=%d samples=%lld wall_s=%.2f samples_per_s=%.0f cpu_s=%.2f "
        "samples_per_cpu_s=%.0f\n",
        sync ? 1 : 0, static_cast<long long>(appended), wall, static_cast<double>(appended) / wall,
        cpu, static_cast<double>(appended) / cpu);
    std::fflush(stdout);
  }
  {
    const std::string path = absl::StrCat(root, "/memory");
    std::filesystem::remove_all(path);
    candor::store::SeriesStoreOptions o;
    o.path = path;
    o.wal_sync = false;
    const int64_t rss0 = candor::bench::ReadProcStats(::getpid())->rss_bytes;
    auto store = candor::store::SeriesStore::Open(o, clock);
    std::vector<candor::store::SeriesRef> refs;
    for (int i = 0; i < mem_series; ++i) {
      auto l = candor::bench::SeriesLabels(candor::bench::Profile::kMs, i);
      refs.push_back(*(*store)->GetOrCreateSeries(ToLabelSet(l)));
    }
    // 120 samples per series: half of a full head chunk, the average state of an active series.
    candor::store::SampleBatch batch;
    const int64_t start = now - 3 * 3'600'000;
    for (int j = 0; j < 120; ++j) {
      for (int i = 0; i < mem_series; ++i) {
        batch.Add(refs[static_cast<size_t>(i)], start + j * 10'000, 0.001 * ((i + j) % 997));
        if (batch.size() >= 50000) {
          (void)(*store)->Commit(batch);
          batch.Clear();
        }
      }
    }
    if (!batch.empty()) (void)(*store)->Commit(batch);
    const int64_t rss1 = candor::bench::ReadProcStats(::getpid())->rss_bytes;
    const candor::store::StoreStats st = (*store)->Stats();
    std::printf(
        "CEILING test=memory series=%d head_samples_per_series=120 "
        "rss_growth_bytes_per_series=%.0f store_head_estimate_bytes_per_series=%.0f\n",
        mem_series, static_cast<double>(rss1 - rss0) / mem_series,
        static_cast<double>(st.head_bytes) / mem_series);
  }
  return 0;
}
