// The union of many [start, end) time spans with bounded memory: how busy a GPU was when
// kernels on several streams overlap.
//
// Spans are kept sorted and merged on insert; CUPTI delivers kernels nearly in time order, so
// the usual insert touches only the last span. Past `max_spans` disjoint spans, the older half
// is folded into a running total and forgotten; a later span reaching back into that folded
// past is clipped at its end. The result is exact whenever spans arrive no further out of
// order than the spans kept; otherwise it can only undercount the part of a very late span
// that fell in a folded gap.
//
// Thread safety: not thread-safe.

#ifndef CANDOR_CUDA_PROFILER_SPAN_UNION_H_
#define CANDOR_CUDA_PROFILER_SPAN_UNION_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace candor::cuda_profiler {

class SpanUnion {
 public:
  // `max_spans` ≥ 2: disjoint spans kept before the older half is folded.
  explicit SpanUnion(size_t max_spans) : max_spans_(max_spans < 2 ? 2 : max_spans) {}

  // Adds [start, end); empty or inverted spans are ignored.
  void Add(uint64_t start, uint64_t end);
  // Length of the union so far.
  uint64_t Total() const;
  size_t spans() const { return spans_.size(); }

 private:
  void Fold();

  size_t max_spans_;
  std::vector<std::pair<uint64_t, uint64_t>> spans_;  // Sorted, disjoint, not touching.
  uint64_t folded_ns_ = 0;
  uint64_t folded_until_ = 0;
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_SPAN_UNION_H_
