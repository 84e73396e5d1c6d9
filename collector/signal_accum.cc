#include "collector/signal_accum.h"

#include <algorithm>
#include <cmath>

#include "absl/numeric/int128.h"

namespace candor::collector {
namespace {

using detectors::kNoValue;
using detectors::Signal;
using detectors::WindowSummary;

// The q-quantile (0 < q < 1, nearest rank) of `v`, reordering it; NaN when empty.
double Quantile(std::vector<double>& v, double q) {
  if (v.empty()) return kNoValue;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// Evenly spaced elements, in arrival order, at most `k` of them.
void Subsample(const std::vector<double>& v, size_t k, std::vector<double>& out) {
  out.clear();
  if (v.size() <= k) {
    out = v;
    return;
  }
  out.reserve(k);
  for (size_t i = 0; i < k; ++i) out.push_back(v[i * v.size() / k]);
}

double Ratio(double num, int64_t den) {
  return den > 0 ? num / static_cast<double>(den) : kNoValue;
}

void SummarizeSamples(SignalAggregator::Accum& a, double secs, WindowSummary& out) {
  out.Set(Signal::kReplicaSamples, static_cast<double>(a.rs_n));
  out.Set(Signal::kQueueDepthMean, Ratio(a.q_sum, a.q_n));
  out.Set(Signal::kQueueDepthMax, a.q_n > 0 ? a.q_max : kNoValue);
  out.Set(Signal::kRunningMean, Ratio(a.run_sum, a.run_n));
  out.Set(Signal::kKvUsageMean, Ratio(a.kv_sum, a.kv_n));
  out.Set(Signal::kKvUsageMax, a.kv_n > 0 ? a.kv_max : kNoValue);
  out.Set(Signal::kGpuUtilMean, Ratio(a.util_sum, a.util_n));
  out.Set(Signal::kWarmingFraction, Ratio(static_cast<double>(a.warming_n), a.rs_n));
  out.Set(Signal::kNotReadyFraction, Ratio(static_cast<double>(a.not_ready_n), a.rs_n));
  if (a.delta_n > 0) {
    out.Set(Signal::kPreemptionRate, static_cast<double>(a.preempt_delta) / secs);
    out.Set(Signal::kFinishedRate, static_cast<double>(a.finished_delta) / secs);
    out.Set(Signal::kGenTokensRate, static_cast<double>(a.generated_delta) / secs);
  }
  out.Set(Signal::kGpuSamples, static_cast<double>(a.g_n));
  out.Set(Signal::kSmClockRatio, Ratio(a.clock_sum, a.clock_n));
  out.Set(Signal::kTemperatureMean, Ratio(a.temp_sum, a.temp_n));
  out.Set(Signal::kThrottleFraction, Ratio(static_cast<double>(a.throttle_n), a.g_n));
  out.Set(Signal::kPowerMean, Ratio(a.power_sum, a.power_n));
  if (a.g_n > 0) {
    out.Set(Signal::kXidEvents, static_cast<double>(a.xid_n));
    out.Set(Signal::kEccErrors, a.ecc_max >= 0 ? static_cast<double>(a.ecc_max - a.ecc_min) : 0.0);
  }
  if (a.interval_ms > 0) out.Set(Signal::kKernelBusyFraction, a.busy_ms / a.interval_ms);
}

}  // namespace

void SignalAggregator::Accum::Clear() {
  counts.fill(0);
  for (std::vector<double>* v : {&latency, &service, &ttft, &service_ttft, &queue, &tps, &input,
                                 &output, &quality, &kv_admission}) {
    v->clear();
  }
  rs_n = q_n = run_n = kv_n = util_n = warming_n = not_ready_n = 0;
  q_sum = q_max = run_sum = kv_sum = kv_max = util_sum = 0;
  preempt_delta = finished_delta = generated_delta = delta_n = 0;
  g_n = clock_n = temp_n = power_n = throttle_n = xid_n = 0;
  clock_sum = temp_sum = power_sum = 0;
  ecc_max = ecc_min = -1;
  busy_ms = interval_ms = 0;
  items = 0;
  seen.fill(0);
  sums.fill(0);
  skips.fill({});
  for (auto& c : cohorts) {
    c.values.clear();
    c.seen = 0;
    c.skip = {};
  }
  tenants.clear();
  dependencies.clear();
  models.clear();
  annotations.clear();
  release_track.clear();
  touched = false;
}

namespace {

// SplitMix64: the reservoir's deterministic source of slots.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A uniform draw in (0, 1) for value `n` and purpose `salt`.
double Uniform(uint64_t n, uint64_t salt) {
  return (static_cast<double>(Mix(n * 4 + salt) >> 11) + 0.5) * 0x1p-53;
}

// Values a full reservoir of weight `w` skips before taking one, drawn for value `n`.
uint64_t SkipAfter(uint64_t n, double w) {
  const double skip = std::floor(std::log(Uniform(n, 1)) / std::log1p(-w));
  return skip < 1e18 ? static_cast<uint64_t>(skip) : uint64_t{1} << 60;
}

// Algorithm L (Li, 1994): the n-th value (0-based) of a stream, kept in a uniform sample of
// at most `cap` values. Once the sample is full, only the values at `skip.next` are drawn
// for; each replaces a uniformly chosen slot.
void Reservoir(std::vector<double>& v, SignalAggregator::Accum::Skip& skip, uint64_t n, double x,
               size_t cap) {
  const double k = static_cast<double>(cap);
  if (v.size() < cap) {
    v.push_back(x);
    if (v.size() == cap) {
      skip.w = std::exp(std::log(Uniform(n, 2)) / k);
      skip.next = n + 1 + SkipAfter(n, skip.w);
    }
    return;
  }
  if (n < skip.next) return;
  // A uniform slot by multiply-high (no 64-bit division).
  v[absl::Uint128High64(absl::uint128(Mix(n * 4 + 3)) * cap)] = x;
  skip.w *= std::exp(std::log(Uniform(n, 2)) / k);
  skip.next = n + 1 + SkipAfter(n, skip.w);
}

}  // namespace

void SignalAggregator::Accum::Keep(Dist d, std::vector<double>& v, double x) {
  Reservoir(v, skips[d], seen[d], x, kMaxValues);
  ++seen[d];
  sums[d] += x;
}

double SignalAggregator::Accum::MeanOf(Dist d) const {
  return seen[d] > 0 ? sums[d] / static_cast<double>(seen[d]) : kNoValue;
}

void SignalAggregator::Accum::AddCohort(int key, double decode_tps) {
  CohortValues* c = nullptr;
  for (auto& existing : cohorts) {
    if (existing.key == key) c = &existing;
  }
  if (c == nullptr) c = &cohorts.emplace_back(CohortValues{key, {}, 0, {}});
  Reservoir(c->values, c->skip, c->seen, decode_tps, kMaxValues);
  ++c->seen;
}

EventFacts FactsOf(const candor::v1::InferenceEvent& e) {
  EventFacts f;
  f.ok = e.status() == candor::v1::OK;
  if (e.has_latency_ms() && e.latency_ms() >= 0.0) f.latency = e.latency_ms();
  for (const auto& call : e.dependencies()) f.deps_ms += std::max(0.0, call.latency_ms());
  if (f.ok && e.has_ttft_ms() && f.latency >= 0.0 && e.has_output_tokens() &&
      e.output_tokens() > 0 && f.latency > e.ttft_ms()) {
    f.tps = static_cast<double>(e.output_tokens()) / ((f.latency - e.ttft_ms()) / 1000.0);
  }
  return f;
}

void SignalAggregator::Accum::AddEvent(const candor::v1::InferenceEvent& e, const EventFacts& f) {
  ++items;
  Count(Signal::kRequests);
  const candor::v1::Status status = e.status();
  if (f.ok) Count(Signal::kOk);
  if (status == candor::v1::ERROR) Count(Signal::kErrors);
  if (status == candor::v1::TIMEOUT) {
    Count(Signal::kTimeouts);
    // A timeout spent mostly waiting on dependencies is not the serving side's own.
    if (!(f.deps_ms >= 0.5 * f.latency)) Count(Signal::kOwnTimeouts);
  }
  if (status == candor::v1::REJECTED) Count(Signal::kRejected);
  if (status == candor::v1::CANCELLED) Count(Signal::kCancelled);
  if (e.http_status() == 429) Count(Signal::kHttp429);
  if (e.http_status() >= 500 && e.http_status() <= 599) Count(Signal::kHttp5xx);
  if (e.circuit_state() == candor::v1::OPEN) Count(Signal::kCircuitOpen);
  if (e.fallback_tier() > 0 && e.fallback_tier() < 5) Count(Signal::kFallback);
  if (e.fallback_tier() == 5) Count(Signal::kFeatureDisabled);
  if (e.validation() == candor::v1::PASSED || e.validation() == candor::v1::FAILED) {
    Count(Signal::kValidationChecked);
    if (e.validation() == candor::v1::FAILED) Count(Signal::kValidationFailed);
  }
  if (e.truncated_input_tokens() > 0) Count(Signal::kTruncated);
  if (e.synthetic()) {
    Count(Signal::kSynthetic);
    if (!f.ok) Count(Signal::kSyntheticFailed);
  }
  if (e.has_preemptions() && e.preemptions() > 0) Count(Signal::kPreemptions, e.preemptions());
  if (f.latency >= 0.0) {
    Keep(kLatency, latency, f.latency);
    Keep(kService, service, std::max(0.0, f.latency - f.deps_ms));
  }
  if (f.ok && e.has_ttft_ms()) {
    Keep(kTtft, ttft, e.ttft_ms());
    Keep(kServiceTtft, service_ttft, std::max(0.0, e.ttft_ms() - f.deps_ms));
  }
  if (e.has_queue_ms()) Keep(kQueue, queue, e.queue_ms());
  if (f.tps > 0.0) Keep(kTps, tps, f.tps);
  if (e.has_input_tokens()) Keep(kInput, input, static_cast<double>(e.input_tokens()));
  if (f.ok && e.has_output_tokens()) {
    Keep(kOutput, output, static_cast<double>(e.output_tokens()));
  }
  if (e.has_quality_score()) Keep(kQuality, quality, e.quality_score());
  if (e.has_kv_cache_usage()) Keep(kKvAdmission, kv_admission, e.kv_cache_usage());
}

void SignalAggregator::Accum::AddCall(const candor::v1::DependencyCall& call) {
  ++items;
  Count(Signal::kRequests);
  if (call.status() == candor::v1::OK) Count(Signal::kOk);
  if (call.status() == candor::v1::ERROR) Count(Signal::kErrors);
  if (call.status() == candor::v1::TIMEOUT) {
    Count(Signal::kTimeouts);
    Count(Signal::kOwnTimeouts);
  }
  if (call.status() == candor::v1::REJECTED) Count(Signal::kRejected);
  Keep(kLatency, latency, std::max(0.0, call.latency_ms()));
  Keep(kService, service, std::max(0.0, call.latency_ms()));
}

void SignalAggregator::Accum::AddReplicaSample(const candor::v1::ReplicaSample& s,
                                               const CounterDeltas* deltas) {
  ++items;
  ++rs_n;
  if (s.has_queue_depth()) {
    const double q = static_cast<double>(s.queue_depth());
    q_sum += q;
    q_max = std::max(q_max, q);
    ++q_n;
  }
  if (s.has_running_requests()) {
    run_sum += static_cast<double>(s.running_requests());
    ++run_n;
  }
  if (s.has_kv_cache_usage()) {
    kv_sum += s.kv_cache_usage();
    kv_max = std::max(kv_max, s.kv_cache_usage());
    ++kv_n;
  }
  if (s.has_gpu_utilization()) {
    util_sum += s.gpu_utilization();
    ++util_n;
  }
  if (s.has_warming() && s.warming()) ++warming_n;
  if (s.has_ready() && !s.ready()) ++not_ready_n;
  if (deltas != nullptr) {
    preempt_delta += deltas->preemptions;
    finished_delta += deltas->finished;
    generated_delta += deltas->generated;
    ++delta_n;
  }
}

void SignalAggregator::Accum::AddGpuSample(const candor::v1::GpuSample& g) {
  // NVML clock-event reasons that mean the GPU is being held back: SW power cap, HW slowdown,
  // SW/HW thermal slowdown, HW power brake (not "idle" or application clock settings).
  constexpr uint64_t kThrottleMask = 0x4 | 0x8 | 0x20 | 0x40 | 0x80;
  ++items;
  ++g_n;
  if (g.has_sm_clock_mhz() && g.has_max_sm_clock_mhz() && g.max_sm_clock_mhz() > 0.0) {
    clock_sum += g.sm_clock_mhz() / g.max_sm_clock_mhz();
    ++clock_n;
  }
  if (g.has_temperature_c()) {
    temp_sum += g.temperature_c();
    ++temp_n;
  }
  if (g.has_power_w()) {
    power_sum += g.power_w();
    ++power_n;
  }
  if (g.has_clock_event_reasons() && (g.clock_event_reasons() & kThrottleMask) != 0) {
    ++throttle_n;
  }
  if (g.has_xid_last() && g.xid_last() != 0) ++xid_n;
  if (g.has_ecc_uncorrected_total()) {
    const int64_t ecc =
        static_cast<int64_t>(std::min<uint64_t>(g.ecc_uncorrected_total(), uint64_t{1} << 62));
    ecc_max = std::max(ecc_max, ecc);
    ecc_min = ecc_min < 0 ? ecc : std::min(ecc_min, ecc);
  }
}

void SignalAggregator::Accum::Note(std::vector<std::string>& list, const std::string& name) {
  if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
}

void SummarizeAccum(SignalAggregator::Accum& a, double secs, size_t max_samples,
                    const std::vector<std::string>& cohort_keys, WindowSummary& out) {
  out.has_data = a.touched;
  for (size_t i = 0; i < kNumCounts; ++i) out.values[i] = static_cast<double>(a.counts[i]);
  out.Set(Signal::kItems, static_cast<double>(a.items));
  Subsample(a.latency, max_samples, out.latency_samples);
  Subsample(a.input, max_samples, out.input_token_samples);
  Subsample(a.output, max_samples, out.output_token_samples);
  out.Set(Signal::kInputTokensMean, a.MeanOf(SignalAggregator::Accum::kInput));
  out.Set(Signal::kOutputTokensMean, a.MeanOf(SignalAggregator::Accum::kOutput));
  out.Set(Signal::kQualityMean, a.MeanOf(SignalAggregator::Accum::kQuality));
  out.Set(Signal::kKvAtAdmissionMean, a.MeanOf(SignalAggregator::Accum::kKvAdmission));
  out.Set(Signal::kLatencyP50, Quantile(a.latency, 0.50));
  out.Set(Signal::kLatencyP95, Quantile(a.latency, 0.95));
  out.Set(Signal::kLatencyP99, Quantile(a.latency, 0.99));
  out.Set(Signal::kServiceP95, Quantile(a.service, 0.95));
  out.Set(Signal::kTtftP50, Quantile(a.ttft, 0.50));
  out.Set(Signal::kTtftP95, Quantile(a.ttft, 0.95));
  out.Set(Signal::kServiceTtftP95, Quantile(a.service_ttft, 0.95));
  out.Set(Signal::kQueueP95, Quantile(a.queue, 0.95));
  out.Set(Signal::kDecodeTpsP50, Quantile(a.tps, 0.50));
  out.Set(Signal::kInputTokensP50, Quantile(a.input, 0.50));
  out.Set(Signal::kOutputTokensP50, Quantile(a.output, 0.50));
  SummarizeSamples(a, secs, out);
  for (auto& c : a.cohorts) {
    if (c.values.empty()) continue;
    out.cohorts.push_back({cohort_keys[static_cast<size_t>(c.key)], static_cast<int64_t>(c.seen),
                           Quantile(c.values, 0.5)});
  }
  std::sort(out.cohorts.begin(), out.cohorts.end(),
            [](const auto& x, const auto& y) { return x.model < y.model; });
  out.tenants.assign(a.tenants.begin(), a.tenants.end());
  std::sort(out.tenants.begin(), out.tenants.end());
  out.dependencies = a.dependencies;
  std::sort(out.dependencies.begin(), out.dependencies.end());
  out.models = a.models;
  std::sort(out.models.begin(), out.models.end());
  out.annotations = a.annotations;
  std::stable_sort(out.annotations.begin(), out.annotations.end(),
                   [](const auto& x, const auto& y) { return x.time < y.time; });
  out.release_track = a.release_track;
}

}  // namespace candor::collector
