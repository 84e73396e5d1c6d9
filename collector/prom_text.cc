#include "collector/prom_text.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::collector {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsLabelStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsLabelChar(char c) { return IsLabelStart(c) || (c >= '0' && c <= '9'); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

void SkipBlanks(std::string_view& s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
}

std::string_view TakeToken(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && !IsBlank(s[n])) ++n;
  std::string_view token = s.substr(0, n);
  s.remove_prefix(n);
  return token;
}

// Go's strconv.ParseFloat forms that Prometheus writes: decimals, exponents, ±Inf, NaN.
bool ParseValue(std::string_view text, double* out) {
  if (text.empty() || text.size() > 64) return false;
  return absl::SimpleAtod(Sv(text), out);
}

std::optional<PromType> ParseType(std::string_view t) {
  if (t == "counter") return PromType::kCounter;
  if (t == "gauge") return PromType::kGauge;
  if (t == "histogram" || t == "gaugehistogram") return PromType::kHistogram;
  if (t == "summary") return PromType::kSummary;
  if (t == "untyped" || t == "unknown") return PromType::kUntyped;
  if (t == "info") return PromType::kInfo;
  if (t == "stateset") return PromType::kStateSet;
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> PromSample::Label(std::string_view label_name) const {
  for (const auto& [k, v] : labels) {
    if (k == label_name) return std::string_view(v);
  }
  return std::nullopt;
}

PromTextParser::PromTextParser(PromParserOptions options, SampleFn on_sample)
    : options_(options), on_sample_(std::move(on_sample)) {}

absl::Status PromTextParser::Fail(std::string_view reason) {
  error_ = absl::InvalidArgumentError(absl::StrCat("line ", line_number_, ": ", Sv(reason)));
  return error_;
}

absl::Status PromTextParser::Feed(std::string_view chunk) {
  if (!error_.ok()) return error_;
  while (!chunk.empty()) {
    const size_t nl = chunk.find('\n');
    const std::string_view piece = chunk.substr(0, nl);
    if (partial_.size() + piece.size() > options_.max_line_bytes) {
      ++line_number_;
      return Fail(absl::StrCat("line longer than ", options_.max_line_bytes, " bytes"));
    }
    if (nl == std::string_view::npos) {
      partial_.append(piece);
      return absl::OkStatus();
    }
    chunk.remove_prefix(nl + 1);
    ++line_number_;
    absl::Status s;
    if (partial_.empty()) {
      s = ParseLine(piece);
    } else {
      partial_.append(piece);
      s = ParseLine(partial_);
      partial_.clear();
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status PromTextParser::Finish() {
  if (!error_.ok()) return error_;
  if (!partial_.empty()) {
    ++line_number_;
    const std::string last = std::move(partial_);
    partial_.clear();
    return ParseLine(last);
  }
  return absl::OkStatus();
}

absl::Status PromTextParser::ParseLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (eof_) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) return absl::OkStatus();
    return Fail("content after # EOF");
  }
  SkipBlanks(line);
  if (line.empty()) return absl::OkStatus();
  if (line.front() == '#') return ParseComment(line);
  return ParseSample(line);
}

absl::Status PromTextParser::ParseComment(std::string_view line) {
  line.remove_prefix(1);
  SkipBlanks(line);
  const std::string_view keyword = TakeToken(line);
  if (keyword == "EOF") {
    eof_ = true;
    return absl::OkStatus();
  }
  if (keyword != "TYPE" && keyword != "HELP") return absl::OkStatus();  // A plain comment.
  SkipBlanks(line);
  const std::string_view name = TakeToken(line);
  if (name.empty() || !IsNameStart(name.front())) {
    return Fail(absl::StrCat("# ", Sv(keyword), " without a valid metric name"));
  }
  for (char c : name) {
    if (!IsNameChar(c)) return Fail(absl::StrCat("invalid metric name \"", Sv(name), "\""));
  }
  if (keyword == "HELP") return absl::OkStatus();  // Documentation is not needed.
  SkipBlanks(line);
  const std::string_view type_text = TakeToken(line);
  const std::optional<PromType> type = ParseType(type_text);
  if (!type) return Fail(absl::StrCat("unknown metric type \"", Sv(type_text), "\""));
  if (types_.size() >= options_.max_families && !types_.contains(Sv(name))) {
    return Fail(absl::StrCat("more than ", options_.max_families, " metric families"));
  }
  types_[std::string(name)] = *type;
  return absl::OkStatus();
}

PromType PromTextParser::TypeOf(std::string_view name) const {
  if (auto it = types_.find(Sv(name)); it != types_.end()) return it->second;
  for (std::string_view suffix : {"_total", "_created", "_bucket", "_count", "_sum", "_info"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      auto it = types_.find(Sv(name.substr(0, name.size() - suffix.size())));
      if (it != types_.end()) return it->second;
    }
  }
  return PromType::kUntyped;
}

absl::Status PromTextParser::ParseSample(std::string_view line) {
  if (samples_ >= options_.max_samples) {
    return Fail(absl::StrCat("more than ", options_.max_samples, " samples"));
  }
  PromSample& s = scratch_;
  s.labels.clear();
  s.timestamp_ms.reset();
  size_t n = 0;
  if (!IsNameStart(line.front())) return Fail("a sample must start with a metric name");
  while (n < line.size() && IsNameChar(line[n])) ++n;
  s.name.assign(line.data(), n);
  line.remove_prefix(n);
  SkipBlanks(line);
  if (!line.empty() && line.front() == '{') {
    line.remove_prefix(1);
    while (true) {
      SkipBlanks(line);
      if (line.empty()) return Fail("unterminated label set");
      if (line.front() == '}') {
        line.remove_prefix(1);
        break;
      }
      if (s.labels.size() >= options_.max_labels) {
        return Fail(absl::StrCat("more than ", options_.max_labels, " labels"));
      }
      if (!IsLabelStart(line.front())) return Fail("invalid label name");
      size_t k = 0;
      while (k < line.size() && IsLabelChar(line[k])) ++k;
      std::string label(line.substr(0, k));
      line.remove_prefix(k);
      SkipBlanks(line);
      if (line.empty() || line.front() != '=') {
        return Fail(absl::StrCat("expected '=' after label \"", label, "\""));
      }
      line.remove_prefix(1);
      SkipBlanks(line);
      if (line.empty() || line.front() != '"') {
        return Fail(absl::StrCat("expected a quoted value for label \"", label, "\""));
      }
      line.remove_prefix(1);
      std::string value;
      bool closed = false;
      while (!line.empty()) {
        const char c = line.front();
        line.remove_prefix(1);
        if (c == '"') {
          closed = true;
          break;
        }
        if (c != '\\') {
          value.push_back(c);
          continue;
        }
        if (line.empty()) break;
        const char e = line.front();
        line.remove_prefix(1);
        if (e == 'n') {
          value.push_back('\n');
        } else if (e == '\\' || e == '"') {
          value.push_back(e);
        } else {
          return Fail(
              absl::StrCat("invalid escape \\", std::string(1, e), " in label \"", label, "\""));
        }
      }
      if (!closed) return Fail(absl::StrCat("unterminated value of label \"", label, "\""));
      for (const auto& [existing, v] : s.labels) {
        if (existing == label) return Fail(absl::StrCat("duplicate label \"", label, "\""));
      }
      s.labels.emplace_back(std::move(label), std::move(value));
      SkipBlanks(line);
      if (!line.empty() && line.front() == ',') line.remove_prefix(1);
    }
    SkipBlanks(line);
  }
  const std::string_view value_text = TakeToken(line);
  if (!ParseValue(value_text, &s.value)) {
    return Fail(absl::StrCat("invalid sample value \"", Sv(value_text.substr(0, 64)), "\""));
  }
  SkipBlanks(line);
  if (!line.empty() && line.front() != '#') {
    const std::string_view ts = TakeToken(line);
    int64_t ms = 0;
    double seconds = 0;
    if (absl::SimpleAtoi(Sv(ts), &ms)) {
      s.timestamp_ms = ms;
    } else if (absl::SimpleAtod(Sv(ts), &seconds) && seconds > -9.2e15 && seconds < 9.2e15) {
      s.timestamp_ms = static_cast<int64_t>(seconds * 1000);  // OpenMetrics: seconds.
    } else {
      return Fail(absl::StrCat("invalid timestamp \"", Sv(ts.substr(0, 64)), "\""));
    }
    SkipBlanks(line);
  }
  // What may remain is an OpenMetrics exemplar (" # {…} value [ts]"), which is not needed.
  if (!line.empty() && line.front() != '#') return Fail("unexpected text after the value");
  s.type = TypeOf(s.name);
  ++samples_;
  on_sample_(s);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PromSample>> ParsePromText(std::string_view text,
                                                      const PromParserOptions& options) {
  std::vector<PromSample> out;
  PromTextParser parser(options, [&](const PromSample& s) { out.push_back(s); });
  absl::Status st = parser.Feed(text);
  if (st.ok()) st = parser.Finish();
  if (!st.ok()) return st;
  return out;
}

}  // namespace candor::collector
