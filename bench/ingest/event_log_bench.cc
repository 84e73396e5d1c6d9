// Event log benchmark: the request log's append cost per record and its lookup latency by
// request id, for each id-index memtable (EventLogOptions::IdMemtable), in one run.
//
// Appends --records records (random 16-character request and trace ids, three entities, a
// ~300-byte payload) in commit groups of --group, the way the ingest server's group commit
// does, with fsync off so that the CPU of the log itself is what is measured (RocksDB's
// background flushes and compactions included: process CPU). Then looks up --lookups ids that
// are in the live memtable, ids that were flushed to files, and ids that do not exist.
//
//   event_log_bench [--records=2000000] [--group=4000] [--lookups=200]

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "store/event_log.h"
#include "tests/testing/subprocess.h"

namespace candor::bench {
namespace {

double ProcessCpuSeconds() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string RandomId(std::mt19937_64& rng) {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s(16, ' ');
  for (char& c : s) c = kAlphabet[rng() % 36];
  return s;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int Run(store::EventLogOptions::IdMemtable kind, const char* name, int records, int group,
        int lookups) {
  RealClock clock;
  testing::TempDir dir;
  store::EventLogOptions options;
  options.path = dir.path() + "/events";
  options.sync = false;
  options.id_memtable = kind;
  auto log = store::EventLog::Open(options, clock);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    return 1;
  }
  std::mt19937_64 rng(42);
  std::vector<std::string> request_ids(static_cast<size_t>(records));
  std::vector<std::string> trace_ids(static_cast<size_t>(records));
  for (int i = 0; i < records; ++i) {
    request_ids[static_cast<size_t>(i)] = RandomId(rng);
    trace_ids[static_cast<size_t>(i)] = RandomId(rng);
  }
  const std::string payload(300, 'x');
  const absl::Time t0 = clock.Now() - absl::Hours(1);
  const double cpu0 = ProcessCpuSeconds();
  const absl::Time w0 = clock.MonotonicNow();
  std::vector<store::LogRecord> batch;
  for (int begin = 0; begin < records; begin += group) {
    batch.clear();
    for (int i = begin; i < std::min(records, begin + group); ++i) {
      store::LogRecord r;
      r.event_time = t0 + absl::Milliseconds(i / 100);
      r.kind = 1;
      r.request_id = request_ids[static_cast<size_t>(i)];
      r.trace_id = trace_ids[static_cast<size_t>(i)];
      r.entities = {"provider:p1", "model:m1", "route:chat"};
      r.payload = payload;
      batch.push_back(std::move(r));
    }
    auto s = (*log)->Append(batch);
    if (!s.ok()) {
      std::fprintf(stderr, "append: %s\n", s.status().ToString().c_str());
      return 1;
    }
  }
  const double wall = absl::ToDoubleSeconds(clock.MonotonicNow() - w0);
  const double cpu = ProcessCpuSeconds() - cpu0;
  std::printf(
      "EVENTLOG memtable=%s records=%d append_wall_us_per_record=%.2f "
      "append_cpu_us_per_record=%.2f\n",
      name, records, wall * 1e6 / records, cpu * 1e6 / records);
  // Lookups: the newest ids sit in the live memtable, the oldest in flushed files.
  struct Case {
    const char* where;
    int first;
    int last;
  };
  const Case cases[] = {{"live_memtable", records - records / 50, records - 1},
                        {"flushed", 0, records / 4},
                        {"absent", -1, -1}};
  for (const Case& c : cases) {
    std::vector<double> ms;
    int found = 0;
    for (int k = 0; k < lookups; ++k) {
      const std::string id =
          c.first < 0 ? RandomId(rng)
                      : request_ids[static_cast<size_t>(
                            c.first +
                            static_cast<int>(rng() % static_cast<uint64_t>(c.last - c.first + 1)))];
      const absl::Time q0 = clock.MonotonicNow();
      auto r = (*log)->FindByRequestId(id, 10);
      ms.push_back(absl::ToDoubleMilliseconds(clock.MonotonicNow() - q0));
      if (r.ok() && !r->empty()) ++found;
    }
    std::printf("EVENTLOG memtable=%s lookup=%s found=%d/%d p50_ms=%.3f p99_ms=%.3f\n", name,
                c.where, found, lookups, Percentile(ms, 0.5), Percentile(ms, 0.99));
    if (found != (c.first < 0 ? 0 : lookups)) {
      std::fprintf(stderr, "event_log_bench: %s lookups found %d of %d\n", c.where, found,
                   c.first < 0 ? 0 : lookups);
      return 1;
    }
  }
  return 0;
}

int Main(int argc, char** argv) {
  int records = 2'000'000;
  int group = 4000;
  int lookups = 200;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    const std::string key = a.substr(0, eq);
    const std::string v = eq == std::string::npos ? "" : a.substr(eq + 1);
    bool ok = false;
    if (key == "--records") ok = absl::SimpleAtoi(v, &records) && records > 0;
    if (key == "--group") ok = absl::SimpleAtoi(v, &group) && group > 0;
    if (key == "--lookups") ok = absl::SimpleAtoi(v, &lookups) && lookups > 0;
    if (!ok) {
      std::fprintf(stderr, "event_log_bench: bad argument %s\n", a.c_str());
      return 2;
    }
  }
  using Kind = store::EventLogOptions::IdMemtable;
  if (int rc = Run(Kind::kAppendOnly, "append_only", records, group, lookups); rc != 0) return rc;
  return Run(Kind::kHashed, "hashed", records, group, lookups);
}

}  // namespace
}  // namespace candor::bench

int main(int argc, char** argv) { return candor::bench::Main(argc, argv); }
