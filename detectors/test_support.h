// Test support for detector tests: a seeded, platform-independent Gaussian source and run-length
// helpers. Only test targets include this header.

#ifndef CANDOR_DETECTORS_TEST_SUPPORT_H_
#define CANDOR_DETECTORS_TEST_SUPPORT_H_

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

#include "absl/time/time.h"

namespace candor::detectors::testing {

// N(0, 1) draws from mt19937_64 through Box-Muller, so sequences do not depend on the standard
// library's distribution implementation.
class Gaussian {
 public:
  explicit Gaussian(uint64_t seed) : rng_(seed) {}

  double Next() {
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    double u1 = Uniform();
    while (u1 <= 0.0) u1 = Uniform();
    const double u2 = Uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    have_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * u2);
  }

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  std::mt19937_64 rng_;
  double spare_ = 0.0;
  bool have_spare_ = false;
};

// The time of sample `i` of a stream sampled every `step`.
inline absl::Time SampleTime(int64_t i, absl::Duration step = absl::Seconds(10)) {
  return absl::FromUnixSeconds(1700000000) + step * i;
}

}  // namespace candor::detectors::testing

#endif  // CANDOR_DETECTORS_TEST_SUPPORT_H_
