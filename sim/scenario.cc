#include "sim/scenario.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/entity.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace candor::sim {
namespace {

constexpr std::array<std::pair<FaultKind, std::string_view>, kNumFaultKinds> kFaultNames = {{
    {FaultKind::kKvThrash, "kv_thrash"},
    {FaultKind::kQueueDeadlock, "queue_deadlock"},
    {FaultKind::kComputeSaturation, "compute_saturation"},
    {FaultKind::kHardwareSlowdown, "hardware_slowdown"},
    {FaultKind::kCircuitOpen, "circuit_open"},
    {FaultKind::kProviderErrors, "provider_errors"},
    {FaultKind::kFallbackSurge, "fallback_surge"},
    {FaultKind::kValidationFailures, "validation_failures"},
    {FaultKind::kSilentTruncation, "silent_truncation"},
    {FaultKind::kInputDrift, "input_drift"},
    {FaultKind::kDependencySlowdown, "dependency_slowdown"},
    {FaultKind::kCanaryRegression, "canary_regression"},
    {FaultKind::kModelWarming, "model_warming"},
    {FaultKind::kReplicaSilent, "replica_silent"},
    {FaultKind::kPrimaryErrors, "primary_errors"},
    {FaultKind::kLatencyRegression, "latency_regression"},
    {FaultKind::kFeatureDisabled, "feature_disabled"},
}};

constexpr std::array<std::string_view, 9> kAnnotationKinds = {
    "DEPLOY_STARTED",   "CANARY_STARTED",      "CANARY_PAUSED",
    "ROLLBACK_STARTED", "ROLLBACK_FINISHED",   "FEATURE_DISABLED",
    "FEATURE_ENABLED",  "MAINTENANCE_STARTED", "MAINTENANCE_ENDED"};

// Reads one YAML mapping with a fixed set of keys; every accessor records the problem with its
// key path so the caller gets one precise error.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
    if (!node_.IsMap()) Fail("", "must be a mapping");
  }

  bool Has(std::string_view key) const { return node_.IsMap() && node_[std::string(key)]; }

  std::string String(std::string_view key, std::string fallback = "") {
    const YAML::Node v = Get(key);
    if (!v) return fallback;
    if (!v.IsScalar()) {
      Fail(key, "must be a scalar");
      return fallback;
    }
    return v.Scalar();
  }

  double Double(std::string_view key, double fallback) {
    const std::string text = String(key);
    if (text.empty()) return fallback;
    double out = 0.0;
    if (!absl::SimpleAtod(text, &out)) Fail(key, absl::StrCat("\"", text, "\" is not a number"));
    return out;
  }

  int64_t Int(std::string_view key, int64_t fallback) {
    const std::string text = String(key);
    if (text.empty()) return fallback;
    int64_t out = 0;
    if (!absl::SimpleAtoi(text, &out)) {
      Fail(key, absl::StrCat("\"", text, "\" is not an integer"));
    }
    return out;
  }

  bool Bool(std::string_view key, bool fallback) {
    const std::string text = String(key);
    if (text.empty()) return fallback;
    if (text == "true") return true;
    if (text == "false") return false;
    Fail(key, absl::StrCat("\"", text, "\" is not true or false"));
    return fallback;
  }

  absl::Duration Duration(std::string_view key, absl::Duration fallback) {
    const std::string text = String(key);
    if (text.empty()) return fallback;
    absl::Duration d;
    if (!absl::ParseDuration(text, &d)) {
      Fail(key, absl::StrCat("\"", text, "\" is not a duration such as 90s or 12m"));
    }
    return d;
  }

  YAML::Node Get(std::string_view key) {
    seen_.emplace_back(key);
    if (!node_.IsMap()) return YAML::Node();
    return node_[std::string(key)];
  }

  // Reports keys that no accessor asked for.
  void RejectUnknownKeys() {
    if (!node_.IsMap()) return;
    for (const auto& kv : node_) {
      const std::string key = kv.first.as<std::string>();
      if (std::find(seen_.begin(), seen_.end(), key) == seen_.end()) Fail(key, "unknown key");
    }
  }

  void Fail(std::string_view key, std::string_view why) {
    if (!error_.empty()) return;
    std::string where = path_;
    if (!key.empty()) where = path_.empty() ? std::string(key) : absl::StrCat(path_, ".", Sv(key));
    error_ = absl::StrCat(where.empty() ? "scenario" : where, ": ", Sv(why));
  }

  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  YAML::Node node_;
  std::string path_;
  std::vector<std::string> seen_;
  std::string error_;
};

void CheckEntity(MapReader& r, std::string_view key, const std::string& text) {
  absl::StatusOr<EntityId> e = EntityId::Parse(text);
  if (!e.ok()) r.Fail(key, StdSv(e.status().message()));
}

void ReadFleet(const YAML::Node& node, FleetOptions& f, std::string& error) {
  MapReader r(node, "fleet");
  f.requests_per_replica = r.Double("requests_per_replica", f.requests_per_replica);
  f.diurnal_amplitude = r.Double("diurnal_amplitude", f.diurnal_amplitude);
  f.providers = static_cast<int>(r.Int("providers", f.providers));
  f.nodes_per_provider = static_cast<int>(r.Int("nodes_per_provider", f.nodes_per_provider));
  f.external_provider = r.Bool("external_provider", f.external_provider);
  f.external_requests = r.Double("external_requests", f.external_requests);
  f.canary = r.Bool("canary", f.canary);
  f.replica_sample_interval = r.Duration("replica_sample_interval", f.replica_sample_interval);
  f.gpu_sample_interval = r.Duration("gpu_sample_interval", f.gpu_sample_interval);
  f.probe_interval = r.Duration("probe_interval", f.probe_interval);
  f.ship_delay = r.Duration("ship_delay", f.ship_delay);
  f.late_fraction = r.Double("late_fraction", f.late_fraction);
  f.late_delay = r.Duration("late_delay", f.late_delay);
  r.RejectUnknownKeys();
  if (!(f.requests_per_replica > 0.0 && f.requests_per_replica <= 1000.0)) {
    r.Fail("requests_per_replica", "must be in (0, 1000]");
  }
  if (!(f.diurnal_amplitude >= 0.0 && f.diurnal_amplitude <= 0.9)) {
    r.Fail("diurnal_amplitude", "must be in [0, 0.9]");
  }
  if (f.providers < 1 || f.providers > 3) r.Fail("providers", "must be 1, 2 or 3");
  if (f.nodes_per_provider < 1 || f.nodes_per_provider > 8) {
    r.Fail("nodes_per_provider", "must be in 1–8");
  }
  if (!(f.external_requests >= 0.0 && f.external_requests <= 10000.0)) {
    r.Fail("external_requests", "must be in [0, 10000]");
  }
  if (f.replica_sample_interval < absl::Seconds(1) || f.gpu_sample_interval < absl::Seconds(1)) {
    r.Fail("replica_sample_interval", "sample intervals must be at least 1s");
  }
  if (f.probe_interval < absl::ZeroDuration()) r.Fail("probe_interval", "must be ≥ 0");
  if (f.ship_delay < absl::ZeroDuration() || f.ship_delay > absl::Minutes(1)) {
    r.Fail("ship_delay", "must be in [0, 1m]");
  }
  if (!(f.late_fraction >= 0.0 && f.late_fraction <= 1.0)) {
    r.Fail("late_fraction", "must be in [0, 1]");
  }
  if (f.late_delay < absl::ZeroDuration() || f.late_delay > absl::Hours(1)) {
    r.Fail("late_delay", "must be in [0, 1h]");
  }
  error = r.error();
}

void ReadFault(const YAML::Node& node, const std::string& path, FaultSpec& f, std::string& error) {
  MapReader r(node, path);
  const std::string kind = r.String("kind");
  absl::StatusOr<FaultKind> k = ParseFaultKind(kind);
  if (!k.ok()) {
    r.Fail("kind", StdSv(k.status().message()));
  } else {
    f.kind = *k;
  }
  f.target = r.String("target");
  if (f.target.empty()) {
    r.Fail("target", "is required");
  } else {
    CheckEntity(r, "target", f.target);
  }
  f.onset = r.Duration("onset", f.onset);
  const std::string shape = r.String("shape", "step");
  if (shape == "step") {
    f.shape = OnsetShape::kStep;
  } else if (shape == "ramp") {
    f.shape = OnsetShape::kRamp;
  } else {
    r.Fail("shape", absl::StrCat("\"", shape, "\" is not step or ramp"));
  }
  f.ramp = r.Duration("ramp", f.ramp);
  f.magnitude = r.Double("magnitude", f.magnitude);
  const absl::Duration default_duration =
      f.kind == FaultKind::kModelWarming ? absl::Minutes(3) : absl::InfiniteDuration();
  f.duration = r.Duration("duration", default_duration);
  r.RejectUnknownKeys();
  if (f.onset < absl::ZeroDuration()) r.Fail("onset", "must be ≥ 0");
  if (f.ramp <= absl::ZeroDuration()) r.Fail("ramp", "must be > 0");
  if (!(f.magnitude > 0.0 && f.magnitude <= 1000.0)) r.Fail("magnitude", "must be in (0, 1000]");
  if (f.duration <= absl::ZeroDuration()) r.Fail("duration", "must be > 0");
  error = r.error();
}

void ReadAnnotation(const YAML::Node& node, const std::string& path, ScriptedAnnotation& a,
                    std::string& error) {
  MapReader r(node, path);
  a.at = r.Duration("at", absl::ZeroDuration());
  a.entity = r.String("entity");
  a.kind = r.String("kind");
  a.message = r.String("message");
  r.RejectUnknownKeys();
  if (a.entity.empty()) r.Fail("entity", "is required");
  CheckEntity(r, "entity", a.entity);
  if (std::find(kAnnotationKinds.begin(), kAnnotationKinds.end(), a.kind) ==
      kAnnotationKinds.end()) {
    r.Fail("kind", absl::StrCat("\"", a.kind, "\" is not an annotation kind"));
  }
  if (a.at < absl::ZeroDuration()) r.Fail("at", "must be ≥ 0");
  error = r.error();
}

void ReadExpectation(const YAML::Node& node, const std::string& path, Expectation& e,
                     std::string& error) {
  MapReader r(node, path);
  e.entity = r.String("entity");
  if (e.entity.empty()) {
    r.Fail("entity", "is required");
  } else {
    CheckEntity(r, "entity", e.entity);
  }
  const std::string state = r.String("state");
  absl::StatusOr<FleetState> s = ParseFleetState(state);
  if (!s.ok()) {
    r.Fail("state", StdSv(s.status().message()));
  } else {
    e.state = *s;
  }
  e.deadline = r.Duration("deadline", e.deadline);
  if (r.Has("from")) e.from = r.Duration("from", absl::ZeroDuration());
  e.root = r.String("root");
  if (!e.root.empty()) CheckEntity(r, "root", e.root);
  r.RejectUnknownKeys();
  if (e.deadline <= absl::ZeroDuration()) r.Fail("deadline", "must be > 0");
  error = r.error();
}

template <typename T, typename ReadFn>
void ReadList(MapReader& r, std::string_view key, std::vector<T>& out, ReadFn read,
              std::string& error) {
  const YAML::Node list = r.Get(key);
  if (!list) return;
  if (!list.IsSequence()) {
    r.Fail(key, "must be a list");
    error = r.error();
    return;
  }
  for (size_t i = 0; i < list.size() && error.empty(); ++i) {
    T item;
    read(list[i], absl::StrCat(Sv(key), "[", i, "]"), item, error);
    out.push_back(std::move(item));
  }
}

absl::StatusOr<Scenario> ParseScenarioNode(const YAML::Node& root) {
  Scenario s;
  MapReader r(root, "");
  if (!r.error().empty()) return absl::InvalidArgumentError(r.error());
  s.name = r.String("name");
  s.description = r.String("description");
  const int64_t seed = r.Int("seed", 1);
  if (seed < 0) r.Fail("seed", "must be ≥ 0");
  s.seed = static_cast<uint64_t>(seed);
  s.duration = r.Duration("duration", s.duration);
  const std::string start = r.String("start");
  if (!start.empty()) {
    absl::StatusOr<absl::Time> t = ParseRfc3339(start);
    if (!t.ok()) {
      r.Fail("start", StdSv(t.status().message()));
    } else {
      s.start = *t;
    }
  }
  std::string error;
  if (const YAML::Node fleet = r.Get("fleet"); fleet) ReadFleet(fleet, s.fleet, error);
  if (error.empty()) ReadList(r, "faults", s.faults, ReadFault, error);
  if (error.empty()) ReadList(r, "annotations", s.annotations, ReadAnnotation, error);
  if (error.empty()) ReadList(r, "expect", s.expect, ReadExpectation, error);
  r.RejectUnknownKeys();
  if (s.duration <= absl::ZeroDuration() || s.duration > absl::Hours(24 * 8)) {
    r.Fail("duration", "must be in (0, 8 days]");
  }
  if (error.empty()) error = r.error();
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return s;
}

}  // namespace

std::string_view FaultKindName(FaultKind kind) {
  for (const auto& [k, name] : kFaultNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

absl::StatusOr<FaultKind> ParseFaultKind(std::string_view text) {
  for (const auto& [k, name] : kFaultNames) {
    if (name == text) return k;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown fault kind \"", Sv(text), "\""));
}

double FaultSpec::Intensity(absl::Duration since_start) const {
  if (since_start < onset) return 0.0;
  const absl::Duration in = since_start - onset;
  if (in >= duration) return 0.0;
  if (shape == OnsetShape::kStep) return 1.0;
  return std::min(1.0, absl::FDivDuration(in, ramp));
}

std::optional<absl::Duration> Scenario::FirstOnset() const {
  std::optional<absl::Duration> first;
  for (const FaultSpec& f : faults) {
    if (!first || f.onset < *first) first = f.onset;
  }
  if (first) return first;
  for (const ScriptedAnnotation& a : annotations) {
    if (!first || a.at < *first) first = a.at;
  }
  return first;
}

absl::StatusOr<Scenario> ParseScenario(std::string_view text) {
  // yaml-cpp reports problems by throwing; nothing else in candor sees its exceptions.
  try {
    return ParseScenarioNode(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("scenario is not valid YAML: ", e.what()));
  }
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read scenario file ", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  absl::StatusOr<Scenario> s = ParseScenario(buf.str());
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.status().message()));
  return s;
}

Scenario HealthyScenario(absl::Duration duration, uint64_t seed) {
  Scenario s;
  s.name = "healthy";
  s.description = "healthy diurnal traffic, no faults";
  s.seed = seed;
  s.duration = duration;
  return s;
}

}  // namespace candor::sim
