// Exponential backoff with jitter for retrying shipments.
//
// The n-th delay (from 0) is min(max, initial · multiplierⁿ) scaled by a uniform factor in
// [1 − jitter, 1 + jitter], so many processes that lost their collector at the same moment
// do not reconnect in lockstep. The random source is seeded explicitly, so a test sees the
// same schedule every run.
//
// Thread safety: not thread-safe.

#ifndef CANDOR_CUDA_PROFILER_BACKOFF_H_
#define CANDOR_CUDA_PROFILER_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace candor::cuda_profiler {

struct BackoffOptions {
  // First delay. Range 1 ms – 1 h. Default: 200 ms.
  absl::Duration initial = absl::Milliseconds(200);
  // Largest delay before jitter. Range ≥ initial, ≤ 1 h. Default: 30 s.
  absl::Duration max = absl::Seconds(30);
  // Growth per attempt. Range 1–10. Default: 2.
  double multiplier = 2.0;
  // Relative spread of each delay. Range 0–1. Default: 0.2 (±20 %).
  double jitter = 0.2;
};

class Backoff {
 public:
  Backoff(BackoffOptions options, uint64_t seed)
      : options_(options), rng_(seed), unit_(-1.0, 1.0) {}

  // The delay before the next attempt; each call counts one more failed attempt.
  absl::Duration Next() {
    absl::Duration base = options_.initial;
    for (int i = 0; i < attempts_ && base < options_.max; ++i) base = base * options_.multiplier;
    if (base > options_.max) base = options_.max;
    ++attempts_;
    const double factor = 1.0 + options_.jitter * unit_(rng_);
    const absl::Duration d = base * factor;
    return d < absl::ZeroDuration() ? absl::ZeroDuration() : d;
  }

  // After a success: the next delay starts again from `initial`.
  void Reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  BackoffOptions options_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_;
  int attempts_ = 0;
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_BACKOFF_H_
