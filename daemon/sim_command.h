// `candor sim`: the fleet simulator on the command line. Runs a scenario file (fleet, traffic,
// scripted faults and annotations; see sim/scenario.h) and writes the items it produces as
// JSONL in arrival order, or streams them to a candor daemon over gRPC, optionally paced to
// a multiple of real time.

#ifndef CANDOR_DAEMON_SIM_COMMAND_H_
#define CANDOR_DAEMON_SIM_COMMAND_H_

#include <string>
#include <vector>

namespace candor::daemon {

// `args` excludes the program and subcommand names. Returns 0 on success, 1 if the output
// cannot be written or the daemon refuses the stream, 2 for usage or scenario errors.
int RunSimCommand(const std::vector<std::string>& args);

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_SIM_COMMAND_H_
