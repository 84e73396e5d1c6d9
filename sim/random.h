// Deterministic random numbers for the fleet simulator.
//
// The simulator must produce the same stream for the same seed on every host and standard
// library, so it does not use <random>'s distributions (their algorithms are unspecified).
// `Rng` is xoshiro256** seeded through splitmix64; every transform below is written out here.
//
// Thread safety: an Rng is a value owned by one thread.

#ifndef CANDOR_SIM_RANDOM_H_
#define CANDOR_SIM_RANDOM_H_

#include <cstdint>
#include <span>
#include <string_view>

namespace candor::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // A new generator whose stream depends only on this seed and `salt` (e.g. an entity name),
  // so adding an entity does not shift every other entity's stream.
  static Rng Derive(uint64_t seed, std::string_view salt);

  uint64_t NextU64();
  // Uniform in [0, 1).
  double Uniform();
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // True with probability `p` (clamped to [0, 1]).
  bool Bernoulli(double p);
  // Standard normal (Box-Muller; the second value is kept for the next call).
  double Normal();
  double Normal(double mean, double sd) { return mean + sd * Normal(); }
  // exp(N(log(median), sigma)): a heavy-ish right tail with the given median.
  double LogNormal(double median, double sigma);
  // Exponential with the given mean (> 0).
  double Exponential(double mean);
  // Poisson count with the given mean: exact inversion below 30, rounded normal above.
  int64_t Poisson(double mean);
  // Index drawn with probability proportional to `weights` (non-negative, not all zero).
  size_t Choice(std::span<const double> weights);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// A stable 64-bit hash of a string (FNV-1a then a splitmix finaliser), identical on every host.
uint64_t StableHash(std::string_view s);

}  // namespace candor::sim

#endif  // CANDOR_SIM_RANDOM_H_
