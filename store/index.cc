#include "store/index.h"

#include <algorithm>

namespace candor::store {
namespace {

std::vector<uint64_t> UnionAll(std::vector<const std::vector<uint64_t>*> lists) {
  if (lists.empty()) return {};
  if (lists.size() == 1) return *lists[0];
  std::vector<uint64_t> out;
  size_t total = 0;
  for (const auto* l : lists) total += l->size();
  out.reserve(total);
  for (const auto* l : lists) out.insert(out.end(), l->begin(), l->end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<uint64_t> IntersectSorted(const std::vector<uint64_t>& a,
                                      const std::vector<uint64_t>& b) {
  std::vector<uint64_t> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<uint64_t> SubtractSorted(const std::vector<uint64_t>& a,
                                     const std::vector<uint64_t>& b) {
  std::vector<uint64_t> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

void PostingsIndex::Add(uint64_t ref, const LabelSet& labels) {
  for (const Label& l : labels.labels()) {
    std::vector<uint64_t>& list = postings_[l.name][l.value];
    if (list.empty() || list.back() < ref) {
      list.push_back(ref);
    } else {
      list.insert(std::lower_bound(list.begin(), list.end(), ref), ref);
    }
    ++entries_;
  }
  all_.insert(ref);
}

void PostingsIndex::Remove(uint64_t ref, const LabelSet& labels) {
  for (const Label& l : labels.labels()) {
    auto n = postings_.find(l.name);
    if (n == postings_.end()) continue;
    auto v = n->second.find(l.value);
    if (v == n->second.end()) continue;
    auto it = std::lower_bound(v->second.begin(), v->second.end(), ref);
    if (it != v->second.end() && *it == ref) {
      v->second.erase(it);
      --entries_;
    }
    if (v->second.empty()) n->second.erase(v);
    if (n->second.empty()) postings_.erase(n);
  }
  all_.erase(ref);
}

std::vector<uint64_t> PostingsIndex::Postings(const LabelMatcher& m, bool accept) const {
  auto n = postings_.find(m.name());
  if (n == postings_.end()) return {};
  const Values& values = n->second;
  std::vector<const std::vector<uint64_t>*> lists;
  if (accept && m.type() == MatchType::kEqual) {
    auto v = values.find(m.value());
    if (v != values.end()) lists.push_back(&v->second);
  } else if (accept && !m.literal_alternatives().empty()) {
    for (const std::string& lit : m.literal_alternatives()) {
      auto v = values.find(lit);
      if (v != values.end()) lists.push_back(&v->second);
    }
  } else if (!accept && m.type() == MatchType::kNotEqual) {
    auto v = values.find(m.value());
    if (v != values.end()) lists.push_back(&v->second);
  } else {
    for (const auto& [value, refs] : values) {
      if (m.Matches(value) == accept) lists.push_back(&refs);
    }
  }
  return UnionAll(std::move(lists));
}

absl::StatusOr<std::vector<uint64_t>> PostingsIndex::Select(
    const std::vector<LabelMatcher>& matchers) const {
  std::vector<const LabelMatcher*> positive;
  std::vector<const LabelMatcher*> negative;
  for (const LabelMatcher& m : matchers) (m.MatchesEmpty() ? negative : positive).push_back(&m);
  if (positive.empty()) {
    return absl::InvalidArgumentError(
        "vector selector must contain at least one non-empty matcher");
  }
  // Most selective first: an equality matcher's list is usually the shortest.
  std::stable_sort(positive.begin(), positive.end(),
                   [](const LabelMatcher* a, const LabelMatcher* b) {
                     return (a->type() == MatchType::kEqual) > (b->type() == MatchType::kEqual);
                   });
  std::vector<uint64_t> result = Postings(*positive[0], true);
  for (size_t i = 1; i < positive.size() && !result.empty(); ++i) {
    result = IntersectSorted(result, Postings(*positive[i], true));
  }
  for (const LabelMatcher* m : negative) {
    if (result.empty()) break;
    // Series whose label is present with a value the matcher rejects.
    result = SubtractSorted(result, Postings(*m, false));
  }
  return result;
}

std::vector<std::string> PostingsIndex::LabelNames() const {
  std::vector<std::string> out;
  out.reserve(postings_.size());
  for (const auto& [name, values] : postings_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PostingsIndex::LabelValues(const std::string& name) const {
  std::vector<std::string> out;
  auto n = postings_.find(name);
  if (n == postings_.end()) return out;
  for (const auto& [value, refs] : n->second) out.push_back(value);
  return out;
}

std::vector<std::string> PostingsIndex::LabelNamesWhere(
    absl::FunctionRef<bool(uint64_t)> keep) const {
  std::vector<std::string> out;
  for (const auto& [name, values] : postings_) {
    const bool any = std::any_of(values.begin(), values.end(), [&](const auto& v) {
      return std::any_of(v.second.begin(), v.second.end(), keep);
    });
    if (any) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PostingsIndex::LabelValuesWhere(
    const std::string& name, absl::FunctionRef<bool(uint64_t)> keep) const {
  std::vector<std::string> out;
  auto n = postings_.find(name);
  if (n == postings_.end()) return out;
  for (const auto& [value, refs] : n->second) {
    if (std::any_of(refs.begin(), refs.end(), keep)) out.push_back(value);
  }
  return out;
}

int64_t PostingsIndex::ApproximateBytes() const {
  int64_t bytes = static_cast<int64_t>(all_.size()) * 16 + entries_ * 8;
  for (const auto& [name, values] : postings_) {
    bytes += static_cast<int64_t>(name.size()) + 64;
    for (const auto& [value, refs] : values) {
      bytes += static_cast<int64_t>(value.size() + refs.capacity() * 8) + 64;
    }
  }
  return bytes;
}

}  // namespace candor::store
