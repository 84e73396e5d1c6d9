// A programmable NvmlApi for tests: GPUs whose readings, unsupported queries and failures a
// test sets, and XID events it queues.
//
// Thread safety: not thread-safe, like the NvmlApi it stands in for.

#ifndef CANDOR_COLLECTOR_NVML_FAKE_H_
#define CANDOR_COLLECTOR_NVML_FAKE_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "collector/nvml_api.h"

namespace candor::collector {

// One fake GPU. A reading left unset makes its query return UnimplementedError (not supported).
struct FakeGpu {
  std::string uuid = {};
  std::optional<uint32_t> sm_clock_mhz;
  std::optional<uint32_t> max_sm_clock_mhz;
  std::optional<int32_t> temperature_c;
  std::optional<uint32_t> power_mw;
  std::optional<uint32_t> power_limit_mw;
  std::optional<NvmlUtilization> utilization;
  std::optional<NvmlMemory> memory;
  std::optional<uint64_t> clock_event_reasons;
  std::optional<uint64_t> ecc_uncorrected;
  // When set, every per-device query fails with this status (a lost GPU, say).
  absl::Status failure = absl::OkStatus();
};

class FakeNvml final : public NvmlApi {
 public:
  explicit FakeNvml(std::vector<FakeGpu> gpus) : gpus_(std::move(gpus)) {}

  // The status Init returns next (and keeps returning until changed).
  void set_init_status(absl::Status s) { init_status_ = std::move(s); }
  // Mutable access to GPU `i` between samples.
  FakeGpu& gpu(size_t i) { return gpus_.at(i); }
  // Queues an XID event on GPU `i`.
  void QueueXid(size_t i, uint64_t xid) { xids_.push_back(NvmlXidEvent{Handle(i), xid}); }
  int init_calls() const { return init_calls_; }
  bool initialized() const { return initialized_; }
  size_t watched() const { return watched_.size(); }

  absl::Status Init() override;
  void Shutdown() override { initialized_ = false; }
  absl::StatusOr<uint32_t> DeviceCount() override;
  absl::StatusOr<NvmlDevice> DeviceByIndex(uint32_t index) override;
  absl::StatusOr<std::string> Uuid(NvmlDevice device) override;
  absl::StatusOr<uint32_t> SmClockMhz(NvmlDevice device) override;
  absl::StatusOr<uint32_t> MaxSmClockMhz(NvmlDevice device) override;
  absl::StatusOr<int32_t> TemperatureC(NvmlDevice device) override;
  absl::StatusOr<uint32_t> PowerMilliwatts(NvmlDevice device) override;
  absl::StatusOr<uint32_t> PowerLimitMilliwatts(NvmlDevice device) override;
  absl::StatusOr<NvmlUtilization> Utilization(NvmlDevice device) override;
  absl::StatusOr<NvmlMemory> Memory(NvmlDevice device) override;
  absl::StatusOr<uint64_t> ClockEventReasons(NvmlDevice device) override;
  absl::StatusOr<uint64_t> EccUncorrectedVolatile(NvmlDevice device) override;
  absl::Status WatchXid(NvmlDevice device) override;
  absl::StatusOr<std::optional<NvmlXidEvent>> PollXid() override;

 private:
  static NvmlDevice Handle(size_t i) { return static_cast<NvmlDevice>(0x1000 + i); }
  absl::StatusOr<FakeGpu*> Find(NvmlDevice device);
  template <typename T>
  absl::StatusOr<T> Read(NvmlDevice device, std::optional<T> FakeGpu::*field);

  std::vector<FakeGpu> gpus_;
  std::deque<NvmlXidEvent> xids_;
  std::vector<NvmlDevice> watched_;
  absl::Status init_status_ = absl::OkStatus();
  int init_calls_ = 0;
  bool initialized_ = false;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_NVML_FAKE_H_
