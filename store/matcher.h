// Label matchers: the predicates of a series selector (`=`, `!=`, `=~`, `!~`), with
// Prometheus semantics: regular expressions are RE2 syntax, fully anchored, and a label that
// is absent matches as the empty string.
//
// Thread safety: a LabelMatcher is immutable after Create; const methods are safe from any
// thread. Copies share the compiled expression.

#ifndef CANDOR_STORE_MATCHER_H_
#define CANDOR_STORE_MATCHER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/labels.h"

namespace candor::store {

enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

class LabelMatcher {
 public:
  // Builds a matcher. Returns InvalidArgumentError if `name` is empty or the regular
  // expression does not compile (the message quotes the expression and RE2's reason).
  static absl::StatusOr<LabelMatcher> Create(MatchType type, std::string name, std::string value);

  // Shorthands for tests and trusted callers; abort on an invalid regular expression.
  static LabelMatcher Equal(std::string name, std::string value);
  static LabelMatcher NotEqual(std::string name, std::string value);
  static LabelMatcher Regex(std::string name, std::string value);
  static LabelMatcher NotRegex(std::string name, std::string value);

  // True if a label value `value` (empty when the label is absent) satisfies the matcher.
  bool Matches(std::string_view value) const;

  // True if the matcher matches the empty string, i.e. also selects series lacking the label.
  bool MatchesEmpty() const { return matches_empty_; }

  // For `=~` expressions that are a plain alternation of literals ("a|b|c"), the literals;
  // empty otherwise. Lets the index answer them with lookups instead of a scan.
  const std::vector<std::string>& literal_alternatives() const { return literals_; }

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }

  // `name="value"` in PromQL text form (value escaped).
  std::string ToString() const;

 private:
  class CompiledRegex;
  LabelMatcher() = default;

  MatchType type_ = MatchType::kEqual;
  std::string name_;
  std::string value_;
  bool matches_empty_ = false;
  std::vector<std::string> literals_;
  std::shared_ptr<const CompiledRegex> re_;
};

// True if every matcher in `matchers` accepts `labels`.
bool MatchesAll(const std::vector<LabelMatcher>& matchers, const LabelSet& labels);

}  // namespace candor::store

#endif  // CANDOR_STORE_MATCHER_H_
