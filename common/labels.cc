#include "common/labels.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace candor {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

void AppendEscaped(std::string* out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        out->push_back(c);
    }
  }
}

// 64-bit mixing (the finaliser of MurmurHash3 / SplitMix64), stable across platforms.
uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint64_t HashBytes(uint64_t seed, std::string_view s) {
  // FNV-1a over the bytes, then mixed; adequate for hash tables and stable on disk.
  uint64_t h = seed ^ 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return Mix(h);
}

}  // namespace

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), IsNameChar);
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [](char c) { return IsNameChar(c) || c == ':'; });
}

absl::StatusOr<LabelSet> LabelSet::FromUnsorted(std::vector<Label> labels) {
  std::erase_if(labels, [](const Label& l) { return l.value.empty(); });
  std::sort(labels.begin(), labels.end(),
            [](const Label& a, const Label& b) { return a.name < b.name; });
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label& l = labels[i];
    const bool valid =
        l.name == kMetricNameLabel ? IsValidMetricName(l.value) : IsValidLabelName(l.name);
    if (!valid) {
      return absl::InvalidArgumentError(l.name == kMetricNameLabel
                                            ? absl::StrCat("invalid metric name \"", l.value, "\"")
                                            : absl::StrCat("invalid label name \"", l.name, "\""));
    }
    if (i > 0 && labels[i - 1].name == l.name) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate label name \"", l.name, "\""));
    }
  }
  return LabelSet(std::move(labels));
}

LabelSet LabelSet::FromTrusted(std::vector<Label> labels) {
  absl::StatusOr<LabelSet> set = FromUnsorted(std::move(labels));
  CANDOR_CHECK(set.ok());
  return *std::move(set);
}

std::string_view LabelSet::Get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it == labels_.end() || it->name != name) return {};
  return it->value;
}

LabelSet LabelSet::With(std::string_view name, std::string_view value) const {
  std::vector<Label> out;
  out.reserve(labels_.size() + 1);
  bool placed = false;
  for (const Label& l : labels_) {
    if (!placed && l.name >= name) {
      if (!value.empty()) out.push_back({std::string(name), std::string(value)});
      placed = true;
      if (l.name == name) continue;
    }
    out.push_back(l);
  }
  if (!placed && !value.empty()) out.push_back({std::string(name), std::string(value)});
  return LabelSet(std::move(out));
}

LabelSet LabelSet::Without(const std::vector<std::string>& names) const {
  std::vector<Label> out;
  for (const Label& l : labels_) {
    if (std::find(names.begin(), names.end(), l.name) == names.end()) out.push_back(l);
  }
  return LabelSet(std::move(out));
}

LabelSet LabelSet::Only(const std::vector<std::string>& names) const {
  std::vector<Label> out;
  for (const Label& l : labels_) {
    if (std::find(names.begin(), names.end(), l.name) != names.end()) out.push_back(l);
  }
  return LabelSet(std::move(out));
}

uint64_t LabelSet::Hash() const {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (const Label& l : labels_) {
    h = HashBytes(h, l.name);
    h = HashBytes(h ^ 0xff, l.value);
  }
  return h;
}

std::string LabelSet::ToString() const {
  std::string out(MetricName());
  out.push_back('{');
  bool first = true;
  for (const Label& l : labels_) {
    if (l.name == kMetricNameLabel) continue;
    if (!first) out.push_back(',');
    first = false;
    absl::StrAppend(&out, l.name, "=\"");
    AppendEscaped(&out, l.value);
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

}  // namespace candor
