// How one simulated request is served: the gateway's choices (fallback, breaker, replica),
// dependency calls, the replica's queueing and decoding, the outcome, and the InferenceEvents
// that describe it. Also holds each replica's dynamic state (load, queue, KV use, counters),
// which the simulator advances once a simulated second.
//
// Thread safety: used by one thread.

#ifndef CANDOR_SIM_REQUEST_MODEL_H_
#define CANDOR_SIM_REQUEST_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "sim/fault_plan.h"
#include "sim/fleet_layout.h"
#include "sim/outbox.h"
#include "sim/random.h"

namespace candor::sim {

struct ReplicaState {
  double lambda = 0.0;   // Smoothed arrivals per second.
  int64_t arrivals = 0;  // Arrivals in the current second.
  int64_t hung_arrivals = 0;
  double backlog = 0.0;  // Requests waiting beyond what steady queueing explains.
  double hung = 0.0;     // Requests stuck behind a deadlock.
  double rho = 0.0;      // Offered load / capacity.
  double running = 0.0;
  double kv = 0.0;
  double util = 0.0;
  double queue_wait_ms = 0.0;  // Mean steady-state queue wait a new request sees.
  double backlog_ms = 0.0;     // Extra wait behind the backlog.
  double queue_depth = 0.0;
  double preempt_rate = 0.0;  // Preemptions per second.
  double preemptions_total = 0.0;
  double prompt_tokens_total = 0.0;
  double generation_tokens_total = 0.0;
  double finished_total = 0.0;
  absl::Time counters_since = absl::InfinitePast();
};

class RequestModel {
 public:
  RequestModel(const FleetLayout& layout, const FleetOptions& options, uint64_t seed);

  // Which replicas the gateway may route to, per model family; call once a tick.
  void SetRoutable(const Mods& mods);

  // Simulates one request on `route` starting at `start` and queues its event(s) in `out`.
  // `forced_replica` ≥ 0 sends it to that replica (extra load on one target).
  void Generate(int route, absl::Time start, bool synthetic, int forced_replica, const Mods& mods,
                std::vector<ReplicaState>& replicas, Outbox& out);

  // Mean service time (s) of a request on `family` at full speed, for the load model.
  double MeanServiceSeconds(const std::string& family) const;

 private:
  struct Request;

  void ServeFallback(Request& rq, const Mods& mods, std::vector<ReplicaState>& replicas,
                     Outbox& out);
  void ServeOnReplica(Request& rq, int replica, const Mods& mods,
                      std::vector<ReplicaState>& replicas, Outbox& out);
  void ServeExternal(Request& rq, const Mods& mods, Outbox& out);
  bool BreakerIntervenes(Request& rq, int provider, const Mods& mods,
                         std::vector<ReplicaState>& replicas, Outbox& out);
  int PickReplica(const std::string& family, int avoid_provider);
  double CallDependencies(Request& rq, const Mods& mods, candor::v1::InferenceEvent& e);
  // Queues `item` to arrive after `completed` plus the shipping delay (and, for a share of
  // items, the slow-producer delay).
  void Ship(absl::Time completed, std::unique_ptr<candor::v1::IngestItem> item, Outbox& out);
  void Outcome(Request& rq, int replica, const ReplicaMods& rm, ReplicaState& rs,
               candor::v1::InferenceEvent& e, double deps_ms);
  std::unique_ptr<candor::v1::IngestItem> NewEvent(const Request& rq,
                                                   candor::v1::InferenceEvent** e);
  void NameReplica(int replica, candor::v1::InferenceEvent& e) const;
  void NameModel(int model, int provider, candor::v1::InferenceEvent& e) const;

  const FleetLayout& layout_;
  const FleetOptions& options_;
  Rng rng_;
  uint64_t next_request_ = 1;
  std::vector<std::vector<int>> routable_;  // Per family index.
  std::vector<std::string> families_;
};

// Event timestamps in candor's streams are kept to the millisecond.
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts);

}  // namespace candor::sim

#endif  // CANDOR_SIM_REQUEST_MODEL_H_
