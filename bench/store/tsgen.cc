#include "bench/store/tsgen.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace candor::bench {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDayMs = 86'400'000.0;
const char* const kGauges[] = {"inference_ttft_seconds", "inference_e2e_seconds",
                               "inference_queue_seconds", "inference_tpot_seconds"};
const double kMedians[] = {0.2, 2.0, 0.05, 0.02};
const char* const kCounters[] = {"inference_requests_total", "inference_prompt_tokens_total",
                                 "inference_generation_tokens_total",
                                 "inference_preemptions_total"};

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

bool ParseProfile(const std::string& s, Profile* p) {
  if (s == "raw")
    *p = Profile::kRaw;
  else if (s == "ms")
    *p = Profile::kMs;
  else if (s == "counter")
    *p = Profile::kCounter;
  else
    return false;
  return true;
}

const char* ProfileName(Profile p) {
  switch (p) {
    case Profile::kRaw:
      return "raw";
    case Profile::kMs:
      return "ms";
    case Profile::kCounter:
      return "counter";
  }
  return "?";
}

std::vector<std::string> MetricNames(Profile profile) {
  std::vector<std::string> out;
  for (int m = 0; m < 4; ++m)
    out.emplace_back(profile == Profile::kCounter ? kCounters[m] : kGauges[m]);
  return out;
}

Labels SeriesLabels(Profile profile, int i) {
  const int m = (i / 250) % 4;
  const int k = i % 250;
  Labels l;
  l.emplace_back("__name__", profile == Profile::kCounter ? kCounters[m] : kGauges[m]);
  l.emplace_back("instance", absl::StrCat("node-", k % 25, ":8000"));
  l.emplace_back("job", "vllm");
  l.emplace_back("model", absl::StrCat("model-", (k / 25) % 5));
  l.emplace_back("stat", k / 125 == 0 ? "p50" : "p99");
  if (i >= 1000) l.emplace_back("shard", absl::StrCat(i / 1000));
  return l;
}

Generator::Generator(const DatasetSpec& spec) : spec_(spec) {
  values_.assign(static_cast<size_t>(spec.series), 0);
  for (int i = 0; i < spec.series; ++i) {
    rng_.emplace_back(Mix(spec.seed * 1000003 + static_cast<uint64_t>(i)));
    lambda_.push_back(10.0 + static_cast<double>(Mix(static_cast<uint64_t>(i) + spec.seed) % 491));
  }
}

const std::vector<double>& Generator::Next() {
  ++j_;
  ts_ = spec_.start_ms + j_ * spec_.interval_ms;
  const double diurnal = 1 + 0.3 * std::sin(2 * kPi * static_cast<double>(ts_) / kDayMs);
  for (size_t i = 0; i < values_.size(); ++i) {
    std::mt19937_64& rng = rng_[i];
    if (spec_.profile == Profile::kCounter) {
      std::poisson_distribution<int> inc(lambda_[i]);
      values_[i] += inc(rng);
      continue;
    }
    const int m = (static_cast<int>(i) / 250) % 4;
    const bool p99 = (static_cast<int>(i) % 250) / 125 == 1;
    std::normal_distribution<double> z(0, 0.5);
    std::uniform_real_distribution<double> u(0, 1);
    double v = kMedians[m] * (p99 ? 3 : 1) * diurnal * std::exp(z(rng));
    if (u(rng) < 0.001) v *= 10;
    if (spec_.profile == Profile::kMs) v = std::round(v * 1000) / 1000;
    values_[i] = v;
  }
  return values_;
}

}  // namespace candor::bench
