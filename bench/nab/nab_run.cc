// nab_run: scores candor's anomaly scorer (detectors/anomaly_scorer.h, default options: the
// configuration `candor detect` uses) on the NAB corpus and prints the three profiles, each
// with NAB's optimised threshold. Options exist for experiments; the published figures use
// none of them.
//
//   nab_run [--nab DIR] [--details] [--write DIR] [--split all|A|B]
//           [--set key=value ...] [--sweep key=v1,v2,...]
//   nab_run --results DIR --detector NAME [--nab DIR] [--details]
//
// --nab defaults to $CANDOR_SHARED_DIR/data/nab, else ../shared/data/nab. --details prints a
// per-file breakdown (standard profile). --write writes NAB results files (plus the event
// channel). --split scores one category-stratified half (see heldout_tune.py). --results
// scores published result files DIR/<category>/<NAME>_<file>.csv instead.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/nab/nab_report.h"
#include "bench/nab/nab_scorer.h"
#include "detectors/anomaly_scorer.h"

namespace {

namespace nab = candor::bench::nab;
using candor::detectors::AnomalyScorer;
using candor::detectors::AnomalyScorerOptions;

std::string DefaultNabDir() {
  const char* shared = std::getenv("CANDOR_SHARED_DIR");
  return std::string(shared != nullptr ? shared : "../shared") + "/data/nab";
}

using Setter = std::function<void(AnomalyScorerOptions&, double)>;

const std::map<std::string, Setter>& Setters() {
  static const auto* kSetters = new std::map<std::string, Setter>{
      {"warmup", [](auto& o, double v) { o.warmup = static_cast<int>(v); }},
      {"point_tolerance", [](auto& o, double v) { o.point_tolerance = v; }},
      {"short_scale", [](auto& o, double v) { o.short_scale = static_cast<int>(v); }},
      {"short_tolerance", [](auto& o, double v) { o.short_tolerance = v; }},
      {"short_weight", [](auto& o, double v) { o.short_weight = v; }},
      {"long_scale", [](auto& o, double v) { o.long_scale = static_cast<int>(v); }},
      {"long_tolerance", [](auto& o, double v) { o.long_tolerance = v; }},
      {"long_weight", [](auto& o, double v) { o.long_weight = v; }},
      {"season_scale", [](auto& o, double v) { o.season_scale = static_cast<int>(v); }},
      {"season_tolerance", [](auto& o, double v) { o.season_tolerance = v; }},
      {"season_weight", [](auto& o, double v) { o.season_weight = v; }},
      {"refractory", [](auto& o, double v) { o.refractory = static_cast<int>(v); }},
      {"range_memory", [](auto& o, double v) { o.range_memory = static_cast<int64_t>(v); }},
      {"season_learn_days", [](auto& o, double v) { o.season_learn = absl::Hours(24 * v); }},
      {"daily_buckets", [](auto& o, double v) { o.baseline.daily_buckets = static_cast<int>(v); }},
      {"weekly", [](auto& o, double v) { o.baseline.weekly = v != 0; }},
  };
  return *kSetters;
}

bool Apply(AnomalyScorerOptions& o, const std::string& key, double v) {
  const auto it = Setters().find(key);
  if (it == Setters().end()) {
    std::fprintf(stderr, "unknown option %s\n", key.c_str());
    return false;
  }
  it->second(o, v);
  return true;
}

// Runs one scorer per file over the corpus, online, in row order. `channels`, when given,
// receives each row's event channel (-1: no event).
absl::StatusOr<std::vector<std::vector<double>>> RunScorer(
    const nab::Corpus& corpus, const AnomalyScorerOptions& o,
    std::vector<std::vector<int>>* channels = nullptr) {
  std::vector<std::vector<double>> scores;
  for (const auto& f : corpus.files) {
    auto s = AnomalyScorer::Create(o);
    if (!s.ok()) return s.status();
    std::vector<double> out;
    std::vector<int> chan;
    out.reserve(f.values.size());
    for (size_t i = 0; i < f.values.size(); ++i) {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", f.timestamps[i], &t, &err)) {
        return absl::InvalidArgumentError(
            absl::StrCat(f.name, ":", i + 2, ": bad timestamp \"", f.timestamps[i], "\": ", err));
      }
      out.push_back(s->Update(t, f.values[i]));
      chan.push_back(s->last_event_channel());
    }
    scores.push_back(std::move(out));
    if (channels != nullptr) channels->push_back(std::move(chan));
  }
  return scores;
}

// Category-stratified halves: within each category, files alternate between A and B.
nab::Corpus Split(const nab::Corpus& c, const std::string& which) {
  if (which == "all") return c;
  nab::Corpus out;
  std::map<std::string, int> seen;
  for (const auto& f : c.files) {
    const std::string cat = f.name.substr(0, f.name.find('/'));
    const int k = seen[cat]++;
    if ((k % 2 == 0) == (which == "A")) out.files.push_back(f);
  }
  return out;
}

void Report(const nab::Corpus& corpus, const std::vector<std::vector<double>>& scores, bool details,
            const std::string& label) {
  std::string line = label;
  for (const auto& p : nab::Profiles()) {
    auto r = nab::ScoreCorpus(corpus, scores, p);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return;
    }
    if (!label.empty()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "  %6.2f", r->normalized);
      line += buf;
      continue;
    }
    std::printf("%-20s %6.2f  threshold %.4f  raw %8.3f  windows %lld/%lld  fp rows %lld\n",
                std::string(p.name).c_str(), r->normalized, r->threshold, r->raw,
                static_cast<long long>(r->true_positives), static_cast<long long>(r->windows),
                static_cast<long long>(r->false_positives));
    if (details && p.name == "standard") {
      std::printf("%s",
                  nab::FormatOutcomes(nab::Outcomes(corpus, scores, p, r->threshold)).c_str());
    }
  }
  if (!label.empty()) std::printf("%s\n", line.c_str());
}

bool WriteResults(const nab::Corpus& corpus, const std::vector<std::vector<double>>& scores,
                  const std::vector<std::vector<int>>& channels, const std::string& dir) {
  for (size_t f = 0; f < corpus.files.size(); ++f) {
    const auto& file = corpus.files[f];
    const size_t slash = file.name.find('/');
    const std::string cat_dir = dir + "/" + file.name.substr(0, slash);
    std::error_code ec;
    std::filesystem::create_directories(cat_dir, ec);
    if (ec) {
      std::fprintf(stderr, "cannot create %s: %s\n", cat_dir.c_str(), ec.message().c_str());
      return false;
    }
    const std::string path = cat_dir + "/candor_" + file.name.substr(slash + 1);
    FILE* out = std::fopen(path.c_str(), "w");
    if (out == nullptr) return false;
    std::fprintf(out, "timestamp,value,anomaly_score,event_channel\n");
    for (size_t i = 0; i < file.values.size(); ++i) {
      std::fprintf(out, "%s,%.10g,%.10f,%d\n", file.timestamps[i].c_str(), file.values[i],
                   scores[f][i], channels[f][i]);
    }
    std::fclose(out);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string nab_dir = DefaultNabDir();
  std::string results;
  std::string detector;
  std::string write_dir;
  std::string split = "all";
  std::string sweep;
  bool details = false;
  AnomalyScorerOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--nab") {
      nab_dir = next();
    } else if (a == "--results") {
      results = next();
    } else if (a == "--detector") {
      detector = next();
    } else if (a == "--details") {
      details = true;
    } else if (a == "--write") {
      write_dir = next();
    } else if (a == "--split") {
      split = next();
    } else if (a == "--sweep") {
      sweep = next();
    } else if (a == "--set") {
      const std::string kv = next();
      const size_t eq = kv.find('=');
      double v = 0;
      if (eq == std::string::npos || !absl::SimpleAtod(kv.substr(eq + 1), &v) ||
          !Apply(options, kv.substr(0, eq), v)) {
        std::fprintf(stderr, "bad --set %s\n", kv.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  auto loaded = nab::LoadCorpus(nab_dir);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    return 1;
  }
  const nab::Corpus corpus = Split(*loaded, split);
  if (!results.empty()) {
    std::vector<std::vector<double>> scores;
    for (const auto& f : corpus.files) {
      const size_t slash = f.name.find('/');
      auto s = nab::LoadResultScores(results + "/" + f.name.substr(0, slash + 1) + detector + "_" +
                                     f.name.substr(slash + 1));
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
        return 1;
      }
      scores.push_back(*s);
    }
    Report(corpus, scores, details, "");
    return 0;
  }
  if (!sweep.empty()) {
    const size_t eq = sweep.find('=');
    const std::string key = sweep.substr(0, eq);
    std::printf("%-28s  %6s  %6s  %6s\n", key.c_str(), "std", "lowFP", "lowFN");
    for (absl::string_view v : absl::StrSplit(sweep.substr(eq + 1), ',')) {
      double value = 0;
      if (!absl::SimpleAtod(v, &value)) return 2;
      AnomalyScorerOptions o = options;
      if (!Apply(o, key, value)) return 2;
      char label[64];
      std::snprintf(label, sizeof label, "%-28g", value);
      auto scores = RunScorer(corpus, o);
      if (!scores.ok()) {
        std::fprintf(stderr, "%s\n", scores.status().ToString().c_str());
        return 1;
      }
      Report(corpus, *scores, false, label);
    }
    return 0;
  }
  std::vector<std::vector<int>> channels;
  const auto scores = RunScorer(corpus, options, &channels);
  if (!scores.ok()) {
    std::fprintf(stderr, "%s\n", scores.status().ToString().c_str());
    return 1;
  }
  Report(corpus, *scores, details, "");
  if (!write_dir.empty() && !WriteResults(corpus, *scores, channels, write_dir)) return 1;
  return 0;
}
