#include "daemon/detect_command.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "detectors/anomaly_scorer.h"

namespace candor::daemon {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ParseNumber(std::string_view text, double* out) {
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

absl::StatusOr<absl::Time> ParseTimestamp(std::string_view text) {
  if (text.find('T') != std::string_view::npos) return ParseRfc3339(text);
  if (text.find('-') != std::string_view::npos && text.find(':') != std::string_view::npos) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime("%Y-%m-%d %H:%M:%E*S", Sv(text), absl::UTCTimeZone(), &t, &err)) {
      return t;
    }
    return absl::InvalidArgumentError(absl::StrCat("bad timestamp \"", Sv(text), "\": ", err));
  }
  double seconds = 0.0;
  if (ParseNumber(text, &seconds) && std::isfinite(seconds)) {
    return absl::FromUnixNanos(static_cast<int64_t>(std::llround(seconds * 1e9)));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "bad timestamp \"", Sv(text), "\" (want RFC 3339, \"YYYY-MM-DD hh:mm:ss\" or Unix seconds)"));
}

}  // namespace

std::string DetectUsage() {
  return "usage: candor detect --input SERIES.csv --output SCORES.csv\n"
         "\n"
         "Scores one univariate series online with candor's anomaly scorer (one configuration\n"
         "for every series, no look-ahead) and writes the NAB results format.\n"
         "\n"
         "  --input FILE    CSV with columns timestamp,value (header optional); timestamps in\n"
         "                  RFC 3339, \"YYYY-MM-DD hh:mm:ss\" (UTC) or Unix seconds, in order;\n"
         "                  \"-\" reads stdin\n"
         "  --output FILE   CSV timestamp,value,anomaly_score, one row per input row, scores\n"
         "                  in [0, 1]; \"-\" writes stdout\n"
         "  --help          this text\n";
}

absl::Status DetectCsv(std::istream& in, std::string_view input_name, std::ostream& out) {
  auto scorer = detectors::AnomalyScorer::Create(detectors::AnomalyScorerOptions{});
  if (!scorer.ok()) return scorer.status();
  out << "timestamp,value,anomaly_score\n";
  std::string line;
  int64_t line_no = 0;
  absl::Time previous = absl::InfinitePast();
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view row = Trim(line);
    if (row.empty()) continue;
    if (line_no == 1 && row.substr(0, 9) == "timestamp") continue;
    auto error = [&](std::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(Sv(input_name), ":", line_no, ": ", Sv(what)));
    };
    const size_t comma = row.find(',');
    if (comma == std::string_view::npos) return error("expected \"timestamp,value\"");
    const std::string_view ts_text = Trim(row.substr(0, comma));
    std::string_view value_text = Trim(row.substr(comma + 1));
    if (value_text.find(',') != std::string_view::npos) {
      return error("expected 2 columns \"timestamp,value\", got more");
    }
    auto t = ParseTimestamp(ts_text);
    if (!t.ok()) return error(StdSv(t.status().message()));
    if (*t < previous) {
      return error(absl::StrCat("timestamp ", Sv(ts_text),
                                " is earlier than the previous row's (rows must be in order)"));
    }
    previous = *t;
    double value = 0.0;
    if (!ParseNumber(value_text, &value) || !std::isfinite(value)) {
      return error(absl::StrCat("bad value \"", Sv(value_text), "\" (want a finite number)"));
    }
    const double score = scorer->Update(*t, value);
    out << ts_text << ',' << value_text << ',' << absl::StrFormat("%.8f", score) << '\n';
    if (!out) {
      return absl::DataLossError(absl::StrCat("write failed after input line ", line_no));
    }
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(Sv(input_name), ": read error"));
  out.flush();
  if (!out) return absl::DataLossError("write failed");
  return absl::OkStatus();
}

int RunDetectCommand(const std::vector<std::string>& args) {
  std::string input;
  std::string output;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* dst) {
      const size_t eq = a.find('=');
      if (eq != std::string::npos) {
        *dst = a.substr(eq + 1);
        return true;
      }
      if (i + 1 >= args.size()) return false;
      *dst = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::cout << DetectUsage();
      return 0;
    }
    if (a == "--input" || a.rfind("--input=", 0) == 0) {
      if (!value(&input)) break;
    } else if (a == "--output" || a.rfind("--output=", 0) == 0) {
      if (!value(&output)) break;
    } else {
      std::cerr << "candor detect: unknown argument \"" << a << "\"\n" << DetectUsage();
      return 2;
    }
  }
  if (input.empty() || output.empty()) {
    std::cerr << "candor detect: --input and --output are required\n" << DetectUsage();
    return 2;
  }
  std::ifstream in_file;
  if (input != "-") {
    in_file.open(input);
    if (!in_file) {
      std::cerr << "candor detect: cannot open " << input << "\n";
      return 1;
    }
  }
  std::ofstream out_file;
  if (output != "-") {
    out_file.open(output, std::ios::trunc);
    if (!out_file) {
      std::cerr << "candor detect: cannot create " << output << "\n";
      return 1;
    }
  }
  const absl::Status s = DetectCsv(input == "-" ? std::cin : in_file,
                                   input == "-" ? std::string_view("<stdin>") : input,
                                   output == "-" ? std::cout : out_file);
  if (!s.ok()) {
    std::cerr << "candor detect: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace candor::daemon
