// cuda-profiler without a GPU: decode throughput of CUPTI activity buffers and the memory cap
// under a flood of records.
//
//   cuda_decode_bench [--reps N] [--mib M] [--smoke]
//
// Sections (each repeated N times, median reported with min and max):
//   decode/packed     walk + decode, candor's 13.0 layout walker, counting sink
//   decode/libcupti   walk with the real cuptiActivityGetNextRecord + decode
//   decode+aggregate  walk + decode + KernelAggregator (what runs in CUPTI's callback)
//   pipeline          RequestBuffer + copy in + CompleteBuffer + Close, as CUPTI drives it
//   flood             a producer filling 1 MiB buffers as fast as memcpy allows against a
//                     16 MiB cap, a consumer decoding them: refusals, drops, peak memory
//   hostile           2M kernels with unique names and correlation ids: bounded state
// Timing uses RealClock; the machine is shared, so repeat and compare medians.

#include <cupti_activity.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/cuda/synthetic_mix.h"
#include "common/clock.h"
#include "cuda-profiler/activity_pipeline.h"
#include "cuda-profiler/aggregator.h"
#include "cuda-profiler/cupti_decode.h"

namespace candor::bench {
namespace {

using cuda_profiler::testing::SyntheticActivityBuffer;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ULL;

class CountingSink final : public cuda_profiler::ActivitySink {
 public:
  void OnKernel(const cuda_profiler::KernelActivity& a) override { n += 1 + a.name.size() % 2; }
  void OnMemcpy(const cuda_profiler::MemcpyActivity&) override { ++n; }
  void OnMemset(const cuda_profiler::MemsetActivity&) override { ++n; }
  void OnMemory(const cuda_profiler::MemoryActivity&) override { ++n; }
  void OnSync(const cuda_profiler::SyncActivity&) override { ++n; }
  void OnOverhead(const cuda_profiler::OverheadActivity&) override { ++n; }
  void OnDevice(const cuda_profiler::DeviceActivity&) override { ++n; }
  void OnContext(const cuda_profiler::ContextActivity&) override { ++n; }
  void OnExternalCorrelation(const cuda_profiler::ExternalCorrelationActivity&) override { ++n; }
  void OnGraphLaunch(const cuda_profiler::GraphLaunchActivity&) override { ++n; }
  uint64_t n = 0;
};

class LibcuptiIterator final : public cuda_profiler::RecordIterator {
 public:
  cuda_profiler::NextRecord Next(uint8_t* buffer, size_t valid, uint8_t** record) override {
    auto* r = reinterpret_cast<CUpti_Activity*>(*record);
    const CUptiResult rc = cuptiActivityGetNextRecord(buffer, valid, &r);
    if (rc == CUPTI_SUCCESS) {
      *record = reinterpret_cast<uint8_t*>(r);
      return cuda_profiler::NextRecord::kRecord;
    }
    return rc == CUPTI_ERROR_MAX_LIMIT_REACHED ? cuda_profiler::NextRecord::kEnd
                                               : cuda_profiler::NextRecord::kInvalid;
  }
};

struct Summary {
  double median = 0, min = 0, max = 0;
};

Summary Summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

void Report(const char* name, const std::vector<double>& rates, const char* unit) {
  const Summary s = Summarise(rates);
  std::printf("%-18s %8.2f M%s (min %.2f, max %.2f, %zu runs)\n", name, s.median / 1e6, unit,
              s.min / 1e6, s.max / 1e6, rates.size());
}

long RssKiB() {  // NOLINT(runtime/int)
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// Times `body` (which returns the records it processed) `reps` times; returns records/s.
template <typename F>
std::vector<double> Rates(int reps, F body) {
  RealClock clock;
  std::vector<double> rates;
  for (int i = 0; i < reps; ++i) {
    const absl::Time t0 = clock.MonotonicNow();
    const uint64_t records = body();
    const double s = absl::ToDoubleSeconds(clock.MonotonicNow() - t0);
    rates.push_back(static_cast<double>(records) / s);
  }
  return rates;
}

void DecodeSections(int reps, size_t mib) {
  SyntheticActivityBuffer mix;
  const MixStats ms = FillMix(mix, mib << 20, kT0, 2000, 2, 42);
  std::printf("buffer: %zu MiB, %lu records (%lu kernels), %.0f B/record\n", mib,
              static_cast<unsigned long>(ms.records),  // NOLINT(runtime/int)
              static_cast<unsigned long>(ms.kernels),  // NOLINT(runtime/int)
              static_cast<double>(mix.size()) / static_cast<double>(ms.records));
  cuda_profiler::PackedRecordIterator packed;
  LibcuptiIterator libcupti;
  // Each run walks the buffer kPasses times, so one run lasts long enough to time.
  constexpr int kPasses = 8;
  Report("decode/packed",
         Rates(reps,
               [&] {
                 CountingSink sink;
                 cuda_profiler::ActivityDecoder d;
                 for (int i = 0; i < kPasses; ++i)
                   (void)d.DecodeBuffer(mix.data(), mix.size(), packed, sink);
                 return d.stats().records;
               }),
         "rec/s");
  Report("decode/libcupti",
         Rates(reps,
               [&] {
                 CountingSink sink;
                 cuda_profiler::ActivityDecoder d;
                 for (int i = 0; i < kPasses; ++i) {
                   (void)d.DecodeBuffer(mix.data(), mix.size(), libcupti, sink);
                 }
                 return d.stats().records;
               }),
         "rec/s");
  Report("decode+aggregate",
         Rates(reps,
               [&] {
                 cuda_profiler::KernelAggregator agg(cuda_profiler::ProcessIdentity{.node = "n"},
                                                     cuda_profiler::AggregatorOptions{}, nullptr);
                 cuda_profiler::ActivityDecoder d;
                 for (int i = 0; i < kPasses; ++i)
                   (void)d.DecodeBuffer(mix.data(), mix.size(), packed, agg);
                 (void)agg.CloseAll();
                 return d.stats().records;
               }),
         "rec/s");
  // One pipeline for every run, as in a live process: buffers are reused, not faulted in.
  SimulatedClock sim(absl::FromUnixNanos(static_cast<int64_t>(kT0)));
  cuda_profiler::ActivityPipeline p(
      sim, cuda_profiler::ProcessIdentity{.node = "n"}, cuda_profiler::AggregatorOptions{},
      cuda_profiler::PipelineOptions{.buffer_bytes = (mib + 1) << 20,
                                     .memory_cap_bytes = (mib + 1) << 21},
      nullptr);
  Report("pipeline",
         Rates(reps,
               [&] {
                 const uint64_t before = p.stats().decode.records;
                 for (int i = 0; i < kPasses; ++i) {
                   const auto b = p.RequestBuffer();
                   const size_t valid = mix.CopyTo(b.data, b.size);
                   p.CompleteBuffer(b.data, valid, packed);
                 }
                 (void)p.Close();
                 return p.stats().decode.records - before;
               }),
         "rec/s");
}

void Flood(size_t offers) {
  constexpr size_t kBuffer = size_t{1} << 20;
  constexpr size_t kCap = size_t{16} << 20;
  SyntheticActivityBuffer mix;
  const MixStats ms = FillMix(mix, kBuffer - 512, kT0, 2000, 2, 7);
  SimulatedClock sim(absl::FromUnixNanos(static_cast<int64_t>(kT0)));
  cuda_profiler::ActivityPipeline p(
      sim, cuda_profiler::ProcessIdentity{.node = "n"}, cuda_profiler::AggregatorOptions{},
      cuda_profiler::PipelineOptions{.buffer_bytes = kBuffer, .memory_cap_bytes = kCap}, nullptr);
  absl::Mutex mu;
  std::deque<uint8_t*> filled;
  bool done = false;
  const long rss0 = RssKiB();  // NOLINT(runtime/int)
  RealClock clock;
  const absl::Time t0 = clock.MonotonicNow();
  std::thread consumer([&] {
    cuda_profiler::PackedRecordIterator it;
    while (true) {
      uint8_t* b = nullptr;
      {
        absl::MutexLock lock(&mu);
        auto ready = [&filled, &done] { return !filled.empty() || done; };
        mu.Await(absl::Condition(&ready));
        if (filled.empty()) return;
        b = filled.front();
        filled.pop_front();
      }
      p.CompleteBuffer(b, mix.size(), it);
    }
  });
  std::vector<uint8_t> scratch(kBuffer);
  uint64_t refused_records = 0;
  for (size_t i = 0; i < offers; ++i) {
    const auto b = p.RequestBuffer();
    if (b.data == nullptr) {
      mix.CopyTo(scratch.data(), scratch.size());  // CUPTI writes these records into the void.
      refused_records += ms.records;
      continue;
    }
    mix.CopyTo(b.data, b.size);
    absl::MutexLock lock(&mu);
    filled.push_back(b.data);
  }
  {
    absl::MutexLock lock(&mu);
    done = true;
  }
  consumer.join();
  const double secs = absl::ToDoubleSeconds(clock.MonotonicNow() - t0);
  const auto st = p.stats();
  const uint64_t offered = offers * ms.records;
  std::printf(
      "flood: %zu buffers of 1 MiB offered (%lu records) in %.2f s against a 16 MiB cap\n"
      "  accepted %lu, refused %lu (%.1f %% of records dropped), decoded %lu records "
      "(%.2f Mrec/s end to end)\n"
      "  peak buffer memory %.1f MiB (cap 16.0), accounted: decoded + dropped = offered: %s\n"
      "  RSS %+.1f MiB over the run\n",
      offers, static_cast<unsigned long>(offered), secs,  // NOLINT(runtime/int)
      static_cast<unsigned long>(st.buffers_completed),   // NOLINT(runtime/int)
      static_cast<unsigned long>(st.buffers_refused),     // NOLINT(runtime/int)
      100.0 * static_cast<double>(refused_records) / static_cast<double>(offered),
      static_cast<unsigned long>(st.decode.records),  // NOLINT(runtime/int)
      static_cast<double>(st.decode.records) / secs / 1e6,
      static_cast<double>(st.peak_outstanding_bytes) / (1 << 20),
      st.decode.records + refused_records == offered ? "yes" : "NO",
      static_cast<double>(RssKiB() - rss0) / 1024.0);
}

void Hostile(uint64_t records) {
  const long rss0 = RssKiB();  // NOLINT(runtime/int)
  cuda_profiler::KernelAggregator agg(cuda_profiler::ProcessIdentity{.node = "n"},
                                      cuda_profiler::AggregatorOptions{}, nullptr);
  agg.SetNow(absl::FromUnixNanos(static_cast<int64_t>(kT0)));
  std::string name;
  for (uint64_t i = 0; i < records; ++i) {
    name = "kernel_" + std::to_string(i * 2654435761ULL);
    cuda_profiler::ExternalCorrelationActivity e;
    e.external_id = i;
    e.correlation_id = static_cast<uint32_t>(i + 1);
    agg.OnExternalCorrelation(e);
    cuda_profiler::KernelActivity k;
    k.start_ns = kT0 + i * 10;
    k.end_ns = k.start_ns + 5;
    k.correlation_id = static_cast<uint32_t>(i + 1);
    k.device_id = static_cast<uint32_t>(i % 8);
    k.name = name;
    agg.OnKernel(k);
  }
  const size_t open = agg.open_intervals();
  const auto out = agg.CloseAll();
  size_t ids = 0;
  for (const auto& s : out) ids += static_cast<size_t>(s.request_ids_size());
  std::printf(
      "hostile: %lu kernels with unique names and correlation ids on 8 GPUs\n"
      "  names kept %lu + %lu under [other], open intervals %zu, request ids listed %zu "
      "(overflow %lu), RSS %+.1f MiB\n",
      static_cast<unsigned long>(records),  // NOLINT(runtime/int)
      static_cast<unsigned long>(agg.stats().kernels - agg.stats().other_names),  // NOLINT
      static_cast<unsigned long>(agg.stats().other_names), open, ids,  // NOLINT(runtime/int)
      static_cast<unsigned long>(agg.stats().request_ids_overflow),    // NOLINT(runtime/int)
      static_cast<double>(RssKiB() - rss0) / 1024.0);
}

}  // namespace
}  // namespace candor::bench

int main(int argc, char** argv) {
  int reps = 7;
  size_t mib = 16;
  size_t flood_offers = 4000;
  uint64_t hostile = 2'000'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) {
      reps = 1;
      mib = 1;
      flood_offers = 64;
      hostile = 20'000;
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
      mib = static_cast<size_t>(std::max(1, std::atoi(argv[++i])));
    }
  }
  candor::bench::DecodeSections(reps, mib);
  candor::bench::Flood(flood_offers);
  candor::bench::Hostile(hostile);
  return 0;
}
