// Shutdown signals for the daemon: SIGINT and SIGTERM are blocked in every thread and taken
// synchronously by the main thread, so no handler runs in signal context.

#ifndef CANDOR_DAEMON_SIGNALS_H_
#define CANDOR_DAEMON_SIGNALS_H_

namespace candor::daemon {

// Blocks SIGINT and SIGTERM in the calling thread and in threads it creates afterwards. Call
// before starting any thread.
void BlockShutdownSignals();

// Waits for SIGINT or SIGTERM and returns its number.
int WaitForShutdownSignal();

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_SIGNALS_H_
