#include "bench/nab/nab_report.h"

#include <algorithm>
#include <cstdio>

namespace candor::bench::nab {

std::vector<FileOutcome> Outcomes(const Corpus& corpus,
                                  const std::vector<std::vector<double>>& scores,
                                  const Profile& profile, double threshold) {
  std::vector<FileOutcome> out;
  for (size_t f = 0; f < corpus.files.size(); ++f) {
    const DataFile& file = corpus.files[f];
    FileOutcome o;
    o.name = file.name;
    for (const auto& [start, end] : file.windows) {
      WindowOutcome w;
      w.start_row = std::find(file.timestamps.begin(), file.timestamps.end(), start) -
                    file.timestamps.begin();
      w.end_row =
          std::find(file.timestamps.begin(), file.timestamps.end(), end) - file.timestamps.begin();
      w.weight = -profile.fn;
      o.windows.push_back(w);
    }
    for (const ScoredRow& r : RowWeights(file, profile, 0)) {
      if (f >= scores.size() || static_cast<size_t>(r.row) >= scores[f].size() ||
          scores[f][static_cast<size_t>(r.row)] < threshold) {
        continue;
      }
      if (r.window < 0) {
        ++o.false_positive_rows;
        o.false_positive_cost += r.weight;
        continue;
      }
      WindowOutcome& w = o.windows[static_cast<size_t>(r.window)];
      if (w.first_detection < 0) {
        w.first_detection = r.row;
        w.weight = r.weight;
      }
    }
    o.score = o.false_positive_cost;
    for (const WindowOutcome& w : o.windows) o.score += w.weight;
    out.push_back(std::move(o));
  }
  return out;
}

std::string FormatOutcomes(const std::vector<FileOutcome>& outcomes) {
  std::string text;
  char line[256];
  for (const FileOutcome& o : outcomes) {
    std::snprintf(line, sizeof line,
                  "%-58s score %7.3f  fp %4lld (%6.3f)  windows:", o.name.c_str(), o.score,
                  static_cast<long long>(o.false_positive_rows), o.false_positive_cost);
    text += line;
    for (const WindowOutcome& w : o.windows) {
      if (w.first_detection < 0) {
        text += " miss";
      } else {
        const double pos = static_cast<double>(w.first_detection - w.start_row) /
                           static_cast<double>(std::max<int64_t>(1, w.end_row - w.start_row));
        std::snprintf(line, sizeof line, " %.2f@%.2f", w.weight, pos);
        text += line;
      }
    }
    text += "\n";
  }
  return text;
}

}  // namespace candor::bench::nab
