// `candor serve [--config candor.yaml] [--<option>=<value> …] [--print-config]`: the daemon.
//
// Opens the store, starts the gRPC Ingest service and the HTTP API, prints one line with the
// addresses it listens on, and runs until SIGINT or SIGTERM. Shutdown refuses new batches,
// waits for in-flight ones to be acknowledged, then closes the listeners and the store; nothing
// acknowledged is lost. Exit codes: 0 after a clean shutdown, 2 for a bad configuration or
// usage, 1 when start-up fails (address in use, store cannot be opened).

#ifndef CANDOR_DAEMON_SERVE_COMMAND_H_
#define CANDOR_DAEMON_SERVE_COMMAND_H_

#include <string>
#include <vector>

namespace candor::daemon {

int RunServeCommand(const std::vector<std::string>& args);

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_SERVE_COMMAND_H_
