// Per-file breakdown of a NAB run at a given threshold: for each window, whether and where it
// was first detected (and what that earned), and the false-positive rows per file. Used by
// nab_run's --details output to see where a detector gains and loses.
//
// Thread safety: pure functions.

#ifndef CANDOR_BENCH_NAB_NAB_REPORT_H_
#define CANDOR_BENCH_NAB_NAB_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/nab/nab_scorer.h"

namespace candor::bench::nab {

struct WindowOutcome {
  int64_t start_row = 0;
  int64_t end_row = 0;
  int64_t first_detection = -1;  // Row of the earliest detection, -1 if missed.
  double weight = 0.0;           // What the window earned (A_TP-weighted), or -A_FN.
};

struct FileOutcome {
  std::string name;
  std::vector<WindowOutcome> windows;
  int64_t false_positive_rows = 0;
  double false_positive_cost = 0.0;  // Sum of FP weights (<= 0).
  double score = 0.0;                // The file's NAB score at the threshold.
};

// The per-file outcomes of `scores` at `threshold` under `profile`.
std::vector<FileOutcome> Outcomes(const Corpus& corpus,
                                  const std::vector<std::vector<double>>& scores,
                                  const Profile& profile, double threshold);

// A human-readable table of `outcomes`, one line per file.
std::string FormatOutcomes(const std::vector<FileOutcome>& outcomes);

}  // namespace candor::bench::nab

#endif  // CANDOR_BENCH_NAB_NAB_REPORT_H_
