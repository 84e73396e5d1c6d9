#include "bench/nab/nab_scorer.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace candor::bench::nab {
namespace {

std::string SharedDir() {
  const char* dir = std::getenv("CANDOR_SHARED_DIR");
  return dir != nullptr ? dir : "";
}

// The published detector's per-file results: nab-results/<det>/<category>/<det>_<file>.csv.
std::vector<std::vector<double>> LoadPublished(const Corpus& corpus, const std::string& det) {
  std::vector<std::vector<double>> scores;
  for (const DataFile& f : corpus.files) {
    const size_t slash = f.name.find('/');
    const std::string path = SharedDir() + "/data/nab-results/" + det + "/" +
                             f.name.substr(0, slash + 1) + det + "_" + f.name.substr(slash + 1);
    auto s = LoadResultScores(path);
    EXPECT_TRUE(s.ok()) << s.status();
    scores.push_back(s.ok() ? *s : std::vector<double>(f.timestamps.size(), 0.0));
  }
  return scores;
}

class NabScorerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = LoadCorpus(SharedDir() + "/data/nab");
    ASSERT_TRUE(c.ok()) << c.status();
    corpus_ = new Corpus(*std::move(c));
  }
  static void TearDownTestSuite() { delete corpus_; }
  static Corpus* corpus_;
};
Corpus* NabScorerTest::corpus_ = nullptr;

double Round2(double x) { return std::round(x * 100.0) / 100.0; }

TEST_F(NabScorerTest, CorpusHas39FilesAnd83Windows) {
  ASSERT_EQ(corpus_->files.size(), 39u);
  size_t windows = 0;
  for (const DataFile& f : corpus_->files) windows += f.windows.size();
  EXPECT_EQ(windows, 83u);
}

// The table in ../shared/data/README.md, to two decimals, with thresholds optimised on the 39
// files.
TEST_F(NabScorerTest, ReproducesPublishedArtimeScores) {
  const auto scores = LoadPublished(*corpus_, "ARTime");
  const double expected[] = {72.30, 62.38, 77.92};
  for (size_t p = 0; p < 3; ++p) {
    auto r = ScoreCorpus(*corpus_, scores, Profiles()[p]);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_DOUBLE_EQ(Round2(r->normalized), expected[p]) << Profiles()[p].name;
    EXPECT_EQ(r->windows, 83);
    if (p == 0) {
      EXPECT_NEAR(r->threshold, 0.3175, 5e-5);
    }
  }
}

TEST_F(NabScorerTest, ReproducesPublishedNumentaScores) {
  const auto scores = LoadPublished(*corpus_, "numenta");
  const double expected[] = {69.51, 63.06, 73.65};
  for (size_t p = 0; p < 3; ++p) {
    auto r = ScoreCorpus(*corpus_, scores, Profiles()[p]);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_DOUBLE_EQ(Round2(r->normalized), expected[p]) << Profiles()[p].name;
    if (p == 0) {
      EXPECT_NEAR(r->threshold, 0.5431, 5e-5);
    }
  }
}

TEST_F(NabScorerTest, NullAndPerfectDetectorsNormaliseToZeroAndHundred) {
  std::vector<std::vector<double>> null_scores;
  std::vector<std::vector<double>> perfect;
  for (const DataFile& f : corpus_->files) {
    null_scores.emplace_back(f.timestamps.size(), 0.5);
    std::vector<double> p(f.timestamps.size(), 0.0);
    for (const auto& w : f.windows) {
      for (size_t i = 0; i < f.timestamps.size(); ++i) {
        if (f.timestamps[i] == w.first) p[i] = 1.0;
      }
    }
    perfect.push_back(std::move(p));
  }
  for (const Profile& profile : Profiles()) {
    EXPECT_NEAR(ScoreCorpus(*corpus_, null_scores, profile)->normalized, 0.0, 1e-9);
    EXPECT_NEAR(ScoreCorpus(*corpus_, perfect, profile)->normalized, 100.0, 1e-9);
  }
}

TEST(NabScoringTest, SigmoidAndProbationMatchNab) {
  EXPECT_NEAR(ScaledSigmoid(-1.0), 0.986614, 1e-6);
  EXPECT_DOUBLE_EQ(ScaledSigmoid(3.5), -1.0);
  EXPECT_NEAR(ScaledSigmoid(0.0), 0.0, 1e-12);
  EXPECT_EQ(ProbationRows(4032), 604);
  EXPECT_EQ(ProbationRows(22695), 750);
}

TEST(NabScoringTest, RowWeightsFollowWindowPositions) {
  DataFile f;
  for (int i = 0; i < 100; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "2014-01-01 00:%02d:00", i % 60);
    f.timestamps.push_back(std::string(buf).substr(0, 11) + std::to_string(10 + i / 60) +
                           std::string(buf).substr(13));
  }
  f.values.assign(100, 0.0);
  f.windows.emplace_back(f.timestamps[40], f.timestamps[49]);
  const auto rows = RowWeights(f, Profiles()[0], 0);
  ASSERT_EQ(rows.size(), 85u);  // Probation: 15 rows.
  EXPECT_EQ(rows.front().row, 15);
  EXPECT_DOUBLE_EQ(rows.front().weight, -0.11);  // Before any window: -A_FP.
  EXPECT_EQ(rows[25].window, 0);                 // Row 40: the left edge, weight +1.
  EXPECT_NEAR(rows[25].weight, 1.0, 1e-12);
  EXPECT_EQ(rows[35].window, -1);  // Row 50: just after, FP discounted.
  EXPECT_GT(rows[35].weight, -0.11 * 0.3);
  EXPECT_NEAR(rows.back().weight, -0.11, 1e-3);  // Far past the window.
}

TEST(NabScoringTest, RejectsMismatchedScores) {
  Corpus c;
  c.files.emplace_back();
  c.files[0].timestamps = {"2014-01-01 00:00:00"};
  c.files[0].values = {1.0};
  EXPECT_FALSE(ScoreCorpus(c, {{0.1, 0.2}}, Profiles()[0]).ok());
  EXPECT_FALSE(ScoreCorpus(c, {}, Profiles()[0]).ok());
  EXPECT_EQ(LoadResultScores("/nonexistent/x.csv").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace candor::bench::nab
