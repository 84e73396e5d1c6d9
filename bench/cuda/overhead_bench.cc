// Overhead of libcandor_cupti.so on a launch-heavy CUDA program (needs a GPU).
//
//   cuda_overhead_bench --workload PATH --library PATH [--reps N] [--scale N]
//
// For each mix of candor_cuda_workload (short, streams, graphs, graphs with GRAPH_TRACE,
// inference) it runs the program N times without and N times with the library injected,
// alternating, and reports medians of the phase's GPU-timeline time (CUDA events around the
// phase: launch-bound phases measure the host's launch rate) and of the process wall time,
// the slowdown, the overhead per kernel, the records dropped, and whether the kernels the
// library decoded match the kernels launched. Timing uses RealClock; compare medians.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/clock.h"
#include "cuda-profiler/gpu/workload_runner.h"

namespace candor::bench {
namespace {

using cuda_profiler::gpu::DumpTotals;
using cuda_profiler::gpu::ParseWorkloadReport;
using cuda_profiler::gpu::ReadDump;
using cuda_profiler::gpu::RunProcess;
using cuda_profiler::gpu::WorkloadReport;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Mix {
  const char* label;
  const char* mix;
  bool graph_trace;
};

int Run(const std::string& workload, const std::string& library, int reps, int scale) {
  RealClock clock;
  const Mix mixes[] = {{"short", "short", false},
                       {"streams", "streams", false},
                       {"graphs", "graphs", false},
                       {"graphs+GRAPH_TRACE", "graphs", true},
                       {"inference", "inference", false}};
  std::printf("%-19s %9s %10s %10s %8s %9s %8s %8s %7s %s\n", "mix", "kernels", "base ms",
              "traced ms", "slow %", "us/kernel", "wall b", "wall t", "dropped", "records");
  for (const Mix& m : mixes) {
    std::vector<double> base_ms, traced_ms, base_wall, traced_wall;
    int64_t kernels = 0;
    int64_t dropped = 0;
    bool match = true;
    const std::string phase = m.mix;
    for (int rep = 0; rep < reps; ++rep) {
      for (int traced = 0; traced < 2; ++traced) {
        // Alternate which goes first, so drift in the machine hits both alike.
        const bool inject = (traced + rep) % 2 == 1;
        const std::string dump = "/tmp/candor_overhead." + std::to_string(getpid()) + ".jsonl";
        std::remove(dump.c_str());
        std::vector<std::pair<std::string, std::string>> env;
        if (inject) {
          env = {{"CUDA_INJECTION64_PATH", library},
                 {"CANDOR_CUPTI_ENDPOINT", "none"},
                 {"CANDOR_CUPTI_DUMP", dump},
                 {"CANDOR_CUPTI_GRAPH_TRACE", m.graph_trace ? "1" : "0"}};
        }
        auto run =
            RunProcess(workload, {"--mix", m.mix, "--scale", std::to_string(scale)}, env, clock);
        if (!run.ok() || run->exit_code != 0) {
          std::fprintf(stderr, "%s failed: %s\n", m.label,
                       run.ok() ? run->err.c_str() : run.status().ToString().c_str());
          return run.ok() && run->exit_code == 77 ? 77 : 1;
        }
        auto report = ParseWorkloadReport(run->out);
        if (!report.ok()) {
          std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
          return 1;
        }
        kernels = report->kernels_total;
        (inject ? traced_ms : base_ms).push_back(report->phase_ms[phase]);
        (inject ? traced_wall : base_wall).push_back(run->wall_seconds);
        if (!inject) continue;
        auto totals = ReadDump(dump);
        if (!totals.ok()) {
          std::fprintf(stderr, "%s\n", totals.status().ToString().c_str());
          return 1;
        }
        dropped += totals->dropped;
        if (m.graph_trace) {
          match &= totals->graph_launches == report->graph_launches;
        } else {
          match &= totals->kernels == report->kernels_total;
          for (const auto& [name, n] : report->launches)
            match &= totals->kernels_by_name[name] == n;
        }
        std::remove(dump.c_str());
      }
    }
    const double b = Median(base_ms);
    const double t = Median(traced_ms);
    std::printf("%-19s %9lld %10.2f %10.2f %8.2f %9.3f %8.2f %8.2f %7lld %s\n", m.label,
                static_cast<long long>(kernels), b, t, 100.0 * (t - b) / b,  // NOLINT
                1000.0 * (t - b) / static_cast<double>(kernels), Median(base_wall),
                Median(traced_wall), static_cast<long long>(dropped),  // NOLINT(runtime/int)
                match ? "match" : "MISMATCH");
  }
  return 0;
}

}  // namespace
}  // namespace candor::bench

int main(int argc, char** argv) {
  std::string workload;
  std::string library;
  int reps = 5;
  int scale = 2;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--workload") == 0)
      workload = argv[++i];
    else if (std::strcmp(argv[i], "--library") == 0)
      library = argv[++i];
    else if (std::strcmp(argv[i], "--reps") == 0)
      reps = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--scale") == 0)
      scale = std::max(1, std::atoi(argv[++i]));
  }
  if (workload.empty() || library.empty()) {
    std::fprintf(stderr, "usage: %s --workload PATH --library PATH [--reps N] [--scale N]\n",
                 argv[0]);
    return 2;
  }
  return candor::bench::Run(workload, library, reps, scale);
}
