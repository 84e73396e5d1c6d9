// A sliding window of the last `capacity` values that answers rank queries: how many of them
// are >= x or <= x. It is what turns any statistic into an empirical tail probability against
// the series' own recent history, with no distributional assumption.
//
// Cost: Insert is O(capacity) (a binary search and a memmove in a sorted array), queries are
// O(log capacity). Memory: 16 bytes per slot.
// Thread safety: not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_SLIDING_RANK_H_
#define CANDOR_DETECTORS_SLIDING_RANK_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace candor::detectors {

class SlidingRank {
 public:
  // `capacity` >= 1.
  explicit SlidingRank(size_t capacity);

  // Adds x (finite), evicting the oldest value when full.
  void Insert(double x);
  void Clear();

  size_t size() const { return sorted_.size(); }
  size_t capacity() const { return capacity_; }

  // Values in the window that are >= x, and <= x.
  size_t CountAtLeast(double x) const;
  size_t CountAtMost(double x) const;

  // (CountAtLeast(x) + 1) / (size() + 1): the upper-tail probability of x with the usual +1
  // so it is never 0. Likewise UpperTail for the lower side.
  double UpperTail(double x) const;
  double LowerTail(double x) const;

  // Upper-tail probability of x with a generalised Pareto tail beyond the (1 - tail_fraction)
  // quantile (peaks over threshold, Pickands 1975; streaming use as in Siffer et al., "Anomaly
  // Detection in Streams with Extreme Value Theory", KDD 2017): inside the bulk it is the
  // empirical UpperTail; past the threshold u it is (k / n) (1 + g (x - u) / s)^(-1 / g), with
  // g and s fitted to the k excesses by the method of moments; the excesses' mean is floored at
  // `min_scale` so a flat tail does not make every exceedance infinitely unlikely. Never below
  // 1e-300.
  double UpperTailGpd(double x, double tail_fraction, double min_scale = 0.0) const;
  // The same for the lower tail.
  double LowerTailGpd(double x, double tail_fraction, double min_scale = 0.0) const;

  // The q-quantile (q in [0, 1]) of the window by nearest rank; 0 when empty.
  double Quantile(double q) const;

 private:
  size_t capacity_;
  std::vector<double> ring_;    // Insertion order.
  size_t head_ = 0;             // Next slot to overwrite once full.
  std::vector<double> sorted_;  // The same values, ascending.
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_SLIDING_RANK_H_
