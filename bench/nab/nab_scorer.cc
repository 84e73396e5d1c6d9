#include "bench/nab/nab_scorer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::bench::nab {
namespace {

constexpr size_t kTimestampChars = 19;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::vector<std::string_view> SplitComma(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t end = line.find(',', start);
    out.push_back(line.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

bool ParseDouble(std::string_view text, double* out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

absl::Status LoadDataFile(const std::string& path, DataFile* file) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  const std::vector<std::string_view> lines = SplitLines(*text);
  if (lines.empty() || lines[0].substr(0, 15) != "timestamp,value") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":1: expected header \"timestamp,value\""));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto fields = SplitComma(lines[i]);
    double v = 0.0;
    if (fields.size() < 2 || fields[0].size() < kTimestampChars || !ParseDouble(fields[1], &v)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", i + 1,
                                                     ": expected \"timestamp,value\", got \"",
                                                     Sv(lines[i].substr(0, 80)), "\""));
    }
    file->timestamps.emplace_back(fields[0].substr(0, kTimestampChars));
    file->values.push_back(v);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::vector<std::pair<std::string, std::string>>>> LoadWindows(
    const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  const nlohmann::json doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  }
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> out;
  for (const auto& [name, list] : doc.items()) {
    auto& windows = out[name];
    if (!list.is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": windows of ", name, " not a list"));
    }
    for (const auto& w : list) {
      if (!w.is_array() || w.size() != 2 || !w[0].is_string() || !w[1].is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": a window of ", name, " is not [start, end]"));
      }
      windows.emplace_back(w[0].get<std::string>().substr(0, kTimestampChars),
                           w[1].get<std::string>().substr(0, kTimestampChars));
    }
    std::sort(windows.begin(), windows.end());
  }
  return out;
}

int64_t IndexOf(const std::vector<std::string>& ts, const std::string& t) {
  const auto it = std::find(ts.begin(), ts.end(), t);
  return it == ts.end() ? -1 : static_cast<int64_t>(it - ts.begin());
}

}  // namespace

const std::array<Profile, 3>& Profiles() {
  static const std::array<Profile, 3> kProfiles = {{
      {"standard", 1.0, 0.11, 1.0},
      {"reward_low_FP_rate", 1.0, 0.22, 1.0},
      {"reward_low_FN_rate", 1.0, 0.11, 2.0},
  }};
  return kProfiles;
}

absl::StatusOr<Corpus> LoadCorpus(const std::string& nab_dir) {
  auto windows = LoadWindows(nab_dir + "/labels/combined_windows.json");
  if (!windows.ok()) return windows.status();
  Corpus corpus;
  for (auto& [name, list] : *windows) {
    DataFile f;
    f.name = name;
    if (absl::Status s = LoadDataFile(nab_dir + "/data/" + name, &f); !s.ok()) return s;
    for (const auto& [start, end] : list) {
      if (IndexOf(f.timestamps, start) < 0 || IndexOf(f.timestamps, end) < 0) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": window [", start, ", ", end,
                                                       "] bounds are not timestamps of the file"));
      }
    }
    f.windows = std::move(list);
    corpus.files.push_back(std::move(f));
  }
  return corpus;
}

absl::StatusOr<std::vector<double>> LoadResultScores(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  const std::vector<std::string_view> lines = SplitLines(*text);
  if (lines.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty"));
  const auto header = SplitComma(lines[0]);
  const auto col = std::find(header.begin(), header.end(), "anomaly_score");
  if (col == header.end()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":1: no anomaly_score column"));
  }
  const auto index = static_cast<size_t>(col - header.begin());
  std::vector<double> scores;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto fields = SplitComma(lines[i]);
    double v = 0.0;
    if (fields.size() <= index || !ParseDouble(fields[index], &v) || !(v >= 0.0 && v <= 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", i + 1, ": bad anomaly_score (want a number in [0, 1])"));
    }
    scores.push_back(v);
  }
  return scores;
}

int64_t ProbationRows(int64_t rows) {
  return std::min<int64_t>(static_cast<int64_t>(std::floor(0.15 * static_cast<double>(rows))), 750);
}

double ScaledSigmoid(double y) {
  if (y > 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * y)) - 1.0;
}

std::vector<ScoredRow> RowWeights(const DataFile& file, const Profile& profile,
                                  int32_t window_base) {
  const double max_tp = ScaledSigmoid(-1.0);
  const auto n = static_cast<int64_t>(file.timestamps.size());
  const int64_t probation = ProbationRows(n);
  std::vector<ScoredRow> rows;
  rows.reserve(static_cast<size_t>(std::max<int64_t>(0, n - probation)));
  size_t next_window = 0;
  int32_t cur = -1;  // Index into file.windows of the window we are in.
  int64_t cur_right = 0;
  double cur_width = 0.0;
  int64_t prev_right = -1;
  double prev_width = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const std::string& ts = file.timestamps[static_cast<size_t>(i)];
    if (next_window < file.windows.size() && ts == file.windows[next_window].first) {
      cur = static_cast<int32_t>(next_window);
      cur_right = IndexOf(file.timestamps, file.windows[next_window].second);
      cur_width = static_cast<double>(cur_right - IndexOf(file.timestamps, ts) + 1);
      ++next_window;
    }
    double weight;
    if (cur >= 0) {
      const double position = -static_cast<double>(cur_right - i + 1) / cur_width;
      weight = ScaledSigmoid(position) * profile.tp / max_tp;
    } else if (prev_right < 0) {
      weight = -1.0 * profile.fp;
    } else {
      const double past = static_cast<double>(std::llabs(prev_right - i)) / (prev_width - 1.0);
      weight = ScaledSigmoid(past) * profile.fp;
    }
    if (i >= probation) rows.push_back({i, weight, cur >= 0 ? window_base + cur : -1});
    if (cur >= 0 && ts == file.windows[static_cast<size_t>(cur)].second) {
      prev_right = cur_right;
      prev_width = cur_width;
      cur = -1;
    }
  }
  return rows;
}

absl::StatusOr<ProfileResult> ScoreCorpus(const Corpus& corpus,
                                          const std::vector<std::vector<double>>& scores,
                                          const Profile& profile, double fixed_threshold) {
  if (scores.size() != corpus.files.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("scores for ", scores.size(), " files, corpus has ", corpus.files.size()));
  }
  struct Row {
    double score;
    double weight;
    int32_t window;
  };
  std::vector<Row> rows;
  int32_t window_base = 0;
  for (size_t f = 0; f < corpus.files.size(); ++f) {
    const DataFile& file = corpus.files[f];
    if (scores[f].size() != file.timestamps.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file.name, ": ", scores[f].size(), " scores for ", file.timestamps.size(), " rows"));
    }
    for (const ScoredRow& r : RowWeights(file, profile, window_base)) {
      rows.push_back({scores[f][static_cast<size_t>(r.row)], r.weight, r.window});
    }
    window_base += static_cast<int32_t>(file.windows.size());
  }
  std::vector<double> best_in_window(static_cast<size_t>(window_base), std::nan(""));
  int64_t windows = 0;
  {
    std::vector<bool> seen(static_cast<size_t>(window_base), false);
    for (const Row& r : rows) {
      if (r.window >= 0 && !seen[static_cast<size_t>(r.window)]) {
        seen[static_cast<size_t>(r.window)] = true;
        ++windows;
      }
    }
  }
  ProfileResult result;
  result.profile = profile.name;
  result.windows = windows;
  double threshold = fixed_threshold;
  if (threshold < 0.0) {
    // NAB's optimiser: sweep every distinct score from high to low; keep the first maximum.
    std::sort(rows.begin(), rows.end(),
              [](const Row& a, const Row& b) { return a.score > b.score; });
    double tp = 0.0, fp = 0.0, fn = -profile.fn * static_cast<double>(windows);
    double best = fn;
    double best_threshold = 1.1;
    double cur = 1.1;
    for (const Row& r : rows) {
      if (r.score != cur) {
        if (tp + fp + fn > best) {
          best = tp + fp + fn;
          best_threshold = cur;
        }
        cur = r.score;
      }
      if (r.window < 0) {
        fp += r.weight;
        continue;
      }
      double& b = best_in_window[static_cast<size_t>(r.window)];
      if (std::isnan(b)) {
        fn += profile.fn;
        tp += r.weight;
        b = r.weight;
      } else if (r.weight > b) {
        tp += r.weight - b;
        b = r.weight;
      }
    }
    if (tp + fp + fn > best) best_threshold = cur;
    threshold = best_threshold;
    std::fill(best_in_window.begin(), best_in_window.end(), std::nan(""));
  }
  // Score at the threshold (what scorer.py sums per file).
  double fp = 0.0;
  for (const Row& r : rows) {
    if (r.score < threshold) continue;
    if (r.window < 0) {
      fp += r.weight;
      ++result.false_positives;
      continue;
    }
    double& b = best_in_window[static_cast<size_t>(r.window)];
    if (std::isnan(b) || r.weight > b) b = r.weight;
  }
  double tp = 0.0;
  double fn = 0.0;
  for (double b : best_in_window) {
    if (std::isnan(b)) continue;
    tp += b;
    ++result.true_positives;
  }
  fn = -profile.fn * static_cast<double>(windows - result.true_positives);
  result.threshold = threshold;
  result.raw = tp + fp + fn;
  const double perfect = profile.tp * static_cast<double>(windows);
  const double null = -profile.fn * static_cast<double>(windows);
  result.normalized = windows > 0 ? 100.0 * (result.raw - null) / (perfect - null) : 0.0;
  return result;
}

}  // namespace candor::bench::nab
