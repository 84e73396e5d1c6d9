// Runs the CUDA test program (launch_workload.cu) as a child process, with or without
// libcandor_cupti.so injected, and reads what it and the library report. Shared by the GPU
// test and the overhead benchmark.
//
// Thread safety: functions are independent; each run is its own process.

#ifndef CANDOR_CUDA_PROFILER_GPU_WORKLOAD_RUNNER_H_
#define CANDOR_CUDA_PROFILER_GPU_WORKLOAD_RUNNER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"

namespace candor::cuda_profiler::gpu {

// Exit status of the workload when no CUDA device is usable.
inline constexpr int kNoDevice = 77;

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal.
  std::string out;
  std::string err;
  double wall_seconds = 0;  // Spawn to exit, measured on `clock`.
};

// Runs `path` with `args`, the current environment plus `env` (overriding), capturing its
// output. Errors only when the process cannot be started.
absl::StatusOr<ProcessResult> RunProcess(
    const std::string& path, const std::vector<std::string>& args,
    const std::vector<std::pair<std::string, std::string>>& env, Clock& clock);

// The workload's JSON line.
struct WorkloadReport {
  std::string device;
  std::map<std::string, int64_t> launches;  // Kernel name → launches (graph nodes included).
  int64_t kernels_total = 0;
  int64_t graph_launches = 0;
  int64_t tagged_steps = 0;
  std::map<std::string, double> phase_ms;  // GPU-timeline milliseconds per phase.
};
absl::StatusOr<WorkloadReport> ParseWorkloadReport(const std::string& out);

// Totals over a CANDOR_CUPTI_DUMP file (one KernelSummary JSON per line).
struct DumpTotals {
  int64_t summaries = 0;
  int64_t kernels = 0;
  std::map<std::string, int64_t> kernels_by_name;  // From top_kernels.
  int64_t dropped = 0;
  int64_t graph_launches = 0;
  std::set<std::string> request_ids;
  double busy_ms = 0;
};
absl::StatusOr<DumpTotals> ReadDump(const std::string& path);

}  // namespace candor::cuda_profiler::gpu

#endif  // CANDOR_CUDA_PROFILER_GPU_WORKLOAD_RUNNER_H_
