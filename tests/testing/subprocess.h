// Runs a child process for integration tests: the real `candor` binary, promtool, a
// Prometheus server. stdout and stderr are merged into a pipe that a reader thread drains into
// a buffer, so the child never blocks on output; tests wait for a line with `WaitForLine`,
// which blocks on the pipe (no sleeping, no polling).

#ifndef CANDOR_TESTS_TESTING_SUBPROCESS_H_
#define CANDOR_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace candor::testing {

class Subprocess {
 public:
  // Starts `argv[0]` (a path) with `argv`, optionally in `cwd`.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(std::vector<std::string> argv,
                                                           std::string cwd = "");
  // Kills (SIGKILL) and reaps the child if still running.
  ~Subprocess();

  pid_t pid() const { return pid_; }

  // Blocks until a line of output contains `needle`, and returns that line; NotFoundError if
  // the child's output ends (it exited) first.
  absl::StatusOr<std::string> WaitForLine(std::string_view needle);
  // Sends `signal` to the child.
  void Signal(int signal);
  // Waits for exit; returns the exit code, or 128+signal if killed by a signal.
  int Wait();
  // Everything the child has printed so far.
  std::string Output() const;
  // Blocks until the child's output ends (it exited and closed its pipe); returns all of it.
  std::string WaitForOutputEnd();

 private:
  Subprocess() = default;
  void ReadLoop(int fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = 0;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::string output_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
};

// A fresh empty directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Path of a binary built in this build tree, from $CANDOR_BINARY_DIR (e.g. "daemon/candor").
std::string BuildPath(std::string_view relative);
// Path inside the shared data folder, from $CANDOR_SHARED_DIR.
std::string SharedPath(std::string_view relative);
// Path inside the source tree, from $CANDOR_SOURCE_DIR.
std::string SourcePath(std::string_view relative);
// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close). For programs
// that cannot be told to listen on port 0 themselves (Prometheus, Alertmanager).
int PickFreePort();
// Full path of `name` on $PATH, or "" if absent.
std::string FindOnPath(std::string_view name);

}  // namespace candor::testing

#endif  // CANDOR_TESTS_TESTING_SUBPROCESS_H_
