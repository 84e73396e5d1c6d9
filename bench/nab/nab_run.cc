// nab_run: scores a detector on the NAB corpus and prints the three profiles.
//
//   nab_run --results DIR --detector NAME [--nab DIR] [--details]
//       scores published result files DIR/<category>/<NAME>_<file>.csv
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/nab/nab_report.h"
#include "bench/nab/nab_scorer.h"

namespace {

using candor::bench::nab::Corpus;

std::string DefaultNabDir() {
  const char* shared = std::getenv("CANDOR_SHARED_DIR");
  return std::string(shared != nullptr ? shared : "../shared") + "/data/nab";
}

}  // namespace

int main(int argc, char** argv) {
  namespace nab = candor::bench::nab;
  std::string nab_dir = DefaultNabDir();
  std::string results;
  std::string detector;
  bool details = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--nab") nab_dir = next();
    else if (a == "--results") results = next();
    else if (a == "--detector") detector = next();
    else if (a == "--details") details = true;
  }
  auto corpus = nab::LoadCorpus(nab_dir);
  if (!corpus.ok()) {
    std::fprintf(stderr, "%s\n", corpus.status().ToString().c_str());
    return 1;
  }
  std::vector<std::vector<double>> scores;
  for (const auto& f : corpus->files) {
    const size_t slash = f.name.find('/');
    auto s = nab::LoadResultScores(results + "/" + f.name.substr(0, slash + 1) + detector + "_" +
                                   f.name.substr(slash + 1));
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
      return 1;
    }
    scores.push_back(*s);
  }
  for (const auto& p : nab::Profiles()) {
    auto r = nab::ScoreCorpus(*corpus, scores, p);
    std::printf("%-20s %6.2f  threshold %.4f  raw %8.3f  windows %lld/%lld  fp rows %lld\n",
                std::string(p.name).c_str(), r->normalized, r->threshold, r->raw,
                static_cast<long long>(r->true_positives), static_cast<long long>(r->windows),
                static_cast<long long>(r->false_positives));
    if (details && p.name == "standard") {
      std::printf("%s", nab::FormatOutcomes(nab::Outcomes(*corpus, scores, p, r->threshold)).c_str());
    }
  }
  return 0;
}
