// `candor detect` is what NAB scores: its output on NAB files matches the scores the NAB run
// computes with the same scorer, row for row.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/nab/nab_scorer.h"
#include "daemon/detect_command.h"
#include "detectors/anomaly_scorer.h"
#include "gtest/gtest.h"

namespace candor::bench::nab {
namespace {

TEST(DetectConsistencyTest, DetectCommandReproducesNabRunScores) {
  const char* shared = std::getenv("CANDOR_SHARED_DIR");
  ASSERT_NE(shared, nullptr);
  const std::string nab_dir = std::string(shared) + "/data/nab";
  for (const std::string name :
       {"realKnownCause/nyc_taxi.csv", "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv"}) {
    std::ifstream in(nab_dir + "/data/" + name);
    ASSERT_TRUE(in.good()) << name;
    std::ostringstream out;
    ASSERT_TRUE(daemon::DetectCsv(in, name, out).ok());
    auto corpus = LoadCorpus(nab_dir);
    ASSERT_TRUE(corpus.ok());
    const DataFile* file = nullptr;
    for (const DataFile& f : corpus->files) {
      if (f.name == name) file = &f;
    }
    ASSERT_NE(file, nullptr);
    auto scorer = *detectors::AnomalyScorer::Create({});
    std::istringstream lines(out.str());
    std::string line;
    std::getline(lines, line);
    EXPECT_EQ(line, "timestamp,value,anomaly_score");
    size_t i = 0;
    while (std::getline(lines, line)) {
      ASSERT_LT(i, file->values.size());
      absl::Time t;
      std::string err;
      ASSERT_TRUE(absl::ParseTime("%Y-%m-%d %H:%M:%S", file->timestamps[i], &t, &err));
      const double expected = scorer.Update(t, file->values[i]);
      const double got = std::stod(line.substr(line.rfind(',') + 1));
      ASSERT_NEAR(got, expected, 5e-9) << name << " row " << i;
      ++i;
    }
    EXPECT_EQ(i, file->values.size());
  }
}

}  // namespace
}  // namespace candor::bench::nab
