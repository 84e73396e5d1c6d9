// Average-run-length (ARL) design for the SPC charts: how many in-control samples pass, on
// average, before a false alarm (ARL0), and how many samples a shift of `shift` standard
// deviations takes to detect (ARL1). candor designs its charts to a stated ARL0 instead of
// picking limits by feel (reference: Montgomery, "Introduction to Statistical Quality Control",
// §9; Brook & Evans, Biometrika 1972; Lucas & Saccucci, Technometrics 1990).
//
// Model: i.i.d. N(shift, 1) observations, in-control mean 0 and sigma 1, zero-state start.
// Solvers are Markov-chain approximations (Eigen linear solves, inside detectors/ only); with
// the default number of states they agree with the textbook tables to about 0.5 %.
//
// Thread safety: pure functions; safe from any thread.

#ifndef CANDOR_DETECTORS_ARL_H_
#define CANDOR_DETECTORS_ARL_H_

#include "absl/status/statusor.h"
#include "detectors/finding.h"

namespace candor::detectors {

// ARL of a tabular CUSUM with reference value `k` and decision interval `h` (both in sigma
// units) when the mean has shifted by `shift` sigmas. Two-sided charts combine the one-sided
// run lengths as 1/ARL = 1/ARL+ + 1/ARL- (Lucas & Crosier 1982). `states` is the number of
// Markov-chain states (>= 20; default gives < 0.5 % error).
// Errors: InvalidArgumentError if k < 0, h <= 0 or states < 20.
absl::StatusOr<double> CusumArl(double k, double h, double shift, Sides sides = Sides::kBoth,
                                int states = 400);

// ARL of an EWMA chart with weight `lambda` in (0, 1] and asymptotic limits at +-L sigma_z,
// sigma_z = sqrt(lambda / (2 - lambda)), for a shift of `shift` sigmas (Lucas–Saccucci chain
// over the in-limit interval). Errors: InvalidArgumentError on lambda outside (0, 1], L <= 0 or
// states < 20.
absl::StatusOr<double> EwmaArl(double lambda, double limit_width, double shift,
                               Sides sides = Sides::kBoth, int states = 301);

// The decision interval h that gives a CUSUM with reference value `k` an in-control ARL of
// `arl0` (bisection on CusumArl; h in (0, 40]). Errors: InvalidArgumentError if arl0 is not in (1,
// 1e12] or k < 0; OutOfRangeError if no h in range reaches arl0.
absl::StatusOr<double> DesignCusumThreshold(double k, double arl0, Sides sides = Sides::kBoth);

// The limit width L that gives an EWMA chart with weight `lambda` an in-control ARL of `arl0`
// (bisection on EwmaArl; L in (0, 8]). Errors as DesignCusumThreshold.
absl::StatusOr<double> DesignEwmaLimit(double lambda, double arl0, Sides sides = Sides::kBoth);

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_ARL_H_
