#include "detectors/arl.h"

#include <Eigen/Dense>
#include <cmath>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace candor::detectors {
namespace {

double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Expected steps to absorption from state `start` of a chain with sub-stochastic transition
// matrix `q`: solves (I - Q) L = 1.
double SolveArl(const Eigen::MatrixXd& q, Eigen::Index start) {
  const Eigen::Index m = q.rows();
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(m, m) - q;
  Eigen::VectorXd ones = Eigen::VectorXd::Ones(m);
  Eigen::VectorXd arl = a.partialPivLu().solve(ones);
  return arl(start);
}

// One-sided upper CUSUM, Brook & Evans (1972): state i stands for C = i * w with
// w = 2h / (2m - 1); state 0 also holds every C <= w / 2, so the top state's upper edge is h.
double UpperCusumArl(double k, double h, double shift, int m) {
  const double w = 2.0 * h / (2.0 * m - 1.0);
  Eigen::MatrixXd q(m, m);
  for (int i = 0; i < m; ++i) {
    const double from = i * w;
    q(i, 0) = Phi(w / 2.0 - from + k - shift);
    for (int j = 1; j < m; ++j) {
      const double hi = j * w + w / 2.0 - from + k - shift;
      const double lo = j * w - w / 2.0 - from + k - shift;
      q(i, j) = Phi(hi) - Phi(lo);
    }
  }
  return SolveArl(q, 0);
}

// EWMA, Lucas & Saccucci (1990): the in-limit interval [lo, ucl) is cut into m cells of
// width w; a transition lands in the cell holding (1 - lambda) c_i + lambda X.
double EwmaChainArl(double lambda, double lo, double ucl, double shift, int m, bool clamp_low) {
  const double w = (ucl - lo) / m;
  Eigen::MatrixXd q(m, m);
  int start = 0;
  for (int i = 0; i < m; ++i) {
    const double ci = lo + (i + 0.5) * w;
    if (lo + i * w <= 0.0 && 0.0 < lo + (i + 1) * w) start = i;
    for (int j = 0; j < m; ++j) {
      const double cell_lo = lo + j * w;
      const double cell_hi = cell_lo + w;
      double p_hi = Phi((cell_hi - (1.0 - lambda) * ci) / lambda - shift);
      double p_lo = Phi((cell_lo - (1.0 - lambda) * ci) / lambda - shift);
      // A one-sided chart has no lower limit: mass below the grid stays in the lowest cell.
      if (clamp_low && j == 0) p_lo = 0.0;
      q(i, j) = p_hi - p_lo;
    }
  }
  return SolveArl(q, start);
}

// Bisection for the limit whose in-control ARL is `target`, ARL increasing in the limit.
// Past about 1e12 the chains are numerically singular; such values count as "above target".
absl::StatusOr<double> Bisect(const std::function<absl::StatusOr<double>(double)>& arl_of,
                              double lo, double hi, double target) {
  auto above = [&](double limit) -> absl::StatusOr<bool> {
    auto arl = arl_of(limit);
    if (!arl.ok()) return arl.status();
    if (!std::isfinite(*arl) || *arl < 0.0 || *arl > 1e12) return true;
    return *arl >= target;
  };
  auto hi_above = above(hi);
  if (!hi_above.ok()) return hi_above.status();
  if (!*hi_above) {
    return absl::OutOfRangeError(
        absl::StrCat("in-control ARL ", target, " is not reachable with a limit up to ", hi));
  }
  // 1e-4 in h or L moves the ARL by well under 0.1 %.
  for (int it = 0; it < 40 && hi - lo > 1e-4; ++it) {
    const double mid = 0.5 * (lo + hi);
    auto mid_above = above(mid);
    if (!mid_above.ok()) return mid_above.status();
    if (*mid_above) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return 0.5 * (lo + hi);
}

}  // namespace

absl::StatusOr<double> CusumArl(double k, double h, double shift, Sides sides, int states) {
  if (!(k >= 0.0) || !(h > 0.0) || states < 20 || !std::isfinite(shift)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CUSUM ARL needs k >= 0, h > 0, states >= 20; got k=", k, " h=", h, " states=", states));
  }
  const double up = UpperCusumArl(k, h, shift, states);
  // The lower side watching a shift `shift` is the upper side watching -shift.
  const double down = UpperCusumArl(k, h, -shift, states);
  switch (sides) {
    case Sides::kUpper:
      return up;
    case Sides::kLower:
      return down;
    case Sides::kBoth:
      return 1.0 / (1.0 / up + 1.0 / down);
  }
  return up;
}

absl::StatusOr<double> EwmaArl(double lambda, double limit_width, double shift, Sides sides,
                               int states) {
  if (!(lambda > 0.0 && lambda <= 1.0) || !(limit_width > 0.0) || states < 20 ||
      !std::isfinite(shift)) {
    return absl::InvalidArgumentError(
        absl::StrCat("EWMA ARL needs lambda in (0, 1], L > 0, states >= 20; got lambda=", lambda,
                     " L=", limit_width, " states=", states));
  }
  const double sigma_z = std::sqrt(lambda / (2.0 - lambda));
  const double ucl = limit_width * sigma_z;
  // Keep the cell holding 0 centred for the two-sided chart (odd cell count).
  const int m = states % 2 == 1 ? states : states + 1;
  switch (sides) {
    case Sides::kBoth:
      return EwmaChainArl(lambda, -ucl, ucl, shift, m, false);
    case Sides::kUpper:
      return EwmaChainArl(lambda, -ucl - 6.0 * sigma_z, ucl, shift, m, true);
    case Sides::kLower:
      return EwmaChainArl(lambda, -ucl - 6.0 * sigma_z, ucl, -shift, m, true);
  }
  return absl::InternalError("unreachable");
}

absl::StatusOr<double> DesignCusumThreshold(double k, double arl0, Sides sides) {
  if (!(arl0 > 1.0 && arl0 <= 1e12) || !(k >= 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("CUSUM design needs arl0 > 1 and k >= 0; got arl0=", arl0, " k=", k));
  }
  return Bisect([&](double h) { return CusumArl(k, h, 0.0, sides, 200); }, 0.01, 40.0, arl0);
}

absl::StatusOr<double> DesignEwmaLimit(double lambda, double arl0, Sides sides) {
  if (!(arl0 > 1.0 && arl0 <= 1e12)) {
    return absl::InvalidArgumentError(absl::StrCat("EWMA design needs arl0 > 1; got ", arl0));
  }
  return Bisect([&](double l) { return EwmaArl(lambda, l, 0.0, sides, 201); }, 0.1, 8.0, arl0);
}

}  // namespace candor::detectors
