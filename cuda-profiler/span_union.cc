#include "cuda-profiler/span_union.h"

#include <algorithm>

namespace candor::cuda_profiler {

void SpanUnion::Add(uint64_t start, uint64_t end) {
  start = std::max(start, folded_until_);
  if (end <= start) return;
  if (spans_.empty() || start > spans_.back().second) {
    spans_.emplace_back(start, end);
  } else if (start >= spans_.back().first) {
    spans_.back().second = std::max(spans_.back().second, end);
  } else {
    // Out of order: the first span that ends at or after `start` is where the merge begins.
    auto first = std::lower_bound(spans_.begin(), spans_.end(), start,
                                  [](const auto& span, uint64_t s) { return span.second < s; });
    auto last = first;
    uint64_t merged_start = start;
    uint64_t merged_end = end;
    while (last != spans_.end() && last->first <= end) {
      merged_start = std::min(merged_start, last->first);
      merged_end = std::max(merged_end, last->second);
      ++last;
    }
    if (first == last) {
      spans_.insert(first, {start, end});
    } else {
      *first = {merged_start, merged_end};
      spans_.erase(first + 1, last);
    }
  }
  if (spans_.size() > max_spans_) Fold();
}

void SpanUnion::Fold() {
  const size_t half = spans_.size() / 2;
  for (size_t i = 0; i < half; ++i) folded_ns_ += spans_[i].second - spans_[i].first;
  folded_until_ = spans_[half - 1].second;
  spans_.erase(spans_.begin(), spans_.begin() + static_cast<std::ptrdiff_t>(half));
}

uint64_t SpanUnion::Total() const {
  uint64_t total = folded_ns_;
  for (const auto& [s, e] : spans_) total += e - s;
  return total;
}

}  // namespace candor::cuda_profiler
