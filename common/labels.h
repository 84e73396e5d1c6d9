// Label sets: the identity of a series (a metric name plus sorted name/value pairs), in the
// Prometheus data model. A LabelSet is immutable once built and always sorted by name with no
// duplicate or empty names, so equal sets compare and hash equal.
//
// Thread safety: a LabelSet is a value; const methods are safe from any thread.

#ifndef CANDOR_COMMON_LABELS_H_
#define CANDOR_COMMON_LABELS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace candor {

struct Label {
  std::string name;
  std::string value;

  friend bool operator==(const Label&, const Label&) = default;
  friend auto operator<=>(const Label&, const Label&) = default;
};

// The label holding a series' metric name.
inline constexpr std::string_view kMetricNameLabel = "__name__";

class LabelSet {
 public:
  LabelSet() = default;

  // Builds a set from labels in any order. Returns InvalidArgumentError if a name is empty,
  // is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, or a metric name for
  // __name__), or appears twice. Labels with empty values are dropped (as in Prometheus).
  static absl::StatusOr<LabelSet> FromUnsorted(std::vector<Label> labels);

  // Like FromUnsorted, but for labels built by candor itself; aborts on invalid input.
  static LabelSet FromTrusted(std::vector<Label> labels);

  // The value of `name`, or an empty view if absent.
  std::string_view Get(std::string_view name) const;
  std::string_view MetricName() const { return Get(kMetricNameLabel); }

  const std::vector<Label>& labels() const { return labels_; }
  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }

  // A copy with `name` set to `value` (or removed if `value` is empty).
  LabelSet With(std::string_view name, std::string_view value) const;
  // A copy without the labels named in `names`.
  LabelSet Without(const std::vector<std::string>& names) const;
  // A copy with only the labels named in `names`.
  LabelSet Only(const std::vector<std::string>& names) const;

  // A stable 64-bit hash of the set (xxhash-like mixing, identical across runs and hosts).
  uint64_t Hash() const;

  // Prometheus text form: name{a="1",b="2"} (or {a="1"} when there is no __name__), with
  // label values escaped.
  std::string ToString() const;

  friend bool operator==(const LabelSet& a, const LabelSet& b) { return a.labels_ == b.labels_; }
  friend bool operator<(const LabelSet& a, const LabelSet& b) { return a.labels_ < b.labels_; }

  template <typename H>
  friend H AbslHashValue(H h, const LabelSet& s) {
    return H::combine(std::move(h), s.Hash());
  }

 private:
  explicit LabelSet(std::vector<Label> sorted) : labels_(std::move(sorted)) {}
  std::vector<Label> labels_;
};

// True if `name` matches [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(std::string_view name);
// True if `name` matches [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsValidMetricName(std::string_view name);

}  // namespace candor

#endif  // CANDOR_COMMON_LABELS_H_
