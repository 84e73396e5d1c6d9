// `candor replay --events FILE.jsonl --transitions-out OUT.jsonl [--config FILE]`: runs the
// whole detection pipeline (validation, per-entity signals, detectors, fleet state machine)
// over a recorded stream in event time, as fast as it can, and writes every transition as one
// JSON object per line (DESIGN §5). Same input, same configuration: byte-identical output.

#ifndef CANDOR_DAEMON_REPLAY_COMMAND_H_
#define CANDOR_DAEMON_REPLAY_COMMAND_H_

#include <string>
#include <vector>

namespace candor::daemon {

// `args` excludes the program and subcommand names. Returns the process exit code: 0 on
// success (invalid lines are counted, reported on stderr and skipped), 1 if the input cannot
// be read or the output cannot be written, 2 for usage errors.
int RunReplayCommand(const std::vector<std::string>& args);

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_REPLAY_COMMAND_H_
