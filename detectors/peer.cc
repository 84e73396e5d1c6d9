#include "detectors/peer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace candor::detectors {
namespace {

double Median(std::vector<double>* v) {
  const size_t n = v->size();
  auto mid = v->begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(v->begin(), mid, v->end());
  if (n % 2 == 1) return *mid;
  const double upper = *mid;
  const double lower = *std::max_element(v->begin(), mid);
  return 0.5 * (lower + upper);
}

double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Inverse of the standard normal CDF (Acklam's rational approximation refined by one Halley
// step; |error| < 1e-12 over (0, 1)).
double InversePhi(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p <= 1.0 - 0.02425) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * std::log(1.0 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  const double e = Phi(x) - p;
  const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(x * x / 2.0);
  return x - u / (1.0 + x * u / 2.0);
}

std::vector<double> Finite(std::span<const double> xs) {
  std::vector<double> out;
  out.reserve(xs.size());
  for (double x : xs) {
    if (std::isfinite(x)) out.push_back(x);
  }
  return out;
}

// Rank-sum statistics of `a` against `b`: U of `a`, and the tie-corrected variance of U.
struct RankSum {
  double u = 0.0;
  double variance = 0.0;
};

RankSum RankSumOf(std::span<const double> a, std::span<const double> b, double shift,
                  std::vector<std::pair<double, bool>>* scratch) {
  scratch->clear();
  for (double x : a) scratch->emplace_back(x - shift, true);
  for (double y : b) scratch->emplace_back(y, false);
  std::sort(scratch->begin(), scratch->end(),
            [](const auto& l, const auto& r) { return l.first < r.first; });
  const auto n = static_cast<double>(a.size());
  const auto m = static_cast<double>(b.size());
  const auto total = static_cast<double>(scratch->size());
  double rank_sum = 0.0;
  double ties = 0.0;
  size_t i = 0;
  while (i < scratch->size()) {
    size_t j = i;
    size_t in_a = 0;
    while (j < scratch->size() && (*scratch)[j].first == (*scratch)[i].first) {
      if ((*scratch)[j].second) ++in_a;
      ++j;
    }
    const auto t = static_cast<double>(j - i);
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    rank_sum += avg_rank * static_cast<double>(in_a);
    ties += t * t * t - t;
    i = j;
  }
  RankSum r;
  r.u = rank_sum - n * (n + 1.0) / 2.0;
  r.variance = n * m / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)));
  return r;
}

// Continuity-corrected z of U(a - shift, b), minus `zq` (decreasing in shift), as R's
// wilcox.test computes it for the confidence interval.
double ShiftedZ(std::span<const double> a, std::span<const double> b, double shift, double zq,
                std::vector<std::pair<double, bool>>* scratch) {
  const RankSum r = RankSumOf(a, b, shift, scratch);
  const double dz = r.u - static_cast<double>(a.size()) * static_cast<double>(b.size()) / 2.0;
  const double correction = dz > 0 ? 0.5 : (dz < 0 ? -0.5 : 0.0);
  if (r.variance <= 0.0) return -zq;
  return (dz - correction) / std::sqrt(r.variance) - zq;
}

double RootOfShiftedZ(std::span<const double> a, std::span<const double> b, double lo, double hi,
                      double zq, std::vector<std::pair<double, bool>>* scratch) {
  if (ShiftedZ(a, b, lo, zq, scratch) <= 0.0) return lo;
  if (ShiftedZ(a, b, hi, zq, scratch) >= 0.0) return hi;
  const double tol = 1e-9 * std::max(1.0, hi - lo);
  for (int it = 0; it < 80 && hi - lo > tol; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (ShiftedZ(a, b, mid, zq, scratch) > 0.0) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

double Quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<size_t>(pos);
  const double frac = pos - static_cast<double>(i);
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

// Kayenta's IQR outlier filter, fences widened to at least the 1st/99th percentiles.
std::vector<double> RemoveOutliers(std::vector<double> v, double factor) {
  if (v.size() < 4) return v;
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  const double q1 = Quantile(sorted, 0.25);
  const double q3 = Quantile(sorted, 0.75);
  const double iqr = q3 - q1;
  const double lo = std::min(q1 - factor * iqr, Quantile(sorted, 0.01));
  const double hi = std::max(q3 + factor * iqr, Quantile(sorted, 0.99));
  std::erase_if(v, [&](double x) { return x < lo || x > hi; });
  return v;
}

double Mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace

// ---- PeerMadZ ----

absl::Status Validate(const PeerZOptions& o) {
  if (!(o.threshold > 0.0)) return absl::InvalidArgumentError("peer z: threshold must be > 0");
  if (o.min_peers < 2) return absl::InvalidArgumentError("peer z: min_peers must be >= 2");
  if (!(o.min_relative_mad >= 0.0)) {
    return absl::InvalidArgumentError("peer z: min_relative_mad must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<Finding> PeerMadZ(absl::Time t, double value, std::span<const double> peers,
                                 const PeerZOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  if (!std::isfinite(value) || (options.log_scale && value <= 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat("peer z: bad value ", value));
  }
  std::vector<double> p = Finite(peers);
  if (options.log_scale) {
    std::erase_if(p, [](double x) { return x <= 0.0; });
    for (double& x : p) x = std::log(x);
  }
  if (static_cast<int>(p.size()) < options.min_peers) {
    return absl::FailedPreconditionError(
        absl::StrCat("peer z: ", p.size(), " usable peers, need ", options.min_peers));
  }
  const double med = Median(&p);
  for (double& x : p) x = std::fabs(x - med);
  double mad = Median(&p);
  // On the log scale a difference is already relative; on the linear scale scale the floor.
  const double floor =
      options.log_scale ? options.min_relative_mad : options.min_relative_mad * std::fabs(med);
  mad = std::max({mad, floor, std::numeric_limits<double>::min()});
  const double x = options.log_scale ? std::log(value) : value;
  const double z = 0.6745 * (x - med) / mad;
  Finding f;
  f.detector = "peer_mad_z";
  f.statistic = "modified_z";
  f.time = t;
  f.observed = value;
  f.baseline = options.log_scale ? std::exp(med) : med;
  f.statistic_value = z;
  f.threshold = options.threshold;
  f.direction = z > 0 ? Direction::kUp : (z < 0 ? Direction::kDown : Direction::kNone);
  f.active = (options.sides != Sides::kLower && z >= options.threshold) ||
             (options.sides != Sides::kUpper && z <= -options.threshold);
  f.score = ThresholdScore(z, options.threshold);
  if (f.active) f.onset = t;
  return f;
}

// ---- PeerRatioCusum ----

absl::Status Validate(const PeerRatioCusumOptions& o) {
  if (absl::Status s = Validate(o.cusum); !s.ok()) return s;
  if (!(o.min_log_sigma > 0.0)) {
    return absl::InvalidArgumentError("peer ratio: min_log_sigma must be > 0");
  }
  if (o.min_peers < 1) return absl::InvalidArgumentError("peer ratio: min_peers must be >= 1");
  if (!(o.min_effect >= 0.0 && o.min_effect < 1.0)) {
    return absl::InvalidArgumentError("peer ratio: min_effect must be in [0, 1)");
  }
  return absl::OkStatus();
}

absl::StatusOr<PeerRatioCusum> PeerRatioCusum::Create(const PeerRatioCusumOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  CusumOptions c = options.cusum;
  c.in_control.min_sigma = std::max(c.in_control.min_sigma, options.min_log_sigma);
  if (c.in_control.sigma.has_value()) {
    c.in_control.sigma = std::max(*c.in_control.sigma, options.min_log_sigma);
  }
  auto chart = CusumChart::Create(c);
  if (!chart.ok()) return chart.status();
  return PeerRatioCusum(options, *std::move(chart));
}

PeerRatioCusum::PeerRatioCusum(const PeerRatioCusumOptions& options, CusumChart chart)
    : options_(options), chart_(std::move(chart)) {}

void PeerRatioCusum::Reset() {
  chart_.Reset();
  smoothed_log_ratio_ = 0.0;
  have_ratio_ = false;
}

double PeerRatioCusum::ratio() const { return std::exp(smoothed_log_ratio_); }

absl::StatusOr<Finding> PeerRatioCusum::Update(absl::Time t, double value,
                                               std::span<const double> peers) {
  if (!std::isfinite(value) || value <= 0.0) {
    return absl::InvalidArgumentError(absl::StrCat("peer ratio: bad value ", value));
  }
  std::vector<double> p;
  p.reserve(peers.size());
  for (double x : peers) {
    if (!std::isfinite(x) || x <= 0.0) {
      return absl::InvalidArgumentError(absl::StrCat("peer ratio: bad peer value ", x));
    }
    p.push_back(x);
  }
  if (static_cast<int>(p.size()) < options_.min_peers) {
    return absl::FailedPreconditionError(
        absl::StrCat("peer ratio: ", p.size(), " peers, need ", options_.min_peers));
  }
  const double med = Median(&p);
  const double log_ratio = std::log(value / med);
  smoothed_log_ratio_ = have_ratio_ ? 0.8 * smoothed_log_ratio_ + 0.2 * log_ratio : log_ratio;
  have_ratio_ = true;
  Finding f = chart_.Update(t, log_ratio);
  f.detector = "peer_ratio_cusum";
  f.observed = value;
  const double reference = chart_.warmed_up() ? chart_.in_control_mean() : 0.0;
  f.baseline = med * std::exp(reference);
  const double effect = std::fabs(std::exp(smoothed_log_ratio_ - reference) - 1.0);
  f.active = f.active && effect >= options_.min_effect;
  if (!f.active) f.onset = absl::InfinitePast();
  return f;
}

// ---- Mann-Whitney judge ----

std::string_view JudgeVerdictName(JudgeVerdict v) {
  switch (v) {
    case JudgeVerdict::kPass:
      return "pass";
    case JudgeVerdict::kHigh:
      return "high";
    case JudgeVerdict::kLow:
      return "low";
    case JudgeVerdict::kNoData:
      return "nodata";
  }
  return "nodata";
}

absl::Status Validate(const MannWhitneyOptions& o) {
  if (!(o.confidence > 0.0 && o.confidence < 1.0)) {
    return absl::InvalidArgumentError("mann whitney: confidence must be in (0, 1)");
  }
  if (!(o.tolerance >= 0.0)) {
    return absl::InvalidArgumentError("mann whitney: tolerance must be >= 0");
  }
  if (!(o.outlier_factor > 0.0)) {
    return absl::InvalidArgumentError("mann whitney: outlier_factor must be > 0");
  }
  if (o.min_samples < 1) {
    return absl::InvalidArgumentError("mann whitney: min_samples must be >= 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<MannWhitneyResult> MannWhitneyJudge(std::span<const double> experiment,
                                                   std::span<const double> control,
                                                   const MannWhitneyOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  std::vector<double> x = Finite(experiment);
  std::vector<double> y = Finite(control);
  if (options.remove_outliers) {
    x = RemoveOutliers(std::move(x), options.outlier_factor);
    y = RemoveOutliers(std::move(y), options.outlier_factor);
  }
  MannWhitneyResult r;
  r.n_experiment = static_cast<int64_t>(x.size());
  r.n_control = static_cast<int64_t>(y.size());
  if (static_cast<int>(x.size()) < options.min_samples ||
      static_cast<int>(y.size()) < options.min_samples) {
    return r;
  }
  const double mean_x = Mean(x);
  const double mean_y = Mean(y);
  r.mean_experiment = mean_x;
  r.mean_control = mean_y;
  r.mean_ratio = mean_y != 0.0 ? mean_x / mean_y : std::nan("");
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  r.verdict = JudgeVerdict::kPass;
  if (x == y || (x.front() == x.back() && y.front() == y.back() && x.front() == y.front())) {
    return r;
  }
  std::vector<std::pair<double, bool>> scratch;
  const RankSum rs = RankSumOf(x, y, 0.0, &scratch);
  const double nm = static_cast<double>(x.size()) * static_cast<double>(y.size());
  r.u = rs.u;
  r.cles = rs.u / nm;
  const double dz = rs.u - nm / 2.0;
  const double correction = dz > 0 ? 0.5 : (dz < 0 ? -0.5 : 0.0);
  r.z = rs.variance > 0 ? (dz - correction) / std::sqrt(rs.variance) : 0.0;
  r.p_value = std::min(1.0, 2.0 * Phi(-std::fabs(r.z)));
  const double lo = x.front() - y.back();
  const double hi = x.back() - y.front();
  const double zq = InversePhi(1.0 - (1.0 - options.confidence) / 2.0);
  r.ci_lower = RootOfShiftedZ(x, y, lo, hi, zq, &scratch);
  r.ci_upper = RootOfShiftedZ(x, y, lo, hi, -zq, &scratch);
  r.hl_estimate = RootOfShiftedZ(x, y, lo, hi, 0.0, &scratch);
  const double band = options.tolerance * std::fabs(r.hl_estimate);
  const bool may_rise = options.direction != Sides::kLower;
  const bool may_fall = options.direction != Sides::kUpper;
  if (may_rise && r.ci_lower > band && !(r.mean_ratio < options.allowed_increase)) {
    r.verdict = JudgeVerdict::kHigh;
  } else if (may_fall && r.ci_upper < -band && !(r.mean_ratio > options.allowed_decrease)) {
    r.verdict = JudgeVerdict::kLow;
  }
  return r;
}

Finding ToFinding(const MannWhitneyResult& r, absl::Time t, const MannWhitneyOptions& options) {
  Finding f;
  f.detector = "mann_whitney";
  f.statistic = "p_value";
  f.time = t;
  f.statistic_value = r.p_value;
  f.threshold = 1.0 - options.confidence;
  f.active = r.verdict == JudgeVerdict::kHigh || r.verdict == JudgeVerdict::kLow;
  f.direction = r.verdict == JudgeVerdict::kHigh
                    ? Direction::kUp
                    : (r.verdict == JudgeVerdict::kLow ? Direction::kDown : Direction::kNone);
  f.score = PValueScore(r.p_value, f.threshold);
  f.observed = r.mean_experiment;
  f.baseline = r.mean_control;
  if (f.active) f.onset = t;
  return f;
}

}  // namespace candor::detectors
