// Starts the real `candor serve` process for integration tests: free loopback ports, a fresh
// data directory, and the addresses parsed from its "candor is serving" line.

#ifndef CANDOR_TESTS_INTEGRATION_DAEMON_HARNESS_H_
#define CANDOR_TESTS_INTEGRATION_DAEMON_HARNESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/subprocess.h"

namespace candor::testing {

struct RunningDaemon {
  std::unique_ptr<Subprocess> process;
  std::string grpc_address;  // host:port
  int http_port = 0;
};

// Runs `candor serve --storage.path=<data_dir>` on ports chosen by the kernel, plus `extra`
// flags, and waits (on its output, not on time) until it serves.
absl::StatusOr<RunningDaemon> StartDaemon(const std::string& data_dir,
                                          std::vector<std::string> extra = {});

}  // namespace candor::testing

#endif  // CANDOR_TESTS_INTEGRATION_DAEMON_HARNESS_H_
