// The deterministic workload shared by store_crash_child (which writes it) and
// store_crash_test (which checks what survived): the reference model of the crash test.

#ifndef CANDOR_TESTS_STORE_CRASH_WORKLOAD_H_
#define CANDOR_TESTS_STORE_CRASH_WORKLOAD_H_

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "store/histogram.h"
#include "store/series_store.h"

namespace candor::crashtest {

inline constexpr int64_t kRoundMs = 1000;
inline constexpr int64_t kLateBy = 30;  // Rounds the late series lags behind.

inline store::SeriesStoreOptions Options(const std::string& path) {
  store::SeriesStoreOptions o;
  o.path = path;
  o.wal_sync = true;
  o.chunk_max_samples = 32;
  o.wal_segment_bytes = 1 << 20;
  o.idle_chunk_seal_after = absl::Seconds(20);
  o.out_of_order_window = absl::Minutes(5);
  return o;
}

inline double Gauge(int i, int64_t r) { return static_cast<double>((i * 1000 + r) % 997) / 1000; }
inline double Counter(int i, int64_t r) { return static_cast<double>(r * (i + 1)); }
inline double Late(int64_t r) { return static_cast<double>(r % 101) / 4; }
inline double LateExtra(int64_t r) { return static_cast<double>(r % 13); }
// The cumulative histogram after round r: one observation of ((k mod 50) + 1) ms per round k.
inline store::Histogram HistogramAt(int64_t r) {
  store::Histogram h(5);
  for (int64_t k = 0; k <= r; ++k) h.Observe(static_cast<double>(k % 50 + 1) / 1000);
  h.set_sum(std::round(h.sum() * 1000) / 1000);
  return h;
}

struct Refs {
  std::vector<store::SeriesRef> gauges, counters;
  store::SeriesRef hist = 0, late = 0;
};

inline absl::Status Resolve(store::SeriesStore& s, int series, Refs* refs) {
  for (int i = 0; i < series; ++i) {
    auto g = s.GetOrCreateSeries(
        LabelSet::FromTrusted({{"__name__", "crash_gauge"}, {"i", absl::StrCat(i)}}));
    auto c = s.GetOrCreateSeries(
        LabelSet::FromTrusted({{"__name__", "crash_counter_total"}, {"i", absl::StrCat(i)}}));
    if (!g.ok()) return g.status();
    if (!c.ok()) return c.status();
    refs->gauges.push_back(*g);
    refs->counters.push_back(*c);
  }
  auto h = s.GetOrCreateSeries(LabelSet::FromTrusted({{"__name__", "crash_latency_seconds"}}));
  auto l = s.GetOrCreateSeries(LabelSet::FromTrusted({{"__name__", "crash_late"}}));
  if (!h.ok()) return h.status();
  if (!l.ok()) return l.status();
  refs->hist = *h;
  refs->late = *l;
  return absl::OkStatus();
}

// Round r: every gauge and counter at t0 + r s, the histogram, and the late series' sample of
// round r - kLateBy; every 7th round also a sample half a second after round r - kLateBy - 3,
// older than the late series' newest sample (out of order, often into a sealed chunk).
inline void AddRound(const Refs& refs, int series, int64_t t0, int64_t r, store::SampleBatch* b) {
  const int64_t t = t0 + r * kRoundMs;
  for (int i = 0; i < series; ++i) {
    b->Add(refs.gauges[static_cast<size_t>(i)], t, Gauge(i, r));
    b->Add(refs.counters[static_cast<size_t>(i)], t, Counter(i, r));
  }
  b->AddHistogram(refs.hist, t, HistogramAt(r));
  if (r >= kLateBy) b->Add(refs.late, t0 + (r - kLateBy) * kRoundMs, Late(r - kLateBy));
  if (r >= kLateBy + 3 && r % 7 == 0) {
    b->Add(refs.late, t0 + (r - kLateBy - 3) * kRoundMs + 500, LateExtra(r - kLateBy - 3));
  }
}

}  // namespace candor::crashtest

#endif  // CANDOR_TESTS_STORE_CRASH_WORKLOAD_H_
