// The fleet analyzer: from closed windows to state transitions. For each window it feeds
// every entity's summary to that entity's detectors (entity_monitor.h), judges decode speed
// against peers (PeerRatioCusum per model version: replicas against replicas, nodes against
// nodes, providers against providers), judges canary versions against stable ones
// (Mann-Whitney with a Hodges-Lehmann shift and an effect-size gate), finds slow dependencies,
// tracks annotation facts, runs the rules (fleet_rules.h) and each entity's state machine.
//
// Pure and deterministic: the output depends only on the sequence of windows given, so a
// replay of a recorded stream yields the transitions the live daemon produced.
//
// Thread safety: not thread-safe; owned by one pipeline thread. Snapshot() copies.

#ifndef CANDOR_DETECTORS_FLEET_ANALYZER_H_
#define CANDOR_DETECTORS_FLEET_ANALYZER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/entity.h"
#include "detectors/entity_monitor.h"
#include "detectors/fleet_rules.h"
#include "detectors/fleet_signals.h"
#include "detectors/fleet_state_machine.h"
#include "detectors/fleet_types.h"
#include "detectors/peer.h"

namespace candor::detectors {

struct FleetAnalyzerOptions {
  StateMachineOptions machine;
  // Decode-speed peer charts. Default: PeerRatioCusumOptions defaults (k 0.5, h 5,
  // 10 % minimum effect, 2 peers).
  PeerRatioCusumOptions peer;
  // Fewest successful requests of a model version in a window for it to count in a peer
  // comparison. Default: 20.
  int64_t min_peer_requests = 20;
  // Canary judgement: windows pooled on each side (≥ 1), and the Mann-Whitney options.
  // Defaults: 2 windows; one-sided (slower), 98 % interval, mean-ratio gate 1.25, 30 samples.
  int canary_windows = 2;
  MannWhitneyOptions canary;

  FleetAnalyzerOptions();
};

class FleetAnalyzer {
 public:
  explicit FleetAnalyzer(FleetAnalyzerOptions options = {});
  ~FleetAnalyzer();

  FleetAnalyzer(const FleetAnalyzer&) = delete;
  FleetAnalyzer& operator=(const FleetAnalyzer&) = delete;

  // Processes the closed window [start, end) with every known entity's summary (as the signal
  // aggregator emits them, sorted by entity). Returns the transitions decided at `end`, sorted
  // by entity.
  std::vector<Transition> OnWindow(absl::Time start, absl::Time end,
                                   const std::vector<WindowSummary>& summaries);

  // Every entity's current state and conditions, sorted by entity.
  std::vector<EntityStatus> Snapshot() const;
  uint64_t windows() const { return windows_; }

 private:
  struct Runtime;

  Runtime& At(const EntityId& id);
  // The steps of OnWindow, in order.
  void FeedMonitors(const std::vector<WindowSummary>& s, std::vector<RuleInput>& inputs);
  void RecordModelWindow(Runtime& rt, const WindowSummary& w);
  std::map<std::string, DependencyEval> ComputeNeighbours(const std::vector<WindowSummary>& s,
                                                          absl::Time end,
                                                          std::vector<RuleInput>& inputs);
  std::vector<std::vector<RuleResult>> Evaluate(const std::vector<WindowSummary>& s,
                                                std::vector<RuleInput>& inputs,
                                                const std::map<std::string, DependencyEval>& deps);
  void ComputePeers(const std::vector<WindowSummary>& s, absl::Time end,
                    std::vector<PeerEval>& out);
  void ComputeCanaries(const std::vector<WindowSummary>& s, std::vector<RuleInput>& in);
  void UpdateFacts(Runtime& rt, const WindowSummary& w);
  void UpdateTenants(Runtime& rt, const WindowSummary& w, RuleInput& in);
  // Fills latency_explained (warming replicas) and the peer error/latency medians.
  void ComputeContext(const std::vector<WindowSummary>& s, std::vector<RuleInput>& in);

  FleetAnalyzerOptions options_;
  std::map<EntityId, std::unique_ptr<Runtime>> entities_;
  uint64_t windows_ = 0;
};

}  // namespace candor::detectors

#endif  // CANDOR_DETECTORS_FLEET_ANALYZER_H_
