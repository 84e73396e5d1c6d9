// Statistical process control charts on one scalar stream: EWMA, tabular CUSUM and Shewhart
// individuals with Western Electric / Nelson rules. Each is designed to a stated in-control
// average run length (ARL0, see arl.h), which is how its false-alarm rate is set.
//
// In-control parameters: either given in the options (e.g. 0 and 1 when the input is an
// already standardised residual from RobustSeasonalBaseline), or estimated from the first
// `warmup_samples` samples (mean and standard deviation) and then frozen, as in River's charts.
// Until warm-up ends a chart returns inactive findings.
//
// Thread safety: instances are not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_SPC_CHARTS_H_
#define CANDOR_DETECTORS_SPC_CHARTS_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "detectors/finding.h"

namespace candor::detectors {

// In-control parameters shared by the charts.
struct InControlOptions {
  // Known in-control mean. Default: unset (estimated during warm-up).
  std::optional<double> mean;
  // Known in-control standard deviation, > 0. Default: unset (estimated during warm-up).
  std::optional<double> sigma;
  // Samples used to estimate whichever of mean/sigma is unset, >= 2. Default: 30.
  int warmup_samples = 30;
  // Floor on the estimated sigma, in the signal's units, > 0: keeps a constant warm-up from
  // making every later wiggle an alarm. Default: 1e-9.
  double min_sigma = 1e-9;
};

// EWMA chart (Roberts 1959; limits per Lucas & Saccucci 1990):
// z_t = lambda * x_t + (1 - lambda) * z_{t-1}, z_0 = mu0; alarm when
// |z_t - mu0| > L * sigma0 * sqrt(lambda / (2 - lambda)) (asymptotic limits), or, with
// `time_varying_limits`, the exact variance factor (1 - (1 - lambda)^(2t)).
struct EwmaOptions {
  // Smoothing weight in (0, 1]; smaller detects smaller sustained shifts. Default: 0.1.
  double lambda = 0.1;
  // Limit width L in sigma_z units, > 0. Default: 2.814, which with lambda 0.1 gives
  // ARL0 = 500 two-sided and ARL1 = 10.3 at a 1-sigma shift, 31.3 at 0.5 sigma.
  double limit_width = 2.814;
  // Default: kBoth.
  Sides sides = Sides::kBoth;
  // Narrower limits while z_t is young (fast initial response; lowers ARL0 slightly below the
  // design). Default: false, so the designed ARL0 holds exactly.
  bool time_varying_limits = false;
  InControlOptions in_control;

  // Options for weight `lambda` with L designed for the in-control ARL `arl0` (see arl.h).
  // Errors: as DesignEwmaLimit.
  static absl::StatusOr<EwmaOptions> ForArl(double lambda, double arl0, Sides sides = Sides::kBoth);
};
// OK, or InvalidArgumentError naming the first bad field.
absl::Status Validate(const EwmaOptions& options);

// Tabular CUSUM (Page 1954; Montgomery §9.1): C+_t = max(0, C+_{t-1} + z_t - k),
// C-_t = max(0, C-_{t-1} - z_t - k) with z_t = (x_t - mu0) / sigma0; alarm when C > h.
// Onset estimate: the last sample at which the alarming side was zero (Montgomery §9.1.4).
struct CusumOptions {
  // Reference value k in sigma units, >= 0: half the shift the chart is tuned to. Default: 0.5.
  double k = 0.5;
  // Decision interval h in sigma units, > 0. Default: 5 (ARL0 = 465 two-sided, ARL1 = 10.4 at
  // a 1-sigma shift).
  double h = 5.0;
  // Default: kBoth.
  Sides sides = Sides::kBoth;
  // Fast initial response headstart as a fraction of h in [0, 1) applied at start and after a
  // Reset (Lucas & Crosier 1982). Default: 0 (none; the designed ARL0 holds exactly).
  double headstart = 0.0;
  // After an alarm, restart the sums at the headstart so the next alarm needs fresh evidence.
  // Default: false (the finding stays active while the shift persists).
  bool restart_after_alarm = false;
  InControlOptions in_control;

  // Options for reference value `k` with h designed for the in-control ARL `arl0`.
  // Errors: as DesignCusumThreshold.
  static absl::StatusOr<CusumOptions> ForArl(double k, double arl0, Sides sides = Sides::kBoth);
};
absl::Status Validate(const CusumOptions& options);

// Run rules for the Shewhart individuals chart (bit flags; zones at 1, 2, 3 sigma).
enum ShewhartRule : uint32_t {
  kRuleBeyond3Sigma = 1u << 0,         // WE1 / Nelson 1: one point beyond 3 sigma.
  kRuleTwoOfThreeBeyond2 = 1u << 1,    // WE2 / Nelson 5: 2 of 3 beyond 2 sigma, same side.
  kRuleFourOfFiveBeyond1 = 1u << 2,    // WE3 / Nelson 6: 4 of 5 beyond 1 sigma, same side.
  kRuleEightOneSide = 1u << 3,         // WE4: 8 in a row on one side of the centre.
  kRuleNineOneSide = 1u << 4,          // Nelson 2: 9 in a row on one side.
  kRuleSixTrending = 1u << 5,          // Nelson 3: 6 in a row steadily increasing/decreasing.
  kRuleFourteenAlternating = 1u << 6,  // Nelson 4: 14 in a row alternating up and down.
  kRuleFifteenWithin1 = 1u << 7,       // Nelson 7: 15 in a row within 1 sigma.
  kRuleEightOutside1 = 1u << 8,        // Nelson 8: 8 in a row none within 1 sigma, both sides.
};
inline constexpr uint32_t kWesternElectricRules =
    kRuleBeyond3Sigma | kRuleTwoOfThreeBeyond2 | kRuleFourOfFiveBeyond1 | kRuleEightOneSide;
inline constexpr uint32_t kNelsonRules =
    kRuleBeyond3Sigma | kRuleNineOneSide | kRuleSixTrending | kRuleFourteenAlternating |
    kRuleTwoOfThreeBeyond2 | kRuleFourOfFiveBeyond1 | kRuleFifteenWithin1 | kRuleEightOutside1;

// Shewhart individuals chart: alarm on any enabled rule. With only kRuleBeyond3Sigma and
// k = 3, ARL0 = 370.4; with the four Western Electric rules ARL0 is about 92, so those rules
// are supporting evidence for the state machine, not alarms on their own.
struct ShewhartOptions {
  // Width of the outer limit in sigma, > 0 (rule 1). Default: 3.
  double k_sigma = 3.0;
  // Enabled rules (ShewhartRule bits, non-zero). Default: kWesternElectricRules.
  uint32_t rules = kWesternElectricRules;
  // Default: kBoth (a one-sided chart only fires same-side rules on that side).
  Sides sides = Sides::kBoth;
  InControlOptions in_control;
};
absl::Status Validate(const ShewhartOptions& options);

class EwmaChart final : public StreamDetector {
 public:
  // Errors: InvalidArgumentError from Validate(options).
  static absl::StatusOr<EwmaChart> Create(const EwmaOptions& options);

  Finding Update(absl::Time t, double x) override;
  void Reset() override;
  std::string_view name() const override { return "ewma"; }

  // The EWMA statistic z_t (mu0 before warm-up ends).
  double statistic() const { return z_; }
  bool warmed_up() const { return warm_n_ < 0; }
  double in_control_mean() const { return mu0_; }
  double in_control_sigma() const { return sigma0_; }

 private:
  explicit EwmaChart(const EwmaOptions& options);
  void FinishWarmup();

  EwmaOptions options_;
  double mu0_ = 0.0;
  double sigma0_ = 1.0;
  double z_ = 0.0;
  double decay_pow_ = 1.0;  // (1 - lambda)^(2t), for time-varying limits.
  int64_t warm_n_ = 0;      // Warm-up samples seen; -1 once warmed up.
  double warm_mean_ = 0.0;
  double warm_m2_ = 0.0;
  Direction side_ = Direction::kNone;  // Side of mu0 that z_t is on.
  absl::Time side_since_ = absl::InfinitePast();
  bool active_ = false;
};

class CusumChart final : public StreamDetector {
 public:
  static absl::StatusOr<CusumChart> Create(const CusumOptions& options);

  Finding Update(absl::Time t, double x) override;
  void Reset() override;
  std::string_view name() const override { return "cusum"; }

  double upper() const { return upper_; }
  double lower() const { return lower_; }
  bool warmed_up() const { return warm_n_ < 0; }
  double in_control_mean() const { return mu0_; }
  double in_control_sigma() const { return sigma0_; }

 private:
  explicit CusumChart(const CusumOptions& options);
  void FinishWarmup();
  void Restart();

  CusumOptions options_;
  double mu0_ = 0.0;
  double sigma0_ = 1.0;
  double upper_ = 0.0;
  double lower_ = 0.0;
  absl::Time upper_zero_ = absl::InfinitePast();  // Last time C+ was zero.
  absl::Time lower_zero_ = absl::InfinitePast();
  int64_t warm_n_ = 0;
  double warm_mean_ = 0.0;
  double warm_m2_ = 0.0;
  bool active_ = false;
};

class ShewhartChart final : public StreamDetector {
 public:
  static absl::StatusOr<ShewhartChart> Create(const ShewhartOptions& options);

  Finding Update(absl::Time t, double x) override;
  void Reset() override;
  std::string_view name() const override { return "shewhart"; }

  // The ShewhartRule bits that fired on the last update (0 if none).
  uint32_t last_rules_fired() const { return last_fired_; }
  bool warmed_up() const { return warm_n_ < 0; }

 private:
  static constexpr int kHistory = 15;  // Longest rule (Nelson 7) looks at 15 points.
  explicit ShewhartChart(const ShewhartOptions& options);
  uint32_t EvaluateRules() const;
  double Recent(int back) const;  // Standardised value `back` samples ago (0 = latest).

  ShewhartOptions options_;
  double mu0_ = 0.0;
  double sigma0_ = 1.0;
  double history_[kHistory] = {};
  int count_ = 0;  // Standardised samples in history_, up to kHistory.
  int head_ = 0;   // Index of the latest sample in history_.
  int64_t warm_n_ = 0;
  double warm_mean_ = 0.0;
  double warm_m2_ = 0.0;
  uint32_t last_fired_ = 0;
  absl::Time run_start_ = absl::InfinitePast();
  bool active_ = false;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_SPC_CHARTS_H_
