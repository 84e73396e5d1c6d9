#include "tests/testing/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace candor::testing {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(std::vector<std::string> argv,
                                                              std::string cwd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  auto p = std::unique_ptr<Subprocess>(new Subprocess());
  p->pid_ = pid;
  const int read_fd = fds[0];
  p->reader_ = std::thread([raw = p.get(), read_fd] { raw->ReadLoop(read_fd); });
  return p;
}

Subprocess::~Subprocess() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
  if (reader_.joinable()) reader_.join();
}

void Subprocess::ReadLoop(int fd) {
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    absl::MutexLock lock(&mu_);
    output_.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  absl::MutexLock lock(&mu_);
  eof_ = true;
}

absl::StatusOr<std::string> Subprocess::WaitForLine(std::string_view needle) {
  absl::MutexLock lock(&mu_);
  size_t scanned = 0;
  while (true) {
    // Look only at complete lines not yet scanned.
    size_t nl;
    while ((nl = output_.find('\n', scanned)) != std::string::npos) {
      std::string_view line(output_.data() + scanned, nl - scanned);
      scanned = nl + 1;
      if (line.find(needle) != std::string_view::npos) return std::string(line);
    }
    if (eof_) {
      return absl::NotFoundError(
          absl::StrCat("process ended without printing \"", Sv(needle), "\"; output:\n", output_));
    }
    struct Args {
      Subprocess* self;
      size_t size_before;
    } args{this, output_.size()};
    mu_.Await(absl::Condition(
        +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return a->self->eof_ || a->self->output_.size() > a->size_before;
        },
        &args));
  }
}

void Subprocess::Signal(int signal) {
  if (!reaped_) ::kill(pid_, signal);
}

int Subprocess::Wait() {
  if (reaped_) return exit_code_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

std::string Subprocess::WaitForOutputEnd() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&eof_));
  return output_;
}

std::string Subprocess::Output() const {
  absl::MutexLock lock(&mu_);
  return output_;
}

TempDir::TempDir() {
  std::string tmpl = EnvOr("TMPDIR", "/tmp") + "/candor-test-XXXXXX";
  char* made = ::mkdtemp(tmpl.data());
  path_ = made != nullptr ? std::string(made) : std::string();
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string BuildPath(std::string_view relative) {
  return absl::StrCat(EnvOr("CANDOR_BINARY_DIR", "."), "/", Sv(relative));
}
std::string SharedPath(std::string_view relative) {
  return absl::StrCat(EnvOr("CANDOR_SHARED_DIR", "../shared"), "/", Sv(relative));
}
std::string SourcePath(std::string_view relative) {
  return absl::StrCat(EnvOr("CANDOR_SOURCE_DIR", "."), "/", Sv(relative));
}

int PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string FindOnPath(std::string_view name) {
  for (const auto& dir : absl::StrSplit(EnvOr("PATH", "/usr/bin:/bin"), ':')) {
    std::string candidate = absl::StrCat(dir, "/", Sv(name));
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace candor::testing
