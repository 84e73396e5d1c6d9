// nab_run: scores candor's anomaly scorer (or published result files) on the NAB corpus with
// one configuration and prints the three profiles.
//
//   nab_run [--nab DIR] [--details] [--write DIR] [--split all|A|B]
//           [--set key=value ...] [--sweep key=v1,v2,...]
//   nab_run --results DIR --detector NAME [--nab DIR] [--details]
#include <array>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
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
      {"window", [](auto& o, double v) { o.window = static_cast<int>(v); }},
      {"max_memory", [](auto& o, double v) { o.max_memory = static_cast<int>(v); }},
      {"history", [](auto& o, double v) { o.history = static_cast<int>(v); }},
      {"scale_q", [](auto& o, double v) { o.scale_q = v; }},
      {"warmup", [](auto& o, double v) { o.warmup = static_cast<int>(v); }},
      {"gpd_tail", [](auto& o, double v) { o.gpd_tail = v; }},
      {"raw_history", [](auto& o, double v) { o.raw_history = static_cast<int>(v); }},
      {"decay", [](auto& o, double v) { o.decay = v; }},
      {"suppress_gain", [](auto& o, double v) { o.suppress_gain = v; }},
      {"score_scale", [](auto& o, double v) { o.score_scale = v; }},
      {"smooth", [](auto& o, double v) { o.smooth = static_cast<int>(v); }},
      {"w_novelty", [](auto& o, double v) { o.w_novelty = v; }},
      {"w_pattern", [](auto& o, double v) { o.w_pattern = v; }},
      {"w_level", [](auto& o, double v) { o.w_level = v; }},
      {"w_seasonal", [](auto& o, double v) { o.w_seasonal = v; }},
      {"w_density", [](auto& o, double v) { o.w_density = v; }},
      {"w_diff", [](auto& o, double v) { o.w_diff = v; }},
      {"level_window", [](auto& o, double v) { o.level_window = static_cast<int>(v); }},
      {"density_window", [](auto& o, double v) { o.density_window = static_cast<int>(v); }},
      {"density_q", [](auto& o, double v) { o.density_q = v; }},
      {"value_mode", [](auto& o, double v) { o.value_mode = static_cast<int>(v); }},
      {"tail_floor", [](auto& o, double v) { o.tail_floor = v; }},
      {"likelihood_mode", [](auto& o, double v) { o.likelihood_mode = static_cast<int>(v); }},
      {"likelihood_gain", [](auto& o, double v) { o.likelihood_gain = v; }},
      {"likelihood_mix", [](auto& o, double v) { o.likelihood_mix = v; }},
      {"record_memory", [](auto& o, double v) { o.record_memory = static_cast<int>(v); }},
      {"record_weight", [](auto& o, double v) { o.record_weight = v; }},
      {"w_coarse", [](auto& o, double v) { o.w_coarse = v; }},
      {"block", [](auto& o, double v) { o.block = static_cast<int>(v); }},
      {"coarse_window", [](auto& o, double v) { o.coarse_window = static_cast<int>(v); }},
      {"coarse_memory", [](auto& o, double v) { o.coarse_memory = static_cast<int>(v); }},
      {"block_mode", [](auto& o, double v) { o.block_mode = static_cast<int>(v); }},
      {"hold_coarse", [](auto& o, double v) { o.hold_coarse = static_cast<int>(v); }},
      {"min_history", [](auto& o, double v) { o.min_history = static_cast<int>(v); }},
      {"seasonal_window", [](auto& o, double v) { o.seasonal_window = static_cast<int>(v); }},
      {"level_window2", [](auto& o, double v) { o.level_window2 = static_cast<int>(v); }},
      {"combine", [](auto& o, double v) { o.combine = static_cast<int>(v); }},
      {"spatial_tolerance", [](auto& o, double v) { o.spatial_tolerance = v; }},
      {"spatial_override", [](auto& o, double v) { o.spatial_override = static_cast<int>(v); }},
      {"spatial_refractory", [](auto& o, double v) { o.spatial_refractory = static_cast<int>(v); }},
      {"secondary_cap", [](auto& o, double v) { o.secondary_cap = v; }},
      {"after_spatial_gain", [](auto& o, double v) { o.after_spatial_gain = v; }},
      {"min_raw", [](auto& o, double v) { o.min_raw = v; }},
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

std::vector<std::vector<std::array<double, AnomalyScorer::kChannels>>>* g_channels = nullptr;

std::vector<std::vector<double>> RunScorer(const nab::Corpus& corpus,
                                           const AnomalyScorerOptions& o) {
  std::vector<std::vector<double>> scores;
  if (g_channels != nullptr) g_channels->clear();
  for (const auto& f : corpus.files) {
    AnomalyScorer s = *AnomalyScorer::Create(o);
    std::vector<double> out;
    out.reserve(f.values.size());
    for (size_t i = 0; i < f.values.size(); ++i) {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", f.timestamps[i], &t, &err)) t = absl::UnixEpoch();
      out.push_back(s.Update(t, f.values[i]));
      if (g_channels != nullptr) {
        if (i == 0) g_channels->emplace_back();
        g_channels->back().push_back(s.last_surprise());
      }
    }
    scores.push_back(std::move(out));
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
                  const std::string& dir) {
  for (size_t f = 0; f < corpus.files.size(); ++f) {
    const auto& file = corpus.files[f];
    const size_t slash = file.name.find('/');
    const std::string cat_dir = dir + "/" + file.name.substr(0, slash);
    std::system(("mkdir -p '" + cat_dir + "'").c_str());
    const std::string path = cat_dir + "/candor_" + file.name.substr(slash + 1);
    FILE* out = std::fopen(path.c_str(), "w");
    if (out == nullptr) return false;
    std::fprintf(out, "timestamp,value,anomaly_score,c0,c1,c2,c3,c4,c5,c6\n");
    for (size_t i = 0; i < file.values.size(); ++i) {
      std::fprintf(out, "%s,%.10g,%.10f", file.timestamps[i].c_str(), file.values[i], scores[f][i]);
      for (int c = 0; c < AnomalyScorer::kChannels; ++c) {
        std::fprintf(out, ",%.4f",
                     g_channels != nullptr ? (*g_channels)[f][i][static_cast<size_t>(c)] : 0.0);
      }
      std::fprintf(out, "\n");
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
      Report(corpus, RunScorer(corpus, o), false, label);
    }
    return 0;
  }
  std::vector<std::vector<std::array<double, AnomalyScorer::kChannels>>> channels;
  if (!write_dir.empty()) g_channels = &channels;
  const auto scores = RunScorer(corpus, options);
  Report(corpus, scores, details, "");
  if (!write_dir.empty() && !WriteResults(corpus, scores, write_dir)) return 1;
  return 0;
}
