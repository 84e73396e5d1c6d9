#include "collector/kernel_baseline.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace candor::collector {
namespace {

constexpr char kOtherKernels[] = "[other]";
// Forgetting scans every series, so it runs at most this often (event time).
constexpr absl::Duration kForgetEvery = absl::Minutes(10);

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(t));
}

double Median(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  if (v.size() % 2 == 1) return v[mid];
  const double hi = v[mid];
  return (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)) + hi) / 2;
}

std::string SeriesKey(const std::string& node, const std::string& gpu, const std::string& kernel) {
  return absl::StrCat(node, std::string(1, '\0'), gpu, std::string(1, '\0'), kernel);
}

}  // namespace

absl::Status ValidateKernelBaselineOptions(const KernelBaselineOptions& o) {
  auto bad = [](const char* what) {
    return absl::InvalidArgumentError(absl::StrCat("kernel baseline option ", what));
  };
  if (!(o.alpha > 0 && o.alpha <= 1)) return bad("alpha must be within (0, 1]");
  if (o.warmup_intervals < 1) return bad("warmup_intervals must be at least 1");
  if (o.min_launches < 1) return bad("min_launches must be at least 1");
  if (!(o.min_ratio > 1)) return bad("min_ratio must be above 1");
  if (!(o.clear_ratio >= 1 && o.clear_ratio <= o.min_ratio)) {
    return bad("clear_ratio must be within [1, min_ratio]");
  }
  if (o.confirm_intervals < 1) return bad("confirm_intervals must be at least 1");
  if (o.min_peers < 1) return bad("min_peers must be at least 1");
  if (o.peer_staleness <= absl::ZeroDuration()) return bad("peer_staleness must be positive");
  if (o.forget_after <= absl::ZeroDuration()) return bad("forget_after must be positive");
  if (o.max_series < 1) return bad("max_series must be at least 1");
  return absl::OkStatus();
}

KernelBaselines::KernelBaselines(KernelBaselineOptions options) : options_(options) {}

std::vector<KernelFindingEvent> KernelBaselines::Observe(const candor::v1::KernelSummary& s) {
  ++stats_.summaries;
  std::vector<KernelFindingEvent> events;
  if (s.node().empty() || s.gpu().empty() || !s.has_interval_start() || !s.has_interval_end()) {
    ++stats_.invalid;
    return events;
  }
  const absl::Time start = ToTime(s.interval_start());
  const absl::Time end = ToTime(s.interval_end());
  if (end <= start) {
    ++stats_.invalid;
    return events;
  }
  if (end - last_forget_ >= kForgetEvery) Forget(end);
  for (const auto& k : s.top_kernels()) {
    if (k.name().empty() || k.name() == kOtherKernels) continue;
    if (k.count() < options_.min_launches) {
      ++stats_.too_few_launches;
      continue;
    }
    const double value = k.total_ms() / static_cast<double>(k.count());
    if (!std::isfinite(value) || value <= 0) {
      ++stats_.invalid;
      continue;
    }
    const std::string key = SeriesKey(s.node(), s.gpu(), k.name());
    auto it = series_.find(key);
    if (it == series_.end()) {
      if (series_.size() >= options_.max_series) {
        ++stats_.series_overflow;
        continue;
      }
      Series fresh;
      fresh.node = s.node();
      fresh.gpu = s.gpu();
      fresh.kernel = k.name();
      fresh.model = s.model();
      fresh.provider = s.provider();
      fresh.group = absl::StrCat(s.model(), std::string(1, '\0'), k.name());
      groups_[fresh.group].push_back(key);
      it = series_.emplace(key, std::move(fresh)).first;
    }
    Series& series = it->second;
    if (end <= series.last_end) {
      ++stats_.out_of_order;
      continue;
    }
    ++stats_.values;
    if (auto e = Step(series, value, start, end)) events.push_back(std::move(*e));
    series.last_ms = value;
    series.last_end = end;
  }
  return events;
}

KernelBaselines::Peers KernelBaselines::PeerMedian(const Series& self, absl::Time now) const {
  Peers out;
  auto g = groups_.find(self.group);
  if (g == groups_.end()) return out;
  std::vector<double> values;
  for (const std::string& key : g->second) {
    auto it = series_.find(key);
    if (it == series_.end()) continue;
    const Series& peer = it->second;
    if (&peer == &self || peer.last_end == absl::InfinitePast()) continue;
    if (now - peer.last_end > options_.peer_staleness) continue;
    values.push_back(peer.last_ms);
  }
  out.count = static_cast<int>(values.size());
  if (!values.empty()) out.median_ms = Median(std::move(values));
  return out;
}

std::optional<KernelFindingEvent> KernelBaselines::Step(Series& s, double value_ms,
                                                        absl::Time start, absl::Time end) {
  auto fold = [&] {
    // A plain mean over the warm-up, then the exponential weight.
    const double a = std::max(options_.alpha, 1.0 / (s.values + 1));
    s.log_baseline =
        s.values == 0 ? std::log(value_ms) : (1 - a) * s.log_baseline + a * std::log(value_ms);
    ++s.values;
  };
  if (s.values < options_.warmup_intervals) {
    fold();
    return std::nullopt;
  }
  const double baseline = std::exp(s.log_baseline);
  const double ratio = value_ms / baseline;
  const auto confirm = static_cast<size_t>(options_.confirm_intervals);

  if (s.degraded) {
    if (ratio >= options_.clear_ratio) {
      s.window.clear();
      return std::nullopt;
    }
    s.window.push_back(value_ms);
    if (s.window.size() < confirm) return std::nullopt;
    s.degraded = false;
    s.window.clear();
    return KernelFindingEvent{KernelFindingEvent::Kind::kEnded, end, s.finding};
  }

  const Peers peers = PeerMedian(s, end);
  const bool peer_test = peers.count >= options_.min_peers;
  const bool peer_ok =
      peer_test ? value_ms >= options_.min_ratio * peers.median_ms : !options_.require_peers;
  if (ratio < options_.min_ratio || !peer_ok) {
    s.window.clear();
    fold();
    return std::nullopt;
  }
  if (s.window.empty()) s.run_onset = start;
  s.window.push_back(value_ms);
  if (s.window.size() < confirm) return std::nullopt;

  const double value = Median(std::vector<double>(s.window.begin(), s.window.end()));
  s.window.clear();
  s.degraded = true;
  KernelFinding& f = s.finding;
  f.node = s.node;
  f.gpu = s.gpu;
  f.kernel = s.kernel;
  f.model = s.model;
  f.provider = s.provider;
  f.value_ms = value;
  f.baseline_ms = baseline;
  f.ratio = value / baseline;
  f.peers = peer_test ? peers.count : 0;
  f.peer_ms = peer_test ? peers.median_ms : 0;
  f.peer_ratio = peer_test ? value / peers.median_ms : 0;
  f.onset = s.run_onset;
  f.since = end;
  return KernelFindingEvent{KernelFindingEvent::Kind::kStarted, end, f};
}

std::vector<KernelFinding> KernelBaselines::Active() const {
  std::vector<KernelFinding> out;
  for (const auto& [key, s] : series_) {
    if (s.degraded) out.push_back(s.finding);
  }
  std::sort(out.begin(), out.end(), [](const KernelFinding& a, const KernelFinding& b) {
    if (a.ratio != b.ratio) return a.ratio > b.ratio;
    return std::tie(a.node, a.gpu, a.kernel) < std::tie(b.node, b.gpu, b.kernel);
  });
  return out;
}

double KernelBaselines::BaselineMs(const std::string& node, const std::string& gpu,
                                   const std::string& kernel) const {
  auto it = series_.find(SeriesKey(node, gpu, kernel));
  if (it == series_.end() || it->second.values < options_.warmup_intervals) return 0;
  return std::exp(it->second.log_baseline);
}

void KernelBaselines::Forget(absl::Time now) {
  last_forget_ = now;
  for (auto it = series_.begin(); it != series_.end();) {
    if (now - it->second.last_end > options_.forget_after &&
        it->second.last_end != absl::InfinitePast()) {
      auto& members = groups_[it->second.group];
      members.erase(std::remove(members.begin(), members.end(), it->first), members.end());
      if (members.empty()) groups_.erase(it->second.group);
      series_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace candor::collector
