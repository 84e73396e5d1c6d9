// The anomaly-likelihood layer: turns any stream of raw anomaly scores (|z| of a residual, a
// prediction error, a chart statistic) into a calibrated tail probability, "how unusual is the
// recent level of raw scores compared with the history of raw scores on this very series".
//
// Method (Ahmad, Lavin, Purdy & Agha, "Unsupervised real-time anomaly detection for streaming
// data", Neurocomputing 2017, §4.3): the raw scores' distribution is modelled as a normal with
// mean mu and sigma over the last `history` scores, re-estimated every `reestimate_every`
// records; the likelihood is L = 1 - Q((mean of the last `short_window` scores - mu) / sigma),
// with Q the Gaussian tail. Because each series is judged against its own score history, one
// threshold on L works across very different series, which is what lets one configuration
// serve every signal. `LogLikelihood` rescales L to spread the far tail: log(1.0000000001 -
// L) / log(1e-10), so 0.5 maps to 0.03 and 1 - 1e-5 maps to 0.5.
//
// Thread safety: not thread-safe; one owner per instance.

#ifndef CANDOR_DETECTORS_ANOMALY_LIKELIHOOD_H_
#define CANDOR_DETECTORS_ANOMALY_LIKELIHOOD_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace candor::detectors {

struct AnomalyLikelihoodOptions {
  // Raw scores averaged into the "recent level", >= 1. Default: 10.
  int short_window = 10;
  // Raw scores kept for the distribution estimate, >= short_window. Default: 8640.
  int history = 8640;
  // Re-estimate mu and sigma every this many scores, >= 1. Default: 100.
  int reestimate_every = 100;
  // Scores before the first estimate; until then the likelihood is 0.5, >= 2. Default: 300.
  int learning_period = 300;
  // Floor on sigma, > 0 (in raw-score units), so a long run of identical raw scores does not
  // make the next small one infinitely unlikely. Default: 0.0001.
  double min_sigma = 0.0001;
};
absl::Status Validate(const AnomalyLikelihoodOptions& options);

class AnomalyLikelihood {
 public:
  static absl::StatusOr<AnomalyLikelihood> Create(const AnomalyLikelihoodOptions& options);

  // Feeds one raw score (non-finite counts as the largest score in history, or 0 if none) and
  // returns the likelihood in [0, 1]: 0.5 while learning, near 1 when the recent raw scores
  // sit far in the upper tail of this series' history.
  double Update(double raw_score);
  void Reset();

  // log(1.0000000001 - likelihood) / log(1e-10), in [0, 1].
  static double LogLikelihood(double likelihood);

  double mean() const { return mu_; }
  double sigma() const { return sigma_; }

 private:
  explicit AnomalyLikelihood(const AnomalyLikelihoodOptions& options);
  void Reestimate();

  AnomalyLikelihoodOptions options_;
  std::vector<double> history_;  // Ring buffer of raw scores.
  int64_t count_ = 0;            // Scores seen.
  std::vector<double> recent_;   // Ring buffer of the last short_window scores.
  double recent_sum_ = 0.0;
  double mu_ = 0.0;
  double sigma_ = 1.0;
  bool estimated_ = false;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_ANOMALY_LIKELIHOOD_H_
