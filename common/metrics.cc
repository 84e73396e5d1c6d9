#include "common/metrics.h"

namespace candor {

std::vector<double> LatencyBucketsSeconds() {
  // 0.0001 × 2^k up to ~105 s: fine at the millisecond end, where ack latency lives.
  std::vector<double> bounds;
  for (double b = 0.0001; b < 120.0; b *= 2.0) bounds.push_back(b);
  return bounds;
}

}  // namespace candor
