// Per-sample update cost of each candor detector (Google Benchmark) and the memory one
// tracked series costs (sizeof plus heap of one warmed-up instance, from glibc's allocator
// statistics, averaged over 64 instances).
//
//   build/bench/detectors/detector_bench [--benchmark_filter=...] [--benchmark_repetitions=5]
//
// Time is read by Google Benchmark itself (the bench binary owns no clock reads).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "detectors/anomaly_likelihood.h"
#include "detectors/anomaly_scorer.h"
#include "detectors/peer.h"
#include "detectors/proportion.h"
#include "detectors/seasonal_baseline.h"
#include "detectors/signal_detector.h"
#include "detectors/spc_charts.h"
#include "detectors/stream_drift.h"
#include "detectors/test_support.h"
#include "detectors/window_drift.h"

namespace {

// Bytes currently allocated on the heap (glibc's allocator statistics).
int64_t LiveBytes() { return static_cast<int64_t>(mallinfo2().uordblks); }

}  // namespace

namespace {

namespace det = candor::detectors;

constexpr size_t kSamples = 1 << 14;

const std::vector<double>& Noise() {
  static const std::vector<double>* v = [] {
    auto* out = new std::vector<double>;
    det::testing::Gaussian g(42);
    for (size_t i = 0; i < kSamples; ++i) {
      out->push_back(100.0 + 10.0 * std::sin(static_cast<double>(i) / 50.0) + 3.0 * g.Next());
    }
    return out;
  }();
  return *v;
}

absl::Time At(size_t i) { return absl::FromUnixSeconds(1700000000 + 60 * static_cast<int64_t>(i)); }

template <typename Detector>
void RunStream(benchmark::State& state, Detector& d) {
  const auto& xs = Noise();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.Update(At(i), xs[i % kSamples]));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Ewma(benchmark::State& state) {
  auto d = *det::EwmaChart::Create({});
  RunStream(state, d);
}
BENCHMARK(BM_Ewma);

void BM_Cusum(benchmark::State& state) {
  auto d = *det::CusumChart::Create({});
  RunStream(state, d);
}
BENCHMARK(BM_Cusum);

void BM_ShewhartWesternElectric(benchmark::State& state) {
  auto d = *det::ShewhartChart::Create({});
  RunStream(state, d);
}
BENCHMARK(BM_ShewhartWesternElectric);

void BM_ShewhartNelson(benchmark::State& state) {
  det::ShewhartOptions o;
  o.rules = det::kNelsonRules;
  auto d = *det::ShewhartChart::Create(o);
  RunStream(state, d);
}
BENCHMARK(BM_ShewhartNelson);

void BM_SeasonalBaseline(benchmark::State& state) {
  auto d = *det::RobustSeasonalBaseline::Create({});
  RunStream(state, d);
}
BENCHMARK(BM_SeasonalBaseline);

void BM_SignalStack(benchmark::State& state) {
  auto d = *det::SignalDetector::Create({});
  RunStream(state, d);
}
BENCHMARK(BM_SignalStack);

void BM_Adwin(benchmark::State& state) {
  auto d = *det::Adwin::Create({});
  RunStream(state, d);
}
BENCHMARK(BM_Adwin);

void BM_PageHinkley(benchmark::State& state) {
  auto d = *det::PageHinkley::Create({});
  RunStream(state, d);
}
BENCHMARK(BM_PageHinkley);

void BM_AnomalyLikelihood(benchmark::State& state) {
  auto d = *det::AnomalyLikelihood::Create({});
  const auto& xs = Noise();
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(d.Update(xs[i++ % kSamples] / 100.0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AnomalyLikelihood);

void BM_AnomalyScorerNab(benchmark::State& state) {
  auto d = *det::AnomalyScorer::Create({});
  RunStream(state, d);
}
BENCHMARK(BM_AnomalyScorerNab);

void BM_BernoulliCusumWindow(benchmark::State& state) {
  auto d = *det::BernoulliCusum::Create({});
  int64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.Update(At(static_cast<size_t>(i)), (i * 7) % 3, 100));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BernoulliCusumWindow);

void BM_PeerMadZ8(benchmark::State& state) {
  const std::vector<double> peers = {100, 101, 99, 102, 98, 100.5, 99.5, 101.5};
  const auto& xs = Noise();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(det::PeerMadZ(At(i), xs[i % kSamples], peers, {}));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PeerMadZ8);

void BM_PeerRatioCusum8(benchmark::State& state) {
  auto d = *det::PeerRatioCusum::Create({});
  const std::vector<double> peers = {100, 101, 99, 102, 98, 100.5, 99.5, 101.5};
  const auto& xs = Noise();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.Update(At(i), xs[i % kSamples], peers));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PeerRatioCusum8);

// Window tests cost per window (KS up to 1000 reference points, normed Wasserstein above);
// items = points compared, so the per-item time is per sample.
void BM_NumericDrift(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const auto& xs = Noise();
  const std::vector<double> ref(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n));
  const std::vector<double> cur(xs.begin() + static_cast<std::ptrdiff_t>(n),
                                xs.begin() + static_cast<std::ptrdiff_t>(2 * n));
  for (auto _ : state) benchmark::DoNotOptimize(det::NumericDrift(ref, cur));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(2 * n));
}
BENCHMARK(BM_NumericDrift)->Arg(1000)->Arg(5000);

void BM_MannWhitney(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const auto& xs = Noise();
  const std::vector<double> a(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n));
  const std::vector<double> b(xs.begin() + static_cast<std::ptrdiff_t>(n),
                              xs.begin() + static_cast<std::ptrdiff_t>(2 * n));
  for (auto _ : state) benchmark::DoNotOptimize(det::MannWhitneyJudge(a, b, {}));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(2 * n));
}
BENCHMARK(BM_MannWhitney)->Arg(200);

// Bytes one tracked series holds: sizeof plus its heap after warming up on 20,000 samples,
// averaged over 64 live instances (kept alive together so no allocation can be elided).
constexpr int kInstances = 64;

template <typename Detector, typename Feed>
int64_t SeriesBytes(const std::function<Detector()>& make, const Feed& feed) {
  const int64_t before = LiveBytes();
  std::vector<Detector> all;
  all.reserve(kInstances);
  for (int k = 0; k < kInstances; ++k) all.push_back(make());
  for (auto& d : all) {
    for (size_t i = 0; i < 20000; ++i) feed(d, i);
  }
  benchmark::DoNotOptimize(all.data());
  return (LiveBytes() - before) / kInstances;
}

template <typename Detector>
int64_t StreamBytes(const std::function<Detector()>& make) {
  const auto& xs = Noise();
  return SeriesBytes<Detector>(make,
                               [&](Detector& d, size_t i) { d.Update(At(i), xs[i % kSamples]); });
}

void PrintMemory() {
  (void)Noise();
  std::printf("Memory per tracked series (bytes, warmed up on 20,000 samples):\n");
  auto row = [](const char* name, int64_t bytes) {
    std::printf("  %-28s %8lld\n", name, static_cast<long long>(bytes));
  };
  row("ewma", StreamBytes<det::EwmaChart>([] { return *det::EwmaChart::Create({}); }));
  row("cusum", StreamBytes<det::CusumChart>([] { return *det::CusumChart::Create({}); }));
  row("shewhart", StreamBytes<det::ShewhartChart>([] { return *det::ShewhartChart::Create({}); }));
  row("seasonal_baseline", StreamBytes<det::RobustSeasonalBaseline>(
                               [] { return *det::RobustSeasonalBaseline::Create({}); }));
  row("signal_stack (all above)",
      StreamBytes<det::SignalDetector>([] { return *det::SignalDetector::Create({}); }));
  row("adwin", StreamBytes<det::Adwin>([] { return *det::Adwin::Create({}); }));
  row("page_hinkley", StreamBytes<det::PageHinkley>([] { return *det::PageHinkley::Create({}); }));
  row("anomaly_scorer (NAB)",
      StreamBytes<det::AnomalyScorer>([] { return *det::AnomalyScorer::Create({}); }));
  row("anomaly_likelihood",
      SeriesBytes<det::AnomalyLikelihood>(
          [] { return *det::AnomalyLikelihood::Create({}); },
          [](det::AnomalyLikelihood& d, size_t i) { d.Update(0.1 * static_cast<double>(i % 7)); }));
  row("bernoulli_cusum",
      SeriesBytes<det::BernoulliCusum>([] { return *det::BernoulliCusum::Create({}); },
                                       [](det::BernoulliCusum& d, size_t i) {
                                         (void)d.Update(At(i), static_cast<int64_t>(i % 3), 100);
                                       }));
  const std::vector<double> peers = {100, 101, 99};
  row("peer_ratio_cusum", SeriesBytes<det::PeerRatioCusum>(
                              [] { return *det::PeerRatioCusum::Create({}); },
                              [&](det::PeerRatioCusum& d, size_t i) {
                                (void)d.Update(At(i), 100.0 + static_cast<double>(i % 5), peers);
                              }));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  PrintMemory();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
