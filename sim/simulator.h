// The fleet simulator: realistic inference traffic for a FleetLayout, with a scenario's faults
// injected, as a stream of IngestItems in arrival order.
//
// Traffic: each route receives Poisson arrivals at its rate times a diurnal factor
// (1 − A·cos(2π·time-of-day), trough at midnight UTC); a gateway picks a ready replica of the
// route's model family, calls the route's dependencies, and the replica serves the request
// with M/M/1-like queueing that grows with load, KV-cache use that grows with concurrency and
// decode speed that falls with batch size and GPU clocks. Prompt and output lengths are
// log-normal (heavy right tail), tenants Zipf-like. Each request becomes one InferenceEvent
// (plus a breaker-rejection event when a circuit is open), each replica reports a
// ReplicaSample and each GPU a GpuSample every few seconds, probes send synthetic requests,
// and scripted annotations are emitted at their times.
//
// Everything is derived from the scenario's seed and event time: no clock is read, and the
// same scenario always yields the same items in the same order. An item "arrives" when its
// request finished (or its sample was taken) plus a shipping delay, so items are in arrival
// order and event timestamps (request starts) trail it by up to a request's latency.
//
// Thread safety: a FleetSimulator is used by one thread.

#ifndef CANDOR_SIM_SIMULATOR_H_
#define CANDOR_SIM_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "sim/fleet_layout.h"
#include "sim/scenario.h"

namespace candor::sim {

// Receives each item in arrival order. A non-OK status stops the simulation and is returned.
using ItemSink = std::function<absl::Status(const candor::v1::IngestItem& item)>;

class FleetSimulator {
 public:
  // Checks that every fault and annotation target names a part of the fleet the fault kind
  // applies to; InvalidArgumentError naming the fault otherwise.
  static absl::StatusOr<std::unique_ptr<FleetSimulator>> Create(Scenario scenario);
  ~FleetSimulator();

  FleetSimulator(const FleetSimulator&) = delete;
  FleetSimulator& operator=(const FleetSimulator&) = delete;

  // Simulates up to `until` (clamped to the scenario end) and hands `sink` every item that
  // arrives before it. Calls must use increasing `until`. The stream is a recording from
  // start to end: items that would arrive after the end are dropped.
  absl::Status RunUntil(absl::Time until, const ItemSink& sink);
  // Runs the whole scenario.
  absl::Status Run(const ItemSink& sink) { return RunUntil(end(), sink); }

  absl::Time start() const;
  absl::Time end() const;
  const FleetLayout& layout() const;
  const Scenario& scenario() const;
  // Items delivered so far.
  uint64_t items_emitted() const;

 private:
  class Impl;
  explicit FleetSimulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace candor::sim

#endif  // CANDOR_SIM_SIMULATOR_H_
