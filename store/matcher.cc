#include "store/matcher.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "re2/re2.h"

namespace candor::store {

class LabelMatcher::CompiledRegex {
 public:
  explicit CompiledRegex(const std::string& pattern)
      : re_(absl::StrCat("^(?:", pattern, ")$"), RE2::Quiet) {}
  const RE2& re() const { return re_; }

 private:
  RE2 re_;
};

namespace {

// "a|b|c" with no regex metacharacters: the literals, else empty.
std::vector<std::string> LiteralAlternatives(const std::string& pattern) {
  static constexpr std::string_view kMeta = "\\.+*?()[]{}^$";
  std::vector<std::string> out;
  std::string cur;
  for (char c : pattern) {
    if (kMeta.find(c) != std::string_view::npos) return {};
    if (c == '|') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(std::move(cur));
  return out;
}

void AppendEscaped(std::string* out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') out->push_back('\\');
    if (c == '\n') {
      out->append("\\n");
      continue;
    }
    out->push_back(c);
  }
}

}  // namespace

absl::StatusOr<LabelMatcher> LabelMatcher::Create(MatchType type, std::string name,
                                                  std::string value) {
  if (name.empty()) return absl::InvalidArgumentError("label matcher with an empty label name");
  LabelMatcher m;
  m.type_ = type;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
    auto re = std::make_shared<CompiledRegex>(m.value_);
    if (!re->re().ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid regular expression \"", m.value_, "\": ", re->re().error()));
    }
    m.re_ = std::move(re);
    if (type == MatchType::kRegexMatch) m.literals_ = LiteralAlternatives(m.value_);
  }
  m.matches_empty_ = m.Matches("");
  return m;
}

LabelMatcher LabelMatcher::Equal(std::string name, std::string value) {
  auto m = Create(MatchType::kEqual, std::move(name), std::move(value));
  CANDOR_CHECK(m.ok());
  return *std::move(m);
}
LabelMatcher LabelMatcher::NotEqual(std::string name, std::string value) {
  auto m = Create(MatchType::kNotEqual, std::move(name), std::move(value));
  CANDOR_CHECK(m.ok());
  return *std::move(m);
}
LabelMatcher LabelMatcher::Regex(std::string name, std::string value) {
  auto m = Create(MatchType::kRegexMatch, std::move(name), std::move(value));
  CANDOR_CHECK(m.ok());
  return *std::move(m);
}
LabelMatcher LabelMatcher::NotRegex(std::string name, std::string value) {
  auto m = Create(MatchType::kRegexNoMatch, std::move(name), std::move(value));
  CANDOR_CHECK(m.ok());
  return *std::move(m);
}

bool LabelMatcher::Matches(std::string_view value) const {
  switch (type_) {
    case MatchType::kEqual:
      return value == value_;
    case MatchType::kNotEqual:
      return value != value_;
    case MatchType::kRegexMatch:
      return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), re_->re());
    case MatchType::kRegexNoMatch:
      return !RE2::FullMatch(re2::StringPiece(value.data(), value.size()), re_->re());
  }
  return false;
}

std::string LabelMatcher::ToString() const {
  static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
  std::string out = absl::StrCat(name_, kOps[static_cast<int>(type_)], "\"");
  AppendEscaped(&out, value_);
  out.push_back('"');
  return out;
}

bool MatchesAll(const std::vector<LabelMatcher>& matchers, const LabelSet& labels) {
  for (const LabelMatcher& m : matchers) {
    if (!m.Matches(labels.Get(m.name()))) return false;
  }
  return true;
}

}  // namespace candor::store
