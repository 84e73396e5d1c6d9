// Helpers shared by candor's subcommands: flag splitting and usage text.

#ifndef CANDOR_DAEMON_COMMAND_H_
#define CANDOR_DAEMON_COMMAND_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace candor::daemon {

struct ParsedArgs {
  // "--name=value" and "--name value" pairs, in order ("--name" alone has value "true").
  std::vector<std::pair<std::string, std::string>> flags;
  std::vector<std::string> positional;
  bool help = false;  // -h or --help was given.
};

// Splits `args` (without the program and subcommand names). Flags listed in `boolean_flags`
// never consume the next argument. InvalidArgumentError for "--" with no name.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<std::string>& boolean_flags = {});

// Removes the flag `name` from `args` and returns its last value, or "" if absent.
std::string TakeFlag(ParsedArgs& args, std::string_view name);

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_COMMAND_H_
