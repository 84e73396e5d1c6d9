#include "detectors/window_drift.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"

namespace candor::detectors {
namespace {

double NormalTail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

std::vector<double> SortedFinite(std::span<const double> xs) {
  std::vector<double> out;
  out.reserve(xs.size());
  for (double x : xs) {
    if (std::isfinite(x)) out.push_back(x);
  }
  std::sort(out.begin(), out.end());
  return out;
}

double Mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double StdDev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = Mean(v);
  double sq = 0.0;
  for (double x : v) sq += (x - m) * (x - m);
  return std::sqrt(sq / static_cast<double>(v.size() - 1));
}

// Kolmogorov distribution tail Q(lambda) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2).
double KolmogorovTail(double lambda) {
  if (lambda < 0.2) return 1.0;
  double sum = 0.0;
  double sign = 1.0;
  for (int j = 1; j <= 100; ++j) {
    const double term = sign * std::exp(-2.0 * j * j * lambda * lambda);
    sum += term;
    if (std::fabs(term) < 1e-12 * std::fabs(sum)) break;
    sign = -sign;
  }
  return std::clamp(2.0 * sum, 0.0, 1.0);
}

// Regularised upper incomplete gamma Q(a, x) (Numerical Recipes §6.2: series for x < a + 1,
// Lentz continued fraction otherwise).
double GammaQ(double a, double x) {
  if (x <= 0.0) return 1.0;
  const double gln = std::lgamma(a);
  if (x < a + 1.0) {
    double ap = a;
    double sum = 1.0 / a;
    double del = sum;
    for (int n = 0; n < 1000; ++n) {
      ap += 1.0;
      del *= x / ap;
      sum += del;
      if (std::fabs(del) < std::fabs(sum) * 1e-15) break;
    }
    return std::clamp(1.0 - sum * std::exp(-x + a * std::log(x) - gln), 0.0, 1.0);
  }
  constexpr double kTiny = 1e-300;
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < 1e-15) break;
  }
  return std::clamp(std::exp(-x + a * std::log(x) - gln) * h, 0.0, 1.0);
}

std::vector<double> Shares(std::span<const double> counts) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  std::vector<double> s(counts.size(), 0.0);
  if (total <= 0.0) return s;
  for (size_t i = 0; i < counts.size(); ++i) s[i] = counts[i] / total;
  return s;
}

// Counts per distinct value of `ref` and `cur` (aligned), for categorical treatment.
void CountValues(const std::vector<double>& ref, const std::vector<double>& cur,
                 std::vector<double>* ref_counts, std::vector<double>* cur_counts) {
  std::map<double, std::pair<double, double>> counts;
  for (double x : ref) counts[x].first += 1.0;
  for (double x : cur) counts[x].second += 1.0;
  for (const auto& [value, c] : counts) {
    ref_counts->push_back(c.first);
    cur_counts->push_back(c.second);
  }
}

// Sturges histogram counts of `ref` and `cur` over the range of both.
void SturgesCounts(const std::vector<double>& ref, const std::vector<double>& cur,
                   std::vector<double>* ref_counts, std::vector<double>* cur_counts) {
  const double lo = std::min(ref.front(), cur.front());
  const double hi = std::max(ref.back(), cur.back());
  const auto total = static_cast<double>(ref.size() + cur.size());
  const auto bins = static_cast<size_t>(std::ceil(std::log2(total)) + 1.0);
  ref_counts->assign(bins, 0.0);
  cur_counts->assign(bins, 0.0);
  const double width = (hi - lo) / static_cast<double>(bins);
  auto bin = [&](double x) {
    if (!(width > 0.0)) return size_t{0};
    return std::min(bins - 1, static_cast<size_t>((x - lo) / width));
  };
  for (double x : ref) (*ref_counts)[bin(x)] += 1.0;
  for (double x : cur) (*cur_counts)[bin(x)] += 1.0;
}

absl::StatusOr<DriftResult> CategoricalFromCounts(std::span<const double> ref,
                                                  std::span<const double> cur,
                                                  const DriftOptions& o) {
  DriftResult r;
  const double n_ref = std::accumulate(ref.begin(), ref.end(), 0.0);
  const double n_cur = std::accumulate(cur.begin(), cur.end(), 0.0);
  r.n_reference = static_cast<size_t>(n_ref);
  r.n_current = static_cast<size_t>(n_cur);
  if (n_ref < static_cast<double>(o.min_samples) || n_cur < static_cast<double>(o.min_samples)) {
    return absl::FailedPreconditionError(absl::StrCat("drift: windows of ", n_ref, " and ", n_cur,
                                                      " points, need ", o.min_samples, " each"));
  }
  r.psi = PopulationStabilityIndex(ref, cur);
  if (n_ref > static_cast<double>(o.size_switch)) {
    r.test = DriftTest::kJensenShannon;
    r.statistic = JensenShannonDistance(ref, cur);
    r.p_value = std::nan("");
    r.threshold = o.jensen_shannon_threshold;
    r.drifted = r.statistic >= r.threshold;
    return r;
  }
  size_t used = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    if (ref[i] > 0 || cur[i] > 0) ++used;
  r.threshold = o.p_threshold;
  if (used <= 2) {
    // Two-proportion Z test on the first category present.
    size_t k = 0;
    while (k < ref.size() && ref[k] == 0 && cur[k] == 0) ++k;
    const double p1 = ref[k] / n_ref;
    const double p2 = cur[k] / n_cur;
    const double pooled = (ref[k] + cur[k]) / (n_ref + n_cur);
    const double se = std::sqrt(pooled * (1.0 - pooled) * (1.0 / n_ref + 1.0 / n_cur));
    r.test = DriftTest::kZProportion;
    r.statistic = se > 0.0 ? std::fabs(p1 - p2) / se : 0.0;
    r.p_value = se > 0.0 ? 2.0 * NormalTail(r.statistic) : 1.0;
    r.drifted = r.p_value < o.p_threshold;
    return r;
  }
  r.test = DriftTest::kChiSquared;
  double chi = 0.0;
  double dof = -1.0;
  bool impossible = false;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double expected = ref[i] / n_ref * n_cur;
    if (expected <= 0.0) {
      impossible |= cur[i] > 0.0;
      continue;
    }
    chi += (cur[i] - expected) * (cur[i] - expected) / expected;
    dof += 1.0;
  }
  r.statistic = impossible ? std::numeric_limits<double>::infinity() : chi;
  r.p_value = impossible ? 0.0 : (dof > 0.0 ? ChiSquaredSurvival(chi, dof) : 1.0);
  r.drifted = r.p_value < o.p_threshold;
  return r;
}

}  // namespace

std::string_view DriftTestName(DriftTest t) {
  switch (t) {
    case DriftTest::kKolmogorovSmirnov:
      return "ks";
    case DriftTest::kWasserstein:
      return "wasserstein";
    case DriftTest::kChiSquared:
      return "chi_squared";
    case DriftTest::kJensenShannon:
      return "jensen_shannon";
    case DriftTest::kZProportion:
      return "z_proportion";
  }
  return "ks";
}

absl::Status Validate(const DriftOptions& o) {
  if (!(o.p_threshold > 0.0 && o.p_threshold < 1.0)) {
    return absl::InvalidArgumentError("drift: p_threshold must be in (0, 1)");
  }
  if (!(o.wasserstein_threshold > 0.0) || !(o.jensen_shannon_threshold > 0.0) ||
      !(o.min_std > 0.0)) {
    return absl::InvalidArgumentError("drift: thresholds and min_std must be > 0");
  }
  if (o.min_samples < 1) return absl::InvalidArgumentError("drift: min_samples must be >= 1");
  return absl::OkStatus();
}

KsResult KolmogorovSmirnov(std::span<const double> a, std::span<const double> b) {
  const std::vector<double> x = SortedFinite(a);
  const std::vector<double> y = SortedFinite(b);
  KsResult r;
  if (x.empty() || y.empty()) return r;
  const auto n = static_cast<double>(x.size());
  const auto m = static_cast<double>(y.size());
  size_t i = 0;
  size_t j = 0;
  while (i < x.size() && j < y.size()) {
    const double v = std::min(x[i], y[j]);
    while (i < x.size() && x[i] == v) ++i;
    while (j < y.size() && y[j] == v) ++j;
    r.d = std::max(r.d, std::fabs(static_cast<double>(i) / n - static_cast<double>(j) / m));
  }
  const double en = std::sqrt(n * m / (n + m));
  r.p_value = KolmogorovTail((en + 0.12 + 0.11 / en) * r.d);
  return r;
}

double Wasserstein1(std::span<const double> a, std::span<const double> b) {
  const std::vector<double> x = SortedFinite(a);
  const std::vector<double> y = SortedFinite(b);
  if (x.empty() || y.empty()) return 0.0;
  const auto n = static_cast<double>(x.size());
  const auto m = static_cast<double>(y.size());
  // Integrate |F_x - F_y| over the merged support.
  size_t i = 0;
  size_t j = 0;
  double prev = std::min(x[0], y[0]);
  double area = 0.0;
  while (i < x.size() || j < y.size()) {
    const double v = j >= y.size() || (i < x.size() && x[i] <= y[j]) ? x[i] : y[j];
    area += std::fabs(static_cast<double>(i) / n - static_cast<double>(j) / m) * (v - prev);
    while (i < x.size() && x[i] == v) ++i;
    while (j < y.size() && y[j] == v) ++j;
    prev = v;
  }
  return area;
}

double JensenShannonDistance(std::span<const double> p_counts, std::span<const double> q_counts) {
  const std::vector<double> p = Shares(p_counts);
  const std::vector<double> q = Shares(q_counts);
  double js = 0.0;
  for (size_t i = 0; i < p.size() && i < q.size(); ++i) {
    const double mid = 0.5 * (p[i] + q[i]);
    if (p[i] > 0.0) js += 0.5 * p[i] * std::log(p[i] / mid);
    if (q[i] > 0.0) js += 0.5 * q[i] * std::log(q[i] / mid);
  }
  return std::sqrt(std::max(0.0, js));
}

double PopulationStabilityIndex(std::span<const double> reference_counts,
                                std::span<const double> current_counts) {
  std::vector<double> r = Shares(reference_counts);
  std::vector<double> c = Shares(current_counts);
  double smallest = 1.0;
  for (double v : r) smallest = v > 0.0 ? std::min(smallest, v) : smallest;
  for (double v : c) smallest = v > 0.0 ? std::min(smallest, v) : smallest;
  const double floor = smallest <= 1e-4 ? smallest / 1e6 : 1e-4;
  double psi = 0.0;
  for (size_t i = 0; i < r.size() && i < c.size(); ++i) {
    const double ri = r[i] > 0.0 ? r[i] : floor;
    const double ci = c[i] > 0.0 ? c[i] : floor;
    psi += (ri - ci) * std::log(ri / ci);
  }
  return psi;
}

double ChiSquaredSurvival(double x, double dof) {
  if (!(dof > 0.0)) return 1.0;
  return GammaQ(dof / 2.0, x / 2.0);
}

absl::StatusOr<DriftResult> NumericDrift(std::span<const double> reference,
                                         std::span<const double> current, const DriftOptions& o) {
  if (absl::Status s = Validate(o); !s.ok()) return s;
  const std::vector<double> ref = SortedFinite(reference);
  const std::vector<double> cur = SortedFinite(current);
  if (ref.size() < o.min_samples || cur.size() < o.min_samples) {
    return absl::FailedPreconditionError(absl::StrCat("drift: windows of ", ref.size(), " and ",
                                                      cur.size(), " points, need ", o.min_samples,
                                                      " each"));
  }
  std::vector<double> distinct = ref;
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<double> ref_counts;
  std::vector<double> cur_counts;
  if (distinct.size() <= o.max_categorical_unique) {
    CountValues(ref, cur, &ref_counts, &cur_counts);
    return CategoricalFromCounts(ref_counts, cur_counts, o);
  }
  DriftResult r;
  r.n_reference = ref.size();
  r.n_current = cur.size();
  std::vector<double> all = ref;
  all.insert(all.end(), cur.begin(), cur.end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  if (all.size() > 20) {
    SturgesCounts(ref, cur, &ref_counts, &cur_counts);
  } else {
    CountValues(ref, cur, &ref_counts, &cur_counts);
  }
  r.psi = PopulationStabilityIndex(ref_counts, cur_counts);
  if (ref.size() <= o.size_switch) {
    const KsResult ks = KolmogorovSmirnov(ref, cur);
    r.test = DriftTest::kKolmogorovSmirnov;
    r.statistic = ks.d;
    r.p_value = ks.p_value;
    r.threshold = o.p_threshold;
    r.drifted = ks.p_value <= o.p_threshold;
  } else {
    r.test = DriftTest::kWasserstein;
    r.statistic = Wasserstein1(ref, cur) / std::max(StdDev(ref), o.min_std);
    r.p_value = std::nan("");
    r.threshold = o.wasserstein_threshold;
    r.drifted = r.statistic >= r.threshold;
  }
  return r;
}

absl::StatusOr<DriftResult> CategoricalDrift(std::span<const double> reference_counts,
                                             std::span<const double> current_counts,
                                             const DriftOptions& o) {
  if (absl::Status s = Validate(o); !s.ok()) return s;
  if (reference_counts.size() != current_counts.size()) {
    return absl::InvalidArgumentError(absl::StrCat("drift: ", reference_counts.size(),
                                                   " reference categories vs ",
                                                   current_counts.size(), " current"));
  }
  for (size_t i = 0; i < reference_counts.size(); ++i) {
    if (!(reference_counts[i] >= 0.0) || !(current_counts[i] >= 0.0) ||
        !std::isfinite(reference_counts[i]) || !std::isfinite(current_counts[i])) {
      return absl::InvalidArgumentError(absl::StrCat("drift: bad count at category ", i));
    }
  }
  return CategoricalFromCounts(reference_counts, current_counts, o);
}

Finding ToFinding(const DriftResult& r, absl::Time t) {
  Finding f;
  f.detector = DriftTestName(r.test);
  f.time = t;
  f.active = r.drifted;
  const bool p_test = r.test == DriftTest::kKolmogorovSmirnov || r.test == DriftTest::kChiSquared ||
                      r.test == DriftTest::kZProportion;
  if (p_test) {
    f.statistic = "p_value";
    f.statistic_value = r.p_value;
    f.threshold = r.threshold;
    f.score = PValueScore(r.p_value, r.threshold);
  } else {
    f.statistic = r.test == DriftTest::kWasserstein ? "normed_wasserstein" : "js_distance";
    f.statistic_value = r.statistic;
    f.threshold = r.threshold;
    f.score = ThresholdScore(r.statistic, r.threshold);
  }
  f.observed = r.psi;
  if (f.active) f.onset = t;
  return f;
}

}  // namespace candor::detectors
