// An exact implementation of the Numenta Anomaly Benchmark's scoring (NAB v1.0:
// nab/sweeper.py, scorer.py, optimizer.py and runner.normalize), used to score candor's
// detectors on the NAB corpus and checked against the published detectors' result files.
//
// Scoring in short: rows before the probation period min(floor(0.15 n), 750) are ignored; a
// row is a detection when its anomaly score reaches one threshold chosen per profile over the
// whole corpus; the earliest detection inside a window earns a scaled sigmoid of its position
// (+1 at the left edge), a window without one costs -A_FN, every detection outside a window
// costs A_FP times a sigmoid of its distance past the previous window (-A_FP before any
// window has ended); the total is normalised to 100 (S - S_null) / (S_perfect - S_null).
//
// Thread safety: functions are pure; Corpus values are immutable after loading.

#ifndef CANDOR_BENCH_NAB_NAB_SCORER_H_
#define CANDOR_BENCH_NAB_NAB_SCORER_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace candor::bench::nab {

// A cost profile (config/profiles.json).
struct Profile {
  std::string_view name;
  double tp;  // A_TP
  double fp;  // A_FP
  double fn;  // A_FN
};

// standard (1, 0.11, 1), reward_low_FP_rate (1, 0.22, 1), reward_low_FN_rate (1, 0.11, 2).
const std::array<Profile, 3>& Profiles();

// One labelled data file.
struct DataFile {
  std::string name;                     // Relative path, e.g. "realKnownCause/nyc_taxi.csv".
  std::vector<std::string> timestamps;  // First 19 characters, "YYYY-MM-DD hh:mm:ss".
  std::vector<double> values;
  // Anomaly windows as (start, end) timestamps (19 characters), sorted by start.
  std::vector<std::pair<std::string, std::string>> windows;
};

struct Corpus {
  std::vector<DataFile> files;  // Sorted by name.
};

// Loads `<nab_dir>/data/<category>/<file>.csv` for every file named in
// `<nab_dir>/labels/combined_windows.json`. Errors: NotFoundError for a missing file;
// InvalidArgumentError naming the file and line for a malformed row, a window whose bounds
// are not timestamps of its file, or malformed JSON.
absl::StatusOr<Corpus> LoadCorpus(const std::string& nab_dir);

// Reads the `anomaly_score` column of a NAB results CSV (any column order). Errors:
// NotFoundError; InvalidArgumentError naming the line for a missing column, a bad number or a
// score outside [0, 1].
absl::StatusOr<std::vector<double>> LoadResultScores(const std::string& path);

// NAB's probation length for a file of `rows` rows: min(floor(0.15 rows), 750).
int64_t ProbationRows(int64_t rows);

// The scaled sigmoid: -1 for y > 3, else 2 / (1 + e^(5y)) - 1.
double ScaledSigmoid(double y);

// The per-row weights of one file under `profile`: for each scored row (i >= probation),
// its weight if detected and the index of its window in the corpus numbering starting at
// `window_base` (-1 outside windows). Rows are in file order.
struct ScoredRow {
  int64_t row;
  double weight;
  int32_t window;
};
std::vector<ScoredRow> RowWeights(const DataFile& file, const Profile& profile,
                                  int32_t window_base);

struct ProfileResult {
  std::string_view profile;
  double threshold = 1.1;  // The optimised threshold (1.1: no detections).
  double raw = 0.0;        // Sum of per-file scores at the threshold.
  double normalized = 0.0;
  int64_t windows = 0;          // Windows with at least one scored row.
  int64_t true_positives = 0;   // Windows detected.
  int64_t false_positives = 0;  // Detected rows outside windows.
};

// Scores the corpus: `scores[f][i]` is file f's anomaly score of row i (same row count as the
// file). With `fixed_threshold` set, that threshold is used; otherwise NAB's optimiser picks
// the best (highest on ties). Errors: InvalidArgumentError if sizes do not match.
absl::StatusOr<ProfileResult> ScoreCorpus(const Corpus& corpus,
                                          const std::vector<std::vector<double>>& scores,
                                          const Profile& profile, double fixed_threshold = -1.0);

}  // namespace candor::bench::nab

#endif  // CANDOR_BENCH_NAB_NAB_SCORER_H_
