// Settings of the injection library, read from the environment of the profiled process.
//
// The CUDA driver loads libcandor_cupti.so into a server it knows nothing about, so the only
// channel for settings is the environment. Every variable is optional:
//
//   CANDOR_CUPTI_ENDPOINT      candor's gRPC address, "host:port"; "none" ships nothing.
//                              Default: 127.0.0.1:4770.
//   CANDOR_CUPTI_NODE          node name on every summary. Default: the host name.
//   CANDOR_CUPTI_PROVIDER, CANDOR_CUPTI_REPLICA, CANDOR_CUPTI_MODEL
//                              optional placement stamped on every summary (≤ 128 bytes).
//   CANDOR_CUPTI_INTERVAL_S    summary interval, seconds, 1–3600. Default: 10.
//   CANDOR_CUPTI_FLUSH_MS      period of activity flushes, ms, 10–60000. Default: 1000.
//   CANDOR_CUPTI_LATENESS_S    wait after an interval ends before closing it, seconds, 0–3600.
//                              Default: 10.
//   CANDOR_CUPTI_BUFFER_KB     size of each activity buffer, KiB, 64–65536. Default: 4096.
//   CANDOR_CUPTI_MEMORY_CAP_MB hard cap on activity-buffer memory, MiB, ≥ one buffer, ≤ 65536.
//                              Default: 64.
//   CANDOR_CUPTI_QUEUE         summaries queued for shipping, 1–1000000. Default: 4096.
//   CANDOR_CUPTI_GRAPH_TRACE   "1": trace CUDA graphs per launch (GRAPH_TRACE) instead of per
//                              kernel node. Default: 0.
//   CANDOR_CUPTI_DUMP          a file to append every summary to as one JSON line (proto3 JSON
//                              of KernelSummary). Default: none.
//   CANDOR_CUPTI_DISABLE       "1": stay passive. Default: 0.
//
// Thread safety: pure functions.

#ifndef CANDOR_CUDA_PROFILER_PROFILER_OPTIONS_H_
#define CANDOR_CUDA_PROFILER_PROFILER_OPTIONS_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cuda-profiler/activity_pipeline.h"
#include "cuda-profiler/aggregator.h"
#include "cuda-profiler/shipper.h"

namespace candor::cuda_profiler {

struct ProfilerOptions {
  bool disabled = false;
  std::string endpoint = "127.0.0.1:4770";  // Empty: no gRPC shipping.
  std::string dump_path = {};               // Empty: no dump file.
  std::string node = {};                    // Empty: the host name.
  std::string provider = {};
  std::string replica = {};
  std::string model = {};
  absl::Duration flush_period = absl::Seconds(1);
  bool graph_trace = false;
  AggregatorOptions aggregator = {};
  PipelineOptions pipeline = {};
  ShipperOptions shipper = {};
};

// Reads the variables above through `getenv` (returns null when a variable is unset).
// InvalidArgumentError naming the variable, its value and the accepted range when one is
// malformed or out of range.
absl::StatusOr<ProfilerOptions> ProfilerOptionsFromEnv(
    const std::function<const char*(const char*)>& getenv);

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_PROFILER_OPTIONS_H_
