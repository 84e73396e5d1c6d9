#include "detectors/fleet_types.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace candor::detectors {
namespace {

void AppendField(std::string& out, std::string_view key, std::string_view json_value) {
  if (out.back() != '{') out.push_back(',');
  absl::StrAppend(&out, "\"", Sv(key), "\":", Sv(json_value));
}

void AppendString(std::string& out, std::string_view key, std::string_view value) {
  if (!value.empty()) AppendField(out, key, JsonQuote(value));
}

void AppendNumber(std::string& out, std::string_view key, double value) {
  if (std::isfinite(value)) AppendField(out, key, JsonNumber(value));
}

void AppendTime(std::string& out, std::string_view key, absl::Time t) {
  if (t != absl::InfinitePast() && t != absl::InfiniteFuture()) {
    AppendField(out, key, JsonQuote(FormatRfc3339(t)));
  }
}

std::string ItemToJson(const EvidenceItem& e) {
  std::string out = "{";
  AppendString(out, "signal", e.signal);
  AppendNumber(out, "value", e.value);
  AppendNumber(out, "baseline", e.baseline);
  AppendString(out, "baseline_source", e.baseline_source);
  AppendString(out, "detector", e.detector);
  AppendString(out, "statistic", e.statistic);
  AppendNumber(out, "statistic_value", e.statistic_value);
  AppendNumber(out, "threshold", e.threshold);
  out.push_back('}');
  return out;
}

std::string Short(double x) {
  if (!std::isfinite(x)) return "n/a";
  return JsonNumber(std::abs(x) >= 100 ? std::round(x) : std::round(x * 1000.0) / 1000.0);
}

}  // namespace

std::string JsonNumber(double x) {
  if (!std::isfinite(x)) return "null";
  if (x == 0.0) return "0";
  if (std::abs(x) < 1e15 && x == std::trunc(x)) {
    return absl::StrCat(static_cast<int64_t>(x));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

std::string EvidenceToJson(const Evidence& e) {
  std::string out = ItemToJson(e.primary);
  out.pop_back();  // Reopen the primary item's object to add the rest.
  AppendTime(out, "onset", e.onset);
  AppendString(out, "summary", e.summary);
  AppendString(out, "root", e.root);
  AppendTime(out, "root_onset", e.root_onset);
  AppendString(out, "severity", e.severity);
  if (!e.corroboration.empty()) {
    std::string list = "[";
    for (size_t i = 0; i < e.corroboration.size(); ++i) {
      if (i > 0) list.push_back(',');
      list += ItemToJson(e.corroboration[i]);
    }
    list.push_back(']');
    AppendField(out, "corroboration", list);
  }
  out.push_back('}');
  return out;
}

std::string ConditionToJson(const Condition& c) {
  std::string out = "{";
  AppendString(out, "state", FleetStateName(c.state));
  AppendTime(out, "since", c.since);
  AppendField(out, "evidence", EvidenceToJson(c.evidence));
  out.push_back('}');
  return out;
}

namespace {
std::string ConditionsToJson(const std::vector<Condition>& conditions) {
  std::string list = "[";
  for (size_t i = 0; i < conditions.size(); ++i) {
    if (i > 0) list.push_back(',');
    list += ConditionToJson(conditions[i]);
  }
  list.push_back(']');
  return list;
}
}  // namespace

std::string TransitionToJson(const Transition& t) {
  std::string out = "{";
  AppendField(out, "time", JsonQuote(FormatRfc3339(t.time)));
  AppendField(out, "entity", JsonQuote(t.entity.ToString()));
  AppendField(out, "from", JsonQuote(FleetStateName(t.from)));
  AppendField(out, "to", JsonQuote(FleetStateName(t.to)));
  AppendField(out, "conditions", ConditionsToJson(t.conditions));
  AppendField(out, "evidence", EvidenceToJson(t.evidence));
  out.push_back('}');
  return out;
}

std::string EntityStatusToJson(const EntityStatus& s) {
  std::string out = "{";
  AppendField(out, "entity", JsonQuote(s.entity.ToString()));
  AppendField(out, "state", JsonQuote(FleetStateName(s.state)));
  AppendTime(out, "since", s.since);
  AppendField(out, "conditions", ConditionsToJson(s.conditions));
  out.push_back('}');
  return out;
}

std::string TransitionOneLine(const Transition& t) {
  std::string line = absl::StrCat(FormatRfc3339(t.time), "  ", t.entity.ToString(), "  ",
                                  Sv(FleetStateName(t.from)), " -> ", Sv(FleetStateName(t.to)));
  const EvidenceItem& p = t.evidence.primary;
  if (!p.signal.empty()) {
    absl::StrAppend(&line, ": ", p.signal, " ", Short(p.value));
    if (std::isfinite(p.baseline)) {
      absl::StrAppend(&line, " vs ", p.baseline_source.empty() ? "baseline" : p.baseline_source,
                      " ", Short(p.baseline));
    }
    if (!p.detector.empty()) absl::StrAppend(&line, " [", p.detector, "]");
  }
  if (!t.evidence.root.empty()) absl::StrAppend(&line, " root ", t.evidence.root);
  if (!t.evidence.summary.empty()) absl::StrAppend(&line, " — ", t.evidence.summary);
  return line;
}

}  // namespace candor::detectors
