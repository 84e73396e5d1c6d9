// GPU health from NVML as candor.v1.GpuSample: one sample per GPU per RunOnce.
//
// A GPU host runs this sampler (in the daemon's collector or a small agent) every few seconds
// through a PeriodicRunner. Each RunOnce initialises NVML if needed (retrying on later runs
// when it failed), enumerates the GPUs once, drains pending XID events without waiting, and
// reads clocks, temperature, power and its limit, utilisation, memory, clock-event (throttle)
// reasons and volatile uncorrected ECC errors. Samples are stamped with the clock's Now().
//
// A reading the GPU does not support is left unset. A reading outside the documented range of
// its GpuSample field (NVML reports some sentinels, e.g. 0xFFFFFFFF) is left unset and counted
// as invalid; any other failed query is counted as a read error. Neither ever fails the
// sample. Without NVML (no driver, no library) the sampler says so: RunOnce returns
// UnavailableError with the loader's reason, every time, and counts nothing else.
//
// Thread safety: not thread-safe; call RunOnce from one thread.

#ifndef CANDOR_COLLECTOR_NVML_SAMPLER_H_
#define CANDOR_COLLECTOR_NVML_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "candor/v1/ingest.pb.h"
#include "collector/nvml_api.h"
#include "common/clock.h"

namespace candor::collector {

struct NvmlSamplerOptions {
  // Node name stamped on every sample. Required (non-empty).
  std::string node = {};
  // Optional placement stamped on every sample.
  std::string provider = {};
  std::string region = {};
  std::string zone = {};
  // XID events handled per RunOnce at most (the rest wait for the next run). Default: 256.
  int max_xid_events_per_run = 256;
};

struct NvmlSamplerStats {
  uint64_t runs = 0;
  uint64_t samples = 0;
  uint64_t init_failures = 0;
  uint64_t read_errors = 0;     // Queries that failed other than "not supported".
  uint64_t invalid_values = 0;  // Readings outside their field's range, left unset.
  uint64_t xid_events = 0;
};

class NvmlSampler {
 public:
  // `api` is the loader's result: an error makes the sampler report NVML as unavailable with
  // that error's message. `clock` must outlive the sampler.
  NvmlSampler(Clock& clock, NvmlSamplerOptions options,
              absl::StatusOr<std::unique_ptr<NvmlApi>> api);
  ~NvmlSampler();

  NvmlSampler(const NvmlSampler&) = delete;
  NvmlSampler& operator=(const NvmlSampler&) = delete;

  // One sample per GPU. UnavailableError when NVML is unavailable or will not initialise
  // (the message says why); InternalError when the GPUs cannot be enumerated.
  absl::StatusOr<std::vector<candor::v1::GpuSample>> RunOnce();

  // False when NVML could not be loaded; status_message() then says why.
  bool available() const { return api_ != nullptr; }
  const std::string& status_message() const { return status_message_; }
  const NvmlSamplerStats& stats() const { return stats_; }

 private:
  struct Gpu {
    NvmlDevice handle = 0;
    std::string uuid;
    uint32_t xid_last = 0;
  };

  absl::Status Enumerate();
  void DrainXid();
  candor::v1::GpuSample Sample(const Gpu& gpu);
  // Counts a failed read; unsupported queries are not failures.
  void Failed(const absl::Status& status);

  Clock& clock_;
  const NvmlSamplerOptions options_;
  std::unique_ptr<NvmlApi> api_;
  std::string status_message_;
  bool initialized_ = false;
  std::vector<Gpu> gpus_;
  absl::flat_hash_map<NvmlDevice, size_t> by_handle_;
  NvmlSamplerStats stats_;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_NVML_SAMPLER_H_
