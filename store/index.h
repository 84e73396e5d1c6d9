// PostingsIndex: the in-memory inverted index from label name/value pairs to series refs,
// answering selectors of label matchers (Prometheus's PostingsForMatchers semantics: a
// matcher that accepts the empty string also selects series without the label).
//
// Thread safety: none; SeriesStore guards its index with its own mutex.

#ifndef CANDOR_STORE_INDEX_H_
#define CANDOR_STORE_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "common/labels.h"
#include "store/matcher.h"

namespace candor::store {

class PostingsIndex {
 public:
  // Adds a series. Refs must be added in increasing order (they are allocated so).
  void Add(uint64_t ref, const LabelSet& labels);
  // Removes a series added with the same labels.
  void Remove(uint64_t ref, const LabelSet& labels);

  // Refs (ascending) of the series matching every matcher. InvalidArgumentError if no
  // matcher rejects the empty string (such a selector would match every series).
  absl::StatusOr<std::vector<uint64_t>> Select(const std::vector<LabelMatcher>& matchers) const;

  // Every ref, ascending.
  std::vector<uint64_t> All() const { return {all_.begin(), all_.end()}; }
  // Sorted label names / values over all series.
  std::vector<std::string> LabelNames() const;
  std::vector<std::string> LabelValues(const std::string& name) const;
  // The same, restricted to names (values of `name`) that at least one series with
  // keep(ref) == true carries. `keep` is called at most once per posting, usually once per
  // name or value.
  std::vector<std::string> LabelNamesWhere(absl::FunctionRef<bool(uint64_t)> keep) const;
  std::vector<std::string> LabelValuesWhere(const std::string& name,
                                            absl::FunctionRef<bool(uint64_t)> keep) const;

  size_t num_series() const { return all_.size(); }
  // Approximate heap bytes held.
  int64_t ApproximateBytes() const;

 private:
  using Values = absl::btree_map<std::string, std::vector<uint64_t>>;
  // Union of the postings of the values of `name` that `m` accepts (accept = true) or
  // rejects (accept = false).
  std::vector<uint64_t> Postings(const LabelMatcher& m, bool accept) const;

  absl::flat_hash_map<std::string, Values> postings_;
  absl::btree_set<uint64_t> all_;
  int64_t entries_ = 0;
};

// Sorted-list helpers (exposed for tests).
std::vector<uint64_t> IntersectSorted(const std::vector<uint64_t>& a,
                                      const std::vector<uint64_t>& b);
std::vector<uint64_t> SubtractSorted(const std::vector<uint64_t>& a,
                                     const std::vector<uint64_t>& b);

}  // namespace candor::store

#endif  // CANDOR_STORE_INDEX_H_
