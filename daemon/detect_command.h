// `candor detect --input series.csv --output scores.csv` (DESIGN §5): scores one univariate
// series with candor's anomaly scorer (detectors/anomaly_scorer.h), online and with one
// configuration for every series, and writes the NAB results format
// `timestamp,value,anomaly_score` with one output row per input row, in order.
//
// Input: CSV `timestamp,value` with an optional header line starting with "timestamp".
// Timestamps are RFC 3339 ("2014-04-10T16:15:00Z"), NAB's "YYYY-MM-DD hh:mm:ss[.ffffff]" (read
// as UTC), or Unix seconds; they must not decrease. Values are finite numbers. The first bad
// line stops the run with an error naming the file and line.
//
// Thread safety: the functions keep no state between calls.

#ifndef CANDOR_DAEMON_DETECT_COMMAND_H_
#define CANDOR_DAEMON_DETECT_COMMAND_H_

#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace candor::daemon {

// Runs `candor detect` with the arguments that follow the subcommand name. Returns the exit
// code: 0 on success, 1 when the input cannot be read or parsed or the output cannot be
// written (the message on stderr names the file and line), 2 on a usage error; `--help`
// prints the usage to stdout and returns 0.
int RunDetectCommand(const std::vector<std::string>& args);

// The usage text printed by --help and on usage errors.
std::string DetectUsage();

// Scores the CSV read from `in` and writes the results CSV to `out`. `input_name` is used in
// error messages ("series.csv:17: ..."). Errors: InvalidArgumentError naming the line for a
// malformed row, a non-finite value or a timestamp earlier than the previous one;
// DataLossError if `out` fails. Rows before an error have already been written.
absl::Status DetectCsv(std::istream& in, std::string_view input_name, std::ostream& out);

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_DETECT_COMMAND_H_
