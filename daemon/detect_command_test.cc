#include "daemon/detect_command.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace candor::daemon {
namespace {

std::string Series(int rows, int spike_at = -1) {
  std::ostringstream s;
  s << "timestamp,value\n";
  for (int i = 0; i < rows; ++i) {
    char ts[32];
    std::snprintf(ts, sizeof ts, "2014-04-%02d %02d:%02d:00", 1 + i / 288, (i / 12) % 24,
                  (i % 12) * 5);
    const double v =
        50.0 + 5.0 * std::sin(i * 0.37) + 3.0 * std::cos(i * 1.91) + (i == spike_at ? 80.0 : 0.0);
    s << ts << "," << v << "\n";
  }
  return s.str();
}

std::vector<std::vector<std::string>> Rows(const std::string& csv) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::istringstream fs(line);
    std::string f;
    while (std::getline(fs, f, ',')) fields.push_back(f);
    rows.push_back(fields);
  }
  return rows;
}

TEST(DetectCommandTest, WritesNabResultsOneRowPerInputRow) {
  std::istringstream in(Series(1200, 900));
  std::ostringstream out;
  ASSERT_TRUE(DetectCsv(in, "series.csv", out).ok());
  const auto rows = Rows(out.str());
  ASSERT_EQ(rows.size(), 1201u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"timestamp", "value", "anomaly_score"}));
  EXPECT_EQ(rows[1][0], "2014-04-01 00:00:00");
  double best = -1.0;
  size_t best_row = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 3u);
    const double s = std::stod(rows[i][2]);
    ASSERT_GE(s, 0.0);
    ASSERT_LE(s, 1.0);
    if (s > best) {
      best = s;
      best_row = i;
    }
  }
  EXPECT_EQ(best_row, 901u);  // The spike (data row 900) scores highest.
}

TEST(DetectCommandTest, OnlineNoLookAhead) {
  // Scores of the first 700 rows do not depend on what follows them.
  const std::string full = Series(1200, 900);
  std::string prefix;
  {
    std::istringstream in(full);
    std::string line;
    for (int i = 0; i <= 700 && std::getline(in, line); ++i) prefix += line + "\n";
  }
  std::istringstream in_full(full);
  std::istringstream in_prefix(prefix);
  std::ostringstream out_full;
  std::ostringstream out_prefix;
  ASSERT_TRUE(DetectCsv(in_full, "a", out_full).ok());
  ASSERT_TRUE(DetectCsv(in_prefix, "b", out_prefix).ok());
  EXPECT_EQ(out_full.str().substr(0, out_prefix.str().size()), out_prefix.str());
}

TEST(DetectCommandTest, AcceptsRfc3339AndUnixSeconds) {
  std::istringstream in(
      "2024-01-01T00:00:00Z,1.5\n2024-01-01T00:01:00Z,2\n1704067320,3\n1704067380.5,4e0\n");
  std::ostringstream out;
  ASSERT_TRUE(DetectCsv(in, "x.csv", out).ok());
  const auto rows = Rows(out.str());
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[3][0], "1704067320");
  EXPECT_EQ(rows[4][1], "4e0");
}

TEST(DetectCommandTest, ErrorsNameTheLine) {
  auto run = [](const std::string& text) {
    std::istringstream in(text);
    std::ostringstream out;
    return DetectCsv(in, "series.csv", out);
  };
  absl::Status s = run("timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,abc\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("series.csv:3:"), std::string::npos) << s;
  EXPECT_NE(s.message().find("abc"), std::string::npos);
  s = run("2014-01-01 00:05:00,1\n2014-01-01 00:00:00,2\n");
  EXPECT_NE(s.message().find("series.csv:2:"), std::string::npos) << s;
  EXPECT_NE(s.message().find("earlier"), std::string::npos);
  EXPECT_NE(run("2014-01-01 00:00:00\n").message().find(":1:"), std::string::npos);
  EXPECT_FALSE(run("2014-01-01 00:00:00,1,2\n").ok());
  EXPECT_FALSE(run("2014-01-01 00:00:00,nan\n").ok());
  EXPECT_FALSE(run("yesterday,1\n").ok());
}

TEST(DetectCommandTest, CommandLine) {
  EXPECT_EQ(RunDetectCommand({"--help"}), 0);
  EXPECT_EQ(RunDetectCommand({}), 2);
  EXPECT_EQ(RunDetectCommand({"--input", "x.csv"}), 2);
  EXPECT_EQ(RunDetectCommand({"--bogus"}), 2);
  const std::string dir = ::testing::TempDir();
  EXPECT_EQ(
      RunDetectCommand({"--input", dir + "/does-not-exist.csv", "--output", dir + "/out.csv"}), 1);
  const std::string in_path = dir + "/detect_in.csv";
  const std::string out_path = dir + "/detect_out.csv";
  {
    std::ofstream f(in_path);
    f << Series(400);
  }
  ASSERT_EQ(RunDetectCommand({"--input", in_path, "--output=" + out_path}), 0);
  std::ifstream result(out_path);
  std::stringstream text;
  text << result.rdbuf();
  EXPECT_EQ(Rows(text.str()).size(), 401u);
  {
    std::ofstream f(in_path);
    f << "timestamp,value\n2014-01-01 00:00:00,1\nbroken\n";
  }
  EXPECT_EQ(RunDetectCommand({"--input", in_path, "--output", out_path}), 1);
}

}  // namespace
}  // namespace candor::daemon
