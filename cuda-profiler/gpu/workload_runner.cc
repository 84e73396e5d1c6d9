#include "cuda-profiler/gpu/workload_runner.h"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace candor::cuda_profiler::gpu {
namespace {

// proto3 JSON writes 64-bit integers as strings; the workload writes numbers.
int64_t AsInt(const nlohmann::json& v) {
  int64_t out = 0;
  if (v.is_string()) return absl::SimpleAtoi(v.get<std::string>(), &out) ? out : 0;
  return v.is_number() ? v.get<int64_t>() : 0;
}

}  // namespace

absl::StatusOr<ProcessResult> RunProcess(
    const std::string& path, const std::vector<std::string>& args,
    const std::vector<std::pair<std::string, std::string>>& env, Clock& clock) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    bool overridden = false;
    for (const auto& [k, v] : env) overridden |= kv.rfind(k + "=", 0) == 0;
    if (!overridden) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out[2];
  int err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, err[0]);
  ProcessResult r;
  const absl::Time start = clock.MonotonicNow();
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    return absl::InternalError(absl::StrCat("cannot start ", path, ": ", std::strerror(rc)));
  }
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.wall_seconds = absl::ToDoubleSeconds(clock.MonotonicNow() - start);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

absl::StatusOr<WorkloadReport> ParseWorkloadReport(const std::string& out) {
  const auto j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("workload output is not JSON: ", out));
  }
  WorkloadReport r;
  try {
    r.device = j.value("device", "");
    for (const auto& [name, n] : j.at("launches").items()) r.launches[name] = AsInt(n);
    r.kernels_total = AsInt(j.at("kernels_total"));
    r.graph_launches = AsInt(j.at("graph_launches"));
    r.tagged_steps = AsInt(j.at("tagged_steps"));
    for (const auto& [name, ms] : j.at("phase_ms").items()) r.phase_ms[name] = ms.get<double>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("workload report: ", e.what()));
  }
  return r;
}

absl::StatusOr<DumpTotals> ReadDump(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no dump at ", path));
  DumpTotals t;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::DataLossError(absl::StrCat("bad dump line: ", line));
    }
    ++t.summaries;
    try {
      if (j.contains("kernel_count")) t.kernels += AsInt(j["kernel_count"]);
      if (j.contains("dropped_records")) t.dropped += AsInt(j["dropped_records"]);
      if (j.contains("graph_launch_count")) t.graph_launches += AsInt(j["graph_launch_count"]);
      if (j.contains("kernel_busy_ms")) t.busy_ms += j["kernel_busy_ms"].get<double>();
      if (j.contains("top_kernels")) {
        for (const auto& k : j["top_kernels"]) {
          t.kernels_by_name[k.value("name", "")] += k.contains("count") ? AsInt(k["count"]) : 0;
        }
      }
      if (j.contains("request_ids")) {
        for (const auto& id : j["request_ids"]) t.request_ids.insert(id.get<std::string>());
      }
    } catch (const nlohmann::json::exception& e) {
      return absl::DataLossError(absl::StrCat("dump line: ", e.what()));
    }
  }
  return t;
}

}  // namespace candor::cuda_profiler::gpu
